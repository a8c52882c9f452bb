//! Margin that follows each market's own risk: regime multipliers on its weights and a
//! cap on how much of its deposits initial health may count.
//!
//! - **Regime multipliers.** Every market has a volatility estimate and a regime
//!   ([`crate::volatility`], [`crate::regime`]). Each regime selects a multiplier on the
//!   market's asset weights (at most 1.0, falling as the regime rises) and one on its
//!   liability weights (at least 1.0, rising). A new regime's multipliers are reached
//!   through [`crate::ramp`] over `ramp_secs`, from wherever the ramps stand, so no
//!   regime change makes an account liquidatable in one slot.
//! - **USD-valued limit** (marginfi's total-asset-value-init-limit). When a market's
//!   deposits are worth more than its limit, every deposit's initial asset weight is
//!   scaled by `limit / value`: the market never adds more than its limit to initial
//!   health across all accounts, whatever its price does.

use crate::fixed::{mul_div, Rounding, BPS, WAD};
use crate::health::Weights;
use crate::params::ParamError;
use crate::ramp::scale_weight;
use crate::regime::Regime;
use crate::RiskResult;

/// Smallest asset multiplier: 0.1 (a market never stops counting entirely, so the
/// regime alone cannot wipe out a collateral).
pub const MIN_ASSET_MULTIPLIER_BPS: u32 = 1_000;
/// Largest liability multiplier: 3.0.
pub const MAX_LIABILITY_MULTIPLIER_BPS: u32 = 30_000;
/// Longest ramp to a new regime's multipliers: 30 days.
pub const MAX_WEIGHT_RAMP_SECS: u32 = 30 * 86_400;
/// Shortest ramp: 10 minutes. A shorter one would let a regime change (which anyone can
/// crank) move weights within a few slots.
pub const MIN_WEIGHT_RAMP_SECS: u32 = 600;

/// Governance's per-regime multipliers of one market, Calm to Crisis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegimeMultipliers {
    pub asset_bps: [u32; 4],
    pub liability_bps: [u32; 4],
    /// Seconds over which a new regime's multipliers are reached.
    pub ramp_secs: u32,
}

impl RegimeMultipliers {
    /// The (asset, liability) multipliers `regime` heads for.
    pub fn of(&self, regime: Regime) -> (u32, u32) {
        (self.asset_bps[regime.index()], self.liability_bps[regime.index()])
    }
}

/// Asset multipliers within `[MIN_ASSET_MULTIPLIER_BPS, 1.0]` and never rising with the
/// regime; liability multipliers within `[1.0, MAX_LIABILITY_MULTIPLIER_BPS]` and never
/// falling; the ramp within its bounds.
pub fn validate_multipliers(m: &RegimeMultipliers) -> Result<(), ParamError> {
    let one = BPS as u32;
    let ok = m.asset_bps.iter().all(|a| (MIN_ASSET_MULTIPLIER_BPS..=one).contains(a))
        && m.liability_bps.iter().all(|l| (one..=MAX_LIABILITY_MULTIPLIER_BPS).contains(l))
        && m.asset_bps.windows(2).all(|w| w[1] <= w[0])
        && m.liability_bps.windows(2).all(|w| w[1] >= w[0])
        && (MIN_WEIGHT_RAMP_SECS..=MAX_WEIGHT_RAMP_SECS).contains(&m.ramp_secs);
    ok.then_some(()).ok_or(ParamError::RegimeWeights)
}

/// A liability weight scaled by a multiplier, rounded up. A multiplier below 1.0
/// counts as 1.0: the regime only ever raises a liability weight.
pub fn scale_liability_weight(weight_bps: u32, multiplier_bps: u32) -> u32 {
    let multiplier = u64::from(multiplier_bps).max(BPS as u64);
    let scaled = (u64::from(weight_bps) * multiplier).div_ceil(BPS as u64);
    u32::try_from(scaled).unwrap_or(u32::MAX)
}

/// `weights` under the multipliers in force: asset weights scaled down (rounded down),
/// liability weights scaled up (rounded up).
pub fn apply_multipliers(weights: Weights, asset_multiplier_bps: u32, liability_multiplier_bps: u32) -> Weights {
    Weights {
        init_asset_bps: scale_weight(weights.init_asset_bps, asset_multiplier_bps),
        maint_asset_bps: scale_weight(weights.maint_asset_bps, asset_multiplier_bps),
        init_liability_bps: scale_liability_weight(weights.init_liability_bps, liability_multiplier_bps),
        maint_liability_bps: scale_liability_weight(weights.maint_liability_bps, liability_multiplier_bps),
    }
}

