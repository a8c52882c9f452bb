//! Market regimes, driven by a volatility estimate: the native token's (its settings
//! below) and every market's own (its weight multipliers, [`crate::dynamic_margin`]).
//!
//! The regime moves on two signals from [`crate::volatility`]: annualised volatility
//! and drawdown below the EMA price. It escalates at once (a crash must not wait for a
//! timer) straight to the highest level either signal reaches, and de-escalates one
//! level at a time, only after a minimum dwell in the current regime and only once both
//! signals are below that level's exit threshold. Exit thresholds sit below enter
//! thresholds (hysteresis), so a signal hovering around one threshold cannot flap it.
//!
//! The native token's regime selects a row of [`RegimeSettings`]: emissions are cut as
//! stress rises, while the buyback budget and the auction's premium cap grow
//! (counter-cyclical) and the early-exit penalty rises. A market's regime selects its
//! weight multipliers ([`crate::dynamic_margin::RegimeMultipliers`]).

use crate::fixed::{apply_bps, Rounding, BPS};
use crate::params::ParamError;
use crate::volatility::{sample, VolatilityParams, VolatilityState};
use crate::{RiskError, RiskResult};

/// The four regimes, from quietest to most stressed. Stored as a `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Regime {
    Calm = 0,
    Elevated = 1,
    Stressed = 2,
    Crisis = 3,
}

impl Regime {
    /// All regimes in escalating order; `ALL[r.index()] == r`.
    pub const ALL: [Regime; 4] = [Regime::Calm, Regime::Elevated, Regime::Stressed, Regime::Crisis];

    /// Reads a stored byte, refusing anything but 0..=3.
    pub fn from_u8(byte: u8) -> RiskResult<Regime> {
        Regime::ALL.get(usize::from(byte)).copied().ok_or(RiskError::InvalidRegime)
    }

    /// Position in [`Regime::ALL`] (and in a settings table).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Largest volatility threshold accepted: 1000% a year.
pub const MAX_VOL_THRESHOLD_BPS: u32 = 100_000;
/// Longest dwell accepted before de-escalating: 7 days.
pub const MAX_DWELL_SECS: u32 = 7 * 86_400;

/// When the regime moves. Index `i` of each array belongs to the regime `ALL[i + 1]`
/// (Elevated, Stressed, Crisis): a level is entered when volatility OR drawdown reaches
/// its enter threshold, and left (one level down) when both are below its exit threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegimeThresholds {
    pub enter_vol_bps: [u32; 3],
    pub exit_vol_bps: [u32; 3],
    pub enter_drawdown_bps: [u32; 3],
    pub exit_drawdown_bps: [u32; 3],
    /// Seconds the regime must hold before it may step down.
    pub min_dwell_secs: u32,
}

/// Levels strictly increasing, `1 <= exit < enter` at every level (hysteresis, and a
/// way back down), volatility within [`MAX_VOL_THRESHOLD_BPS`], drawdown within 100%.
pub fn validate_thresholds(t: &RegimeThresholds) -> Result<(), ParamError> {
    let ladder = |enter: &[u32; 3], exit: &[u32; 3], max: u32| {
        enter.windows(2).all(|w| w[0] < w[1])
            && exit.windows(2).all(|w| w[0] < w[1])
            && exit.iter().zip(enter).all(|(&x, &n)| 1 <= x && x < n)
            && enter[2] <= max
    };
    let ok = ladder(&t.enter_vol_bps, &t.exit_vol_bps, MAX_VOL_THRESHOLD_BPS)
        && ladder(&t.enter_drawdown_bps, &t.exit_drawdown_bps, BPS as u32)
        && t.min_dwell_secs <= MAX_DWELL_SECS;
    ok.then_some(()).ok_or(ParamError::RegimeThresholds)
}

/// The regime after observing `vol_bps` and `drawdown_bps` at `now`, for a market that
/// entered `current` at `entered_at`. The caller resets `entered_at` whenever the
/// result differs from `current`.
pub fn next_regime(
    current: Regime,
    entered_at: i64,
    now: i64,
    vol_bps: u32,
    drawdown_bps: u32,
    t: &RegimeThresholds,
) -> Regime {
    // Highest level whose enter threshold either signal reaches.
    let entered = (0..3)
        .rev()
        .find(|&i| vol_bps >= t.enter_vol_bps[i] || drawdown_bps >= t.enter_drawdown_bps[i])
        .map_or(Regime::Calm, |i| Regime::ALL[i + 1]);
    if entered > current {
        return entered;
    }
    let level = current.index();
    if level == 0 {
        return current;
    }
    let dwelt = i128::from(now) - i128::from(entered_at) >= i128::from(t.min_dwell_secs);
    let calm_enough = vol_bps < t.exit_vol_bps[level - 1] && drawdown_bps < t.exit_drawdown_bps[level - 1];
    if dwelt && calm_enough {
        Regime::ALL[level - 1]
    } else {
        current
    }
}

