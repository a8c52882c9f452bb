//! Bounds on every risk parameter governance can set for a market.
//!
//! The program checks these on-chain before a market is listed, so a typo in a
//! multisig proposal cannot list a market that is unsafe by construction.

use crate::health::Weights;
use crate::interest::RateCurve;
use crate::oracle::OracleLimits;
use crate::BPS;

/// Highest liability weight accepted (5.0).
pub const MAX_LIABILITY_WEIGHT_BPS: u32 = 50_000;
/// Highest annual borrow rate accepted (10,000% APR).
pub const MAX_RATE_BPS: u32 = 1_000_000;
/// Utilisation kink must leave room on both sides.
pub const MIN_OPTIMAL_UTILIZATION_BPS: u32 = 100;
pub const MAX_OPTIMAL_UTILIZATION_BPS: u32 = 9_900;
/// Largest share of interest the protocol may take.
pub const MAX_PROTOCOL_FEE_BPS: u32 = 5_000;
/// Oldest price any action may ever accept: one day.
pub const MAX_ORACLE_AGE_SECS: u32 = 86_400;
/// Widest conf/price any action may ever accept: 50%.
pub const MAX_CONF_BPS: u32 = 5_000;
/// Furthest price-to-EMA distance a risk-increasing action may accept: 50%.
pub const MAX_EMA_DEVIATION_BPS: u32 = 5_000;
/// At most five confidence intervals of haircut.
pub const MAX_CONF_MULTIPLIER_BPS: u32 = 50_000;

/// Largest liquidation bonus: 20%.
pub const MAX_LIQUIDATION_BONUS_BPS: u32 = 2_000;
/// Largest insurance fee on liquidations: 10%.
pub const MAX_INSURANCE_FEE_BPS: u32 = 1_000;

/// Which group of parameters is out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    Weights,
    RateCurve,
    ProtocolFee,
    OracleLimits,
    Caps,
    Liquidation,
    /// [`crate::volatility::VolatilityParams`].
    Volatility,
    /// [`crate::regime::RegimeThresholds`].
    RegimeThresholds,
    /// The [`crate::regime::RegimeSettings`] table.
    RegimeSettings,
    /// [`crate::price_guard::PriceGuardParams`].
    PriceGuard,
    /// [`crate::outflow::OutflowParams`].
    Outflow,
    /// [`crate::guardian::GuardianParams`].
    Guardian,
    /// [`crate::governance::TimelockParams`].
    Timelock,
    /// [`crate::dynamic_margin::RegimeMultipliers`].
    RegimeWeights,
    /// [`crate::stable_price::StablePriceParams`].
    StablePrice,
    /// [`crate::borrow_limit::BorrowLimitParams`].
    BorrowLimit,
}

/// Init weights are stricter than maint weights, and both sit on the right side of 1:
/// `0 <= init_asset <= maint_asset <= 1 <= maint_liability <= init_liability <= 5`.
pub fn validate_weights(w: &Weights) -> Result<(), ParamError> {
    let one = BPS as u32;
    let ordered = w.init_asset_bps <= w.maint_asset_bps
        && w.maint_asset_bps <= one
        && one <= w.maint_liability_bps
        && w.maint_liability_bps <= w.init_liability_bps
        && w.init_liability_bps <= MAX_LIABILITY_WEIGHT_BPS;
    ordered.then_some(()).ok_or(ParamError::Weights)
}

/// The kink sits strictly inside (0, 1) and rates never fall as utilisation rises.
pub fn validate_rate_curve(c: &RateCurve) -> Result<(), ParamError> {
    let ok = (MIN_OPTIMAL_UTILIZATION_BPS..=MAX_OPTIMAL_UTILIZATION_BPS).contains(&c.optimal_utilization_bps)
        && c.base_rate_bps <= c.optimal_rate_bps
        && c.optimal_rate_bps <= c.max_rate_bps
        && c.max_rate_bps <= MAX_RATE_BPS;
    ok.then_some(()).ok_or(ParamError::RateCurve)
}

pub fn validate_protocol_fee(fee_bps: u32) -> Result<(), ParamError> {
    (fee_bps <= MAX_PROTOCOL_FEE_BPS).then_some(()).ok_or(ParamError::ProtocolFee)
}

/// Liquidation limits are at least as loose as the opening limits, and all are finite.
pub fn validate_oracle_limits(l: &OracleLimits) -> Result<(), ParamError> {
    let ok = l.max_age_secs >= 1
        && l.max_age_secs <= l.liquidation_max_age_secs
        && l.liquidation_max_age_secs <= MAX_ORACLE_AGE_SECS
        && l.max_conf_bps >= 1
        && l.max_conf_bps <= l.liquidation_max_conf_bps
        && l.liquidation_max_conf_bps <= MAX_CONF_BPS
        && (1..=MAX_EMA_DEVIATION_BPS).contains(&l.max_ema_deviation_bps)
        && l.conf_multiplier_bps <= MAX_CONF_MULTIPLIER_BPS;
    ok.then_some(()).ok_or(ParamError::OracleLimits)
}