/// The initial asset weight of a market whose deposits are worth `deposits_value` (WAD
/// quote) against a limit of `limit_usd` whole quote units (0: no limit): unchanged up
/// to the limit, scaled by `limit / value` (rounded down) beyond it, so that the market's
/// deposits never count for more than `limit * weight` in initial health.
pub fn init_asset_weight_under_limit(weight_bps: u32, deposits_value: u128, limit_usd: u64) -> RiskResult<u32> {
    if limit_usd == 0 {
        return Ok(weight_bps);
    }
    let limit = u128::from(limit_usd) * WAD;
    if deposits_value <= limit {
        return Ok(weight_bps);
    }
    // limit < deposits_value, so the result is below weight_bps and fits in u32.
    Ok(mul_div(u128::from(weight_bps), limit, deposits_value, Rounding::Down)? as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const W: Weights = Weights {
        init_asset_bps: 8_000,
        maint_asset_bps: 9_000,
        init_liability_bps: 12_000,
        maint_liability_bps: 11_000,
    };

    fn standard() -> RegimeMultipliers {
        RegimeMultipliers {
            asset_bps: [10_000, 9_500, 8_500, 7_000],
            liability_bps: [10_000, 10_000, 10_500, 11_000],
            ramp_secs: 86_400,
        }
    }

    #[test]
    fn multipliers_move_each_side_against_the_borrower() {
        let w = apply_multipliers(W, 7_000, 11_000);
        assert_eq!(
            w,
            Weights {
                init_asset_bps: 5_600,
                maint_asset_bps: 6_300,
                init_liability_bps: 13_200,
                maint_liability_bps: 12_100
            }
        );
        // Rounding: 8_001 * 0.7 = 5_600.7 down; 11_001 * 1.1 = 12_101.1 up.
        let w = apply_multipliers(Weights { init_asset_bps: 8_001, maint_liability_bps: 11_001, ..W }, 7_000, 11_000);
        assert_eq!((w.init_asset_bps, w.maint_liability_bps), (5_600, 12_102));
        // Multipliers on the wrong side of 1.0 count as 1.0.
        assert_eq!(apply_multipliers(W, 12_000, 9_000), W);
        assert_eq!(scale_liability_weight(u32::MAX, MAX_LIABILITY_MULTIPLIER_BPS), u32::MAX);
    }

    #[test]
    fn multiplier_tables_are_bounded_and_counter_cyclical() {
        assert_eq!(validate_multipliers(&standard()), Ok(()));
        let s = standard();
        let bad = [
            RegimeMultipliers { asset_bps: [10_000, 9_500, 9_600, 7_000], ..s },
            RegimeMultipliers { asset_bps: [10_001, 9_500, 8_500, 7_000], ..s },
            RegimeMultipliers { asset_bps: [10_000, 9_500, 8_500, MIN_ASSET_MULTIPLIER_BPS - 1], ..s },
            RegimeMultipliers { liability_bps: [10_000, 10_500, 10_400, 11_000], ..s },
            RegimeMultipliers { liability_bps: [9_999, 10_000, 10_500, 11_000], ..s },
            RegimeMultipliers { liability_bps: [10_000, 10_000, 10_500, MAX_LIABILITY_MULTIPLIER_BPS + 1], ..s },
            RegimeMultipliers { ramp_secs: MIN_WEIGHT_RAMP_SECS - 1, ..s },
            RegimeMultipliers { ramp_secs: MAX_WEIGHT_RAMP_SECS + 1, ..s },
        ];
        for b in bad {
            assert_eq!(validate_multipliers(&b), Err(ParamError::RegimeWeights), "{b:?}");
        }
        assert_eq!(s.of(Regime::Crisis), (7_000, 11_000));
    }

    #[test]
    fn the_init_limit_scales_the_weight_beyond_it() {
        // $2M of deposits against a $1M limit: the weight halves.
        assert_eq!(init_asset_weight_under_limit(8_000, 2_000_000 * WAD, 1_000_000), Ok(4_000));
        assert_eq!(init_asset_weight_under_limit(8_000, 1_000_000 * WAD, 1_000_000), Ok(8_000));
        assert_eq!(init_asset_weight_under_limit(8_000, u128::MAX, 0), Ok(8_000));
        // 3M: 8_000 / 3 = 2_666.67 -> 2_666.
        assert_eq!(init_asset_weight_under_limit(8_000, 3_000_000 * WAD, 1_000_000), Ok(2_666));
    }

    fn any_regime() -> impl Strategy<Value = Regime> {
        (0u8..4).prop_map(|b| Regime::from_u8(b).unwrap())
    }

    proptest! {
        #[test]
        fn weights_are_monotone_in_the_regime(a in any_regime(), b in any_regime(), ia in 0u32..=10_000, ma in 0u32..=10_000, il in 10_000u32..=50_000, ml in 10_000u32..=50_000) {
            let (calmer, stormier) = if a <= b { (a, b) } else { (b, a) };
            let m = standard();
            let w = Weights { init_asset_bps: ia.min(ma), maint_asset_bps: ma, init_liability_bps: il.max(ml), maint_liability_bps: ml };
            let (ca, cl) = m.of(calmer);
            let (sa, sl) = m.of(stormier);
            let calm = apply_multipliers(w, ca, cl);
            let storm = apply_multipliers(w, sa, sl);
            prop_assert!(storm.init_asset_bps <= calm.init_asset_bps && storm.maint_asset_bps <= calm.maint_asset_bps);
            prop_assert!(storm.init_liability_bps >= calm.init_liability_bps && storm.maint_liability_bps >= calm.maint_liability_bps);
            prop_assert!(calm.init_asset_bps <= w.init_asset_bps && calm.maint_liability_bps >= w.maint_liability_bps);
        }

        /// Whatever the regime change (any two multipliers of each side, any ramp), an
        /// account's maintenance health falls by at most what the ramp allows in one
        /// second: each side's weighted value times its multiplier's total move over
        /// `ramp_secs`, plus a bps of rounding per side.
        #[test]
        fn a_regime_change_lowers_maintenance_health_at_most_at_the_ramps_pace(
            deposit in 0u128..1_000_000_000_000_000, borrow in 0u128..1_000_000_000_000_000,
            price in 1u128..1_000_000_000_000_000_000_000,
            from_a in MIN_ASSET_MULTIPLIER_BPS..=10_000, to_a in MIN_ASSET_MULTIPLIER_BPS..=10_000,
            from_l in 10_000u32..=MAX_LIABILITY_MULTIPLIER_BPS, to_l in 10_000u32..=MAX_LIABILITY_MULTIPLIER_BPS,
            ramp_secs in MIN_WEIGHT_RAMP_SECS..=MAX_WEIGHT_RAMP_SECS, at in 0u32..=MAX_WEIGHT_RAMP_SECS,
        ) {
            use crate::health::{Health, HealthPosition};
            use crate::oracle::ValuationPrices;
            use crate::ramp::Ramp;
            let (asset, liability) = (Ramp { from_bps: from_a, to_bps: to_a, start_ts: 0 }, Ramp { from_bps: from_l, to_bps: to_l, start_ts: 0 });
            let maint = |t: i64| {
                let w = apply_multipliers(W, asset.current(t, ramp_secs), liability.current(t, ramp_secs));
                let prices = ValuationPrices { asset: price, liability: price };
                let position = HealthPosition { deposit, borrow, prices, init_prices: prices, weights: w };
                Health::of([position]).unwrap().maint().unwrap()
            };
            let t = i64::from(at);
            let drop = maint(t) - maint(t + 1);
            // Per second: the multiplier moves at most ceil(total / ramp) + 1 bps (the
            // ramp's own rounding), the weight at most that share of itself + 1 bps.
            let per_sec = |from: u32, to: u32| u128::from(from.abs_diff(to)).div_ceil(u128::from(ramp_secs)) + 1;
            let asset_value = deposit * price;
            let debt_value = borrow * price;
            let allowed = asset_value * (u128::from(W.maint_asset_bps) * per_sec(from_a, to_a) / BPS + 1) / BPS
                + debt_value * (u128::from(W.maint_liability_bps) * per_sec(from_l, to_l) / BPS + 1) / BPS
                + 2;
            prop_assert!(drop <= allowed as i128, "drop {drop} allowed {allowed}");
        }

        #[test]
        fn the_limited_weight_is_monotone_in_the_market_value(w in 0u32..=10_000, v1: u128, v2: u128, limit: u64) {
            let (lo, hi) = if v1 <= v2 { (v1, v2) } else { (v2, v1) };
            let a = init_asset_weight_under_limit(w, lo, limit).unwrap();
            let b = init_asset_weight_under_limit(w, hi, limit).unwrap();
            prop_assert!(b <= a && a <= w);
        }

        #[test]
        fn the_market_never_counts_for_more_than_its_limit(w in 0u32..=10_000, value in 0u128..u128::MAX / 20_000, limit in 1u64..1_000_000_000_000_000) {
            // Weighted value counted in initial health, against the limit's weighted value.
            let scaled = init_asset_weight_under_limit(w, value, limit).unwrap();
            let counted = value * u128::from(scaled) / BPS;
            prop_assert!(counted <= u128::from(limit) * WAD * u128::from(w) / BPS);
        }
    }
}