/// A regime and when it was entered, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegimeState {
    pub regime: Regime,
    pub entered_at: i64,
}

impl RegimeState {
    /// [`next_regime`] with the bookkeeping: `entered_at` moves to `now` on a change.
    pub fn advance(self, now: i64, vol_bps: u32, drawdown_bps: u32, t: &RegimeThresholds) -> RegimeState {
        let regime = next_regime(self.regime, self.entered_at, now, vol_bps, drawdown_bps, t);
        if regime == self.regime {
            self
        } else {
            RegimeState { regime, entered_at: now }
        }
    }
}

/// One price sample of a tracked asset (the native token or a market): the volatility
/// estimate takes it ([`sample`]) and the regime moves on the new estimate. The one
/// step `update_volatility`, `refresh_market`, the keeper and the simulation share.
pub fn track(
    vol: &VolatilityState,
    regime: RegimeState,
    price_wad: u128,
    now: i64,
    params: &VolatilityParams,
    thresholds: &RegimeThresholds,
) -> RiskResult<(VolatilityState, RegimeState)> {
    let vol = sample(vol, price_wad, now, params)?;
    let regime = regime.advance(now, vol.annual_vol_bps, vol.drawdown_bps, thresholds);
    Ok((vol, regime))
}

/// What one regime sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegimeSettings {
    /// Native tokens minted to stakers per second, in base units.
    pub emission_rate_per_sec: u64,
    /// Share of the buyback pool that may be sold per epoch, in bps.
    pub buyback_budget_bps: u32,
    /// Highest premium over the oracle price the buyback auction may pay, in bps.
    pub premium_cap_bps: u32,
    /// Penalty on unstaking early, in bps of the amount.
    pub exit_penalty_bps: u32,
}

/// Largest emission accepted: 1e12 base units a second (1,000 tokens of 9 decimals),
/// a typo guard rather than a policy.
pub const MAX_EMISSION_RATE_PER_SEC: u64 = 1_000_000_000_000;
/// Largest share of the buyback pool sold in one epoch: 20%.
pub const MAX_BUYBACK_BUDGET_BPS: u32 = 2_000;
/// The auction's and the staking pool's own bounds apply in every regime.
pub use crate::auction::MAX_PREMIUM_CAP_BPS;
pub use crate::staking::MAX_EXIT_PENALTY_BPS;
/// Every row within bounds, and the table moves the right way as the regime rises:
/// emission never rises, budget, premium cap and penalty never fall.
pub fn validate_settings(table: &[RegimeSettings; 4]) -> Result<(), ParamError> {
    let in_bounds = table.iter().all(|s| {
        s.emission_rate_per_sec <= MAX_EMISSION_RATE_PER_SEC
            && s.buyback_budget_bps <= MAX_BUYBACK_BUDGET_BPS
            && s.premium_cap_bps <= MAX_PREMIUM_CAP_BPS
            && s.exit_penalty_bps <= MAX_EXIT_PENALTY_BPS
    });
    let monotone = table.windows(2).all(|w| {
        let (calmer, stormier) = (&w[0], &w[1]);
        stormier.emission_rate_per_sec <= calmer.emission_rate_per_sec
            && stormier.buyback_budget_bps >= calmer.buyback_budget_bps
            && stormier.premium_cap_bps >= calmer.premium_cap_bps
            && stormier.exit_penalty_bps >= calmer.exit_penalty_bps
    });
    (in_bounds && monotone).then_some(()).ok_or(ParamError::RegimeSettings)
}

impl RegimeSettings {
    /// Base units to mint to stakers for `elapsed_secs` of emission (exact).
    pub fn emission(&self, elapsed_secs: u64) -> RiskResult<u64> {
        self.emission_rate_per_sec.checked_mul(elapsed_secs).ok_or(RiskError::MathOverflow)
    }

    /// Base units of a `pool` that may be sold this epoch (rounded down).
    pub fn buyback_budget(&self, pool: u64) -> RiskResult<u64> {
        bps_of_u64(pool, self.buyback_budget_bps, Rounding::Down)
    }
}