/// A market must accept some deposits and cannot lend more than it may hold.
pub fn validate_caps(deposit_cap: u64, borrow_cap: u64) -> Result<(), ParamError> {
    (deposit_cap > 0 && borrow_cap <= deposit_cap).then_some(()).ok_or(ParamError::Caps)
}

/// Bonus and fee within bounds, and small enough that seizing this collateral (worth
/// `1 + bonus + fee` per unit repaid, at its init weight) costs less health than the
/// repayment of any debt (liability weight >= 1) gives back.
pub fn validate_liquidation(
    bonus_bps: u32,
    insurance_fee_bps: u32,
    init_asset_weight_bps: u32,
) -> Result<(), ParamError> {
    let one = BPS as u64;
    let ok = bonus_bps <= MAX_LIQUIDATION_BONUS_BPS
        && insurance_fee_bps <= MAX_INSURANCE_FEE_BPS
        && (one + u64::from(bonus_bps) + u64::from(insurance_fee_bps)) * u64::from(init_asset_weight_bps) < one * one;
    ok.then_some(()).ok_or(ParamError::Liquidation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights() -> Weights {
        Weights {
            init_asset_bps: 8_000,
            maint_asset_bps: 9_000,
            init_liability_bps: 12_000,
            maint_liability_bps: 11_000,
        }
    }

    fn limits() -> OracleLimits {
        OracleLimits {
            max_age_secs: 60,
            liquidation_max_age_secs: 600,
            max_conf_bps: 200,
            liquidation_max_conf_bps: 1_000,
            max_ema_deviation_bps: 1_000,
            conf_multiplier_bps: 10_000,
        }
    }

    #[test]
    fn sane_parameters_pass() {
        assert_eq!(validate_weights(&weights()), Ok(()));
        assert_eq!(validate_oracle_limits(&limits()), Ok(()));
        assert_eq!(
            validate_rate_curve(&RateCurve {
                optimal_utilization_bps: 8_000,
                base_rate_bps: 0,
                optimal_rate_bps: 1_000,
                max_rate_bps: 10_000
            }),
            Ok(())
        );
        assert_eq!(validate_caps(1_000, 1_000), Ok(()));
        assert_eq!(validate_protocol_fee(MAX_PROTOCOL_FEE_BPS), Ok(()));
    }

    #[test]
    fn maint_weight_must_sit_between_init_and_one() {
        let bad = [
            Weights { maint_asset_bps: 7_000, ..weights() }, // maint asset below init
            Weights { maint_asset_bps: 10_001, ..weights() }, // asset weight above 1
            Weights { maint_liability_bps: 13_000, ..weights() }, // maint liability above init
            Weights { maint_liability_bps: 9_999, ..weights() }, // liability weight below 1
            Weights { init_liability_bps: 50_001, ..weights() },
        ];
        for w in bad {
            assert_eq!(validate_weights(&w), Err(ParamError::Weights), "{w:?}");
        }
    }

    #[test]
    fn out_of_bounds_groups_are_named() {
        let curve =
            RateCurve { optimal_utilization_bps: 10_000, base_rate_bps: 0, optimal_rate_bps: 1, max_rate_bps: 2 };
        assert_eq!(validate_rate_curve(&curve), Err(ParamError::RateCurve));
        let curve =
            RateCurve { optimal_utilization_bps: 8_000, base_rate_bps: 5, optimal_rate_bps: 1, max_rate_bps: 2 };
        assert_eq!(validate_rate_curve(&curve), Err(ParamError::RateCurve));
        assert_eq!(validate_protocol_fee(5_001), Err(ParamError::ProtocolFee));
        assert_eq!(
            validate_oracle_limits(&OracleLimits { liquidation_max_age_secs: 59, ..limits() }),
            Err(ParamError::OracleLimits)
        );
        assert_eq!(
            validate_oracle_limits(&OracleLimits { max_age_secs: 0, ..limits() }),
            Err(ParamError::OracleLimits)
        );
        assert_eq!(
            validate_oracle_limits(&OracleLimits { liquidation_max_conf_bps: 100, ..limits() }),
            Err(ParamError::OracleLimits)
        );
        assert_eq!(validate_caps(0, 0), Err(ParamError::Caps));
        assert_eq!(validate_caps(10, 11), Err(ParamError::Caps));
        assert_eq!(validate_liquidation(500, 100, 8_000), Ok(()));
        assert_eq!(validate_liquidation(2_001, 0, 8_000), Err(ParamError::Liquidation));
        assert_eq!(validate_liquidation(0, 1_001, 8_000), Err(ParamError::Liquidation));
        // A 5% bonus on collateral weighted 0.96 would make liquidation lower health.
        assert_eq!(validate_liquidation(500, 0, 9_600), Err(ParamError::Liquidation));
    }
}