/// `amount * bps / BPS` for a `u64` token amount.
fn bps_of_u64(amount: u64, bps: u32, rounding: Rounding) -> RiskResult<u64> {
    let v = apply_bps(u128::from(amount), u128::from(bps), rounding)?;
    u64::try_from(v).map_err(|_| RiskError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Regime::*;

    const T0: i64 = 1_750_000_000;

    fn thresholds() -> RegimeThresholds {
        RegimeThresholds {
            enter_vol_bps: [6_000, 9_000, 15_000],
            exit_vol_bps: [5_000, 7_500, 12_000],
            enter_drawdown_bps: [1_000, 2_000, 3_500],
            exit_drawdown_bps: [500, 1_500, 2_500],
            min_dwell_secs: 3_600,
        }
    }

    fn settings() -> [RegimeSettings; 4] {
        let row = |emission, budget, premium, penalty| RegimeSettings {
            emission_rate_per_sec: emission,
            buyback_budget_bps: budget,
            premium_cap_bps: premium,
            exit_penalty_bps: penalty,
        };
        [
            row(1_000_000, 100, 200, 500),
            row(600_000, 200, 400, 1_000),
            row(200_000, 400, 800, 2_000),
            row(0, 800, 1_500, 3_000),
        ]
    }

    /// (exit threshold of `r`, enter threshold of the level above) per signal: the band
    /// in which `r` must hold. Calm exits at 0; Crisis has nothing above it.
    fn hold_band(r: Regime, t: &RegimeThresholds) -> ((u32, u32), (u32, u32)) {
        let i = r.index();
        let exit = |a: &[u32; 3]| if i == 0 { 0 } else { a[i - 1] };
        let enter_above = |a: &[u32; 3]| if i == 3 { u32::MAX } else { a[i] };
        ((exit(&t.exit_vol_bps), enter_above(&t.enter_vol_bps)), (0, enter_above(&t.enter_drawdown_bps)))
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        for r in Regime::ALL {
            assert_eq!(Regime::from_u8(r as u8), Ok(r));
        }
        assert_eq!(Regime::from_u8(4), Err(RiskError::InvalidRegime));
        assert_eq!(Regime::from_u8(255), Err(RiskError::InvalidRegime));
    }

    #[test]
    fn escalation_jumps_straight_to_the_level_reached() {
        let t = thresholds();
        assert_eq!(next_regime(Calm, T0, T0, 5_999, 999, &t), Calm);
        assert_eq!(next_regime(Calm, T0, T0, 6_000, 0, &t), Elevated);
        assert_eq!(next_regime(Calm, T0, T0, 0, 2_000, &t), Stressed);
        // A crash: drawdown alone reaches Crisis at once, dwell or not.
        assert_eq!(next_regime(Calm, T0, T0, 0, 3_500, &t), Crisis);
        assert_eq!(next_regime(Elevated, T0, T0 + 1, 15_000, 0, &t), Crisis);
    }

    #[test]
    fn de_escalation_waits_for_dwell_and_steps_one_level() {
        let t = thresholds();
        // Both signals back to zero: still Crisis inside the dwell.
        assert_eq!(next_regime(Crisis, T0, T0 + 3_599, 0, 0, &t), Crisis);
        assert_eq!(next_regime(Crisis, T0, T0 + 3_600, 0, 0, &t), Stressed);
        // Volatility below Crisis's exit but drawdown not: stays.
        assert_eq!(next_regime(Crisis, T0, T0 + 3_600, 0, 2_500, &t), Crisis);
        // Below exit vol but above the Stressed enter vol: steps down to Stressed, which holds.
        assert_eq!(next_regime(Crisis, T0, T0 + 3_600, 11_999, 0, &t), Stressed);
        assert_eq!(next_regime(Stressed, T0, T0 + 3_600, 7_500, 0, &t), Stressed);
        assert_eq!(next_regime(Elevated, T0, T0 + 3_600, 4_999, 499, &t), Calm);
    }

    #[test]
    fn state_resets_its_clock_only_on_a_change() {
        let t = thresholds();
        let s = RegimeState { regime: Calm, entered_at: T0 };
        assert_eq!(s.advance(T0 + 10, 0, 0, &t), s);
        let s = s.advance(T0 + 20, 9_000, 0, &t);
        assert_eq!(s, RegimeState { regime: Stressed, entered_at: T0 + 20 });
        assert_eq!(s.advance(T0 + 3_619, 0, 0, &t).regime, Stressed);
        assert_eq!(s.advance(T0 + 3_620, 0, 0, &t), RegimeState { regime: Elevated, entered_at: T0 + 3_620 });
    }

    #[test]
    fn thresholds_need_hysteresis_and_order() {
        assert_eq!(validate_thresholds(&thresholds()), Ok(()));
        let t = thresholds();
        let bad = [
            RegimeThresholds { exit_vol_bps: [6_000, 7_500, 12_000], ..t }, // exit == enter
            RegimeThresholds { enter_vol_bps: [6_000, 6_000, 15_000], ..t }, // not increasing
            RegimeThresholds { exit_drawdown_bps: [0, 1_500, 2_500], ..t }, // no way back
            RegimeThresholds { exit_drawdown_bps: [500, 400, 2_500], ..t }, // exits not increasing
            RegimeThresholds { enter_drawdown_bps: [1_000, 2_000, 10_001], ..t },
            RegimeThresholds { enter_vol_bps: [6_000, 9_000, MAX_VOL_THRESHOLD_BPS + 1], ..t },
            RegimeThresholds { min_dwell_secs: MAX_DWELL_SECS + 1, ..t },
        ];
        for b in bad {
            assert_eq!(validate_thresholds(&b), Err(ParamError::RegimeThresholds), "{b:?}");
        }
    }

    #[test]
    fn settings_table_must_be_counter_cyclical_and_bounded() {
        assert_eq!(validate_settings(&settings()), Ok(()));
        let mutate = |i: usize, f: fn(&mut RegimeSettings)| {
            let mut t = settings();
            f(&mut t[i]);
            validate_settings(&t)
        };
        let bad = [
            mutate(3, |s| s.emission_rate_per_sec = 300_000), // emission rises in Crisis
            mutate(1, |s| s.buyback_budget_bps = 50),         // budget falls
            mutate(2, |s| s.premium_cap_bps = 300),           // premium cap falls
            mutate(3, |s| s.exit_penalty_bps = 1_500),        // penalty falls
            mutate(3, |s| s.premium_cap_bps = MAX_PREMIUM_CAP_BPS + 1),
            mutate(3, |s| s.exit_penalty_bps = MAX_EXIT_PENALTY_BPS + 1),
            mutate(3, |s| s.buyback_budget_bps = MAX_BUYBACK_BUDGET_BPS + 1),
            mutate(0, |s| s.emission_rate_per_sec = MAX_EMISSION_RATE_PER_SEC + 1),
        ];
        for b in bad {
            assert_eq!(b, Err(ParamError::RegimeSettings));
        }
    }

    #[test]
    fn settings_amounts_round_against_the_user() {
        let s = settings()[2];
        assert_eq!(s.emission(10), Ok(2_000_000));
        assert_eq!(s.buyback_budget(9_999), Ok(399)); // 399.96 down
        assert_eq!(RegimeSettings { emission_rate_per_sec: u64::MAX, ..s }.emission(2), Err(RiskError::MathOverflow));
    }

    fn any_regime() -> impl Strategy<Value = Regime> {
        (0u8..4).prop_map(|b| Regime::from_u8(b).unwrap())
    }

    proptest! {
        #[test]
        fn noise_between_exit_and_enter_never_flaps(
            r in any_regime(),
            noise in prop::collection::vec((any::<u32>(), any::<u32>(), 0i64..100_000), 1..50),
        ) {
            let t = thresholds();
            let ((vol_lo, vol_hi), (dd_lo, dd_hi)) = hold_band(r, &t);
            let mut s = RegimeState { regime: r, entered_at: T0 };
            let mut now = T0;
            for (v, d, step) in noise {
                now += step;
                let vol = vol_lo + v % (vol_hi - vol_lo);
                let dd = dd_lo + d % (dd_hi - dd_lo);
                s = s.advance(now, vol, dd, &t);
                prop_assert_eq!(s.regime, r);
            }
        }

        #[test]
        fn never_steps_down_inside_the_dwell(r in any_regime(), vol: u32, dd: u32, age in 0i64..3_600) {
            prop_assert!(next_regime(r, T0, T0 + age, vol, dd, &thresholds()) >= r);
        }

        #[test]
        fn escalation_is_immediate(r in any_regime(), level in 0usize..3, extra in 0u32..100_000, by_vol: bool) {
            let t = thresholds();
            let (vol, dd) = if by_vol { (t.enter_vol_bps[level] + extra, 0) } else { (0, t.enter_drawdown_bps[level] + extra) };
            // Entered this very second: no dwell has passed.
            let next = next_regime(r, T0, T0, vol, dd, &t);
            prop_assert!(next >= Regime::ALL[level + 1]);
            prop_assert!(next >= r);
        }

        #[test]
        fn steps_down_at_most_one_level(r in any_regime(), vol: u32, dd: u32, age: u32) {
            let next = next_regime(r, T0, T0 + i64::from(age), vol, dd, &thresholds());
            prop_assert!(next.index() + 1 >= r.index());
        }
    }
}
