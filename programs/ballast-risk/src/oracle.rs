//! Oracle validity per action and conservative valuation prices.
//!
//! A price is judged against the action it is used for: a borrow or withdrawal
//! (risk-increasing) demands a fresh, tight price close to its EMA; a liquidation
//! accepts an older or wider price, because refusing to liquidate on a slightly stale
//! feed is more dangerous than liquidating on it; a volatility sample needs a fresh,
//! tight price but may be far from its (lagging) EMA, or a crash would go unseen.
//! Missing or absurd prices are refused for every action.
//!
//! In a liquidation's health check a feed that is unusable even by the liquidation
//! limits does not stop the check ([`liquidation_prices`]): its deposits count as worth
//! nothing, so a dead side feed never shields a borrower.

use crate::fixed::{apply_bps, mul_div, pow10, Rounding, BPS};
use crate::{RiskError, RiskResult};

/// One reading of a price feed, in the feed's own units (`mantissa * 10^expo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleReading {
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub expo: i32,
    pub publish_time: i64,
}

/// Governance limits on a market's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleLimits {
    /// Oldest price accepted for risk-increasing actions, in seconds.
    pub max_age_secs: u32,
    /// Oldest price accepted for liquidations (at least `max_age_secs`).
    pub liquidation_max_age_secs: u32,
    /// Widest confidence accepted for risk-increasing actions, as conf/price in bps.
    pub max_conf_bps: u32,
    /// Widest confidence accepted for liquidations, as conf/price in bps.
    pub liquidation_max_conf_bps: u32,
    /// Largest distance between price and EMA for risk-increasing actions, in bps of EMA.
    pub max_ema_deviation_bps: u32,
    /// How many confidence intervals are taken off assets and added to liabilities, in bps.
    pub conf_multiplier_bps: u32,
}

/// What the price will be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OracleAction {
    /// Borrow, withdraw: the price must be fresh, tight and close to its EMA.
    RiskIncreasing,
    /// Liquidation: older and wider prices pass; missing or absurd ones do not.
    Liquidation,
    /// A volatility sample: fresh and tight as for risk-increasing actions, but any
    /// distance from the EMA (a crash is exactly what the sample must see).
    VolatilitySample,
}

/// Exponents the engine accepts from a feed: every real Pyth feed is within them.
pub const MIN_EXPO: i32 = -18;
pub const MAX_EXPO: i32 = 6;
/// Largest token decimals the engine accepts.
pub const MAX_DECIMALS: u8 = 18;

/// Conservative prices of one token, in WAD of quote value per token base unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValuationPrices {
    /// min(price - k*conf, ema), rounded down: what one unit of collateral is worth.
    pub asset: u128,
    /// max(price + k*conf, ema), rounded up: what one unit of debt costs.
    pub liability: u128,
}

/// Checks that `reading` may be used for `action` at time `now`.
pub fn validate(reading: &OracleReading, limits: &OracleLimits, action: OracleAction, now: i64) -> RiskResult<()> {
    if reading.price <= 0 || reading.ema_price <= 0 {
        return Err(RiskError::OracleNonPositive);
    }
    if !(MIN_EXPO..=MAX_EXPO).contains(&reading.expo) {
        return Err(RiskError::OracleExponentOutOfRange);
    }
    let (max_age, max_conf_bps) = match action {
        OracleAction::RiskIncreasing | OracleAction::VolatilitySample => (limits.max_age_secs, limits.max_conf_bps),
        OracleAction::Liquidation => (limits.liquidation_max_age_secs, limits.liquidation_max_conf_bps),
    };
    // A publish time slightly ahead of the validator clock counts as age zero.
    let age = now.saturating_sub(reading.publish_time).max(0);
    if age > i64::from(max_age) {
        return Err(RiskError::OracleStale);
    }
    let price = reading.price as u128;
    // conf / price > max_conf_bps / BPS  <=>  conf * BPS > max_conf_bps * price
    let conf_scaled = (reading.conf as u128).checked_mul(BPS).ok_or(RiskError::MathOverflow)?;
    if conf_scaled > u128::from(max_conf_bps) * price {
        return Err(RiskError::OracleTooUncertain);
    }
    if action == OracleAction::RiskIncreasing {
        let ema = reading.ema_price as u128;
        let deviation = price.abs_diff(ema) * BPS;
        if deviation > u128::from(limits.max_ema_deviation_bps) * ema {
            return Err(RiskError::OracleTooVolatile);
        }
    }
    Ok(())
}

/// Conservative asset and liability prices for a token with `decimals` decimals.
/// Call [`validate`] first: this only converts.
pub fn valuation_prices(reading: &OracleReading, limits: &OracleLimits, decimals: u8) -> RiskResult<ValuationPrices> {
    if reading.price <= 0 || reading.ema_price <= 0 {
        return Err(RiskError::OracleNonPositive);
    }
    let price = reading.price as u128;
    let ema = reading.ema_price as u128;
    let band = apply_bps(reading.conf as u128, limits.conf_multiplier_bps as u128, Rounding::Up)?;
    let asset = price.saturating_sub(band).min(ema);
    let liability = price.checked_add(band).ok_or(RiskError::MathOverflow)?.max(ema);
    Ok(ValuationPrices {
        asset: mantissa_to_wad_per_unit(asset, reading.expo, decimals, Rounding::Down)?,
        liability: mantissa_to_wad_per_unit(liability, reading.expo, decimals, Rounding::Up)?,
    })
}

/// One market's prices in a liquidation's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationPrices {
    pub prices: ValuationPrices,
    /// Why the feed is unusable for a liquidation, if it is: its market may then be
    /// neither repaid nor seized.
    pub unusable: Option<RiskError>,
}

/// Prices for a liquidation's health check. A feed valid for liquidation is valued as
/// usual. One that is not (stale, too uncertain, non-positive, odd exponent) values
/// deposits at zero, so that holding a little of an asset whose feed died cannot make
/// an account unliquidatable, and debts at the conservative liability price of its last
/// reading (a debt does not vanish because its feed stopped; zero only when even that
/// reading cannot be converted).
pub fn liquidation_prices(
    reading: &OracleReading,
    limits: &OracleLimits,
    decimals: u8,
    now: i64,
) -> RiskResult<LiquidationPrices> {
    match validate(reading, limits, OracleAction::Liquidation, now) {
        Ok(()) => Ok(LiquidationPrices { prices: valuation_prices(reading, limits, decimals)?, unusable: None }),
        Err(reason) => {
            let liability = valuation_prices(reading, limits, decimals).map_or(0, |p| p.liability);
            Ok(LiquidationPrices { prices: ValuationPrices { asset: 0, liability }, unusable: Some(reason) })
        }
    }
}

/// The feed's price per base unit in WAD, rounded as asked: the exchange rate used
/// when tokens change hands at the oracle price (liquidations).
pub fn mid_price(reading: &OracleReading, decimals: u8, rounding: Rounding) -> RiskResult<u128> {
    if reading.price <= 0 {
        return Err(RiskError::OracleNonPositive);
    }
    mantissa_to_wad_per_unit(reading.price as u128, reading.expo, decimals, rounding)
}

/// `mantissa * 10^expo` quote per whole token, as WAD quote per token base unit
/// (`10^-decimals` of a token).
pub fn mantissa_to_wad_per_unit(mantissa: u128, expo: i32, decimals: u8, rounding: Rounding) -> RiskResult<u128> {
    if !(MIN_EXPO..=MAX_EXPO).contains(&expo) || decimals > MAX_DECIMALS {
        return Err(RiskError::OracleExponentOutOfRange);
    }
    // WAD = 10^18, so the scale is 10^(18 + expo - decimals).
    let shift = 18 + expo - i32::from(decimals);
    if shift >= 0 {
        mantissa.checked_mul(pow10(shift as u32)?).ok_or(RiskError::MathOverflow)
    } else {
        mul_div(mantissa, 1, pow10(shift.unsigned_abs())?, rounding)
    }
}

/// Least price of one base unit (WAD quote) a listing may start at. Prices are WAD per
/// base unit, so a token whose base unit is worth less than 10^-18 quote is worth zero
/// (an 18-decimal token under $1); at a million WAD units the price carries six
/// significant digits, and keeps three after a thousandfold fall.
pub const MIN_LISTING_UNIT_PRICE_WAD: u128 = 1_000_000;

/// Fails with [`RiskError::UnitPriceTooSmall`] unless a token of `decimals` priced by
/// `reading` is fine enough for the price scale (checked when a feed is listed or
/// replaced).
pub fn check_unit_price_scale(reading: &OracleReading, decimals: u8) -> RiskResult<()> {
    let price = mid_price(reading, decimals, Rounding::Down)?;
    (price >= MIN_LISTING_UNIT_PRICE_WAD).then_some(()).ok_or(RiskError::UnitPriceTooSmall)
}

/// Quote value (WAD) of `amount` base units at `price_wad` per unit: exact, so there
/// is nothing to round.
pub fn value_of(amount: u128, price_wad: u128) -> RiskResult<u128> {
    amount.checked_mul(price_wad).ok_or(RiskError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WAD;
    use proptest::prelude::*;

    const NOW: i64 = 1_750_000_000;

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

    fn reading(price: i64, conf: u64, ema: i64, age: i64) -> OracleReading {
        OracleReading { price, conf, ema_price: ema, expo: -8, publish_time: NOW - age }
    }

    #[test]
    fn an_eighteen_decimal_token_under_a_dollar_is_refused_for_the_price_scale() {
        let at = |price: i64, expo: i32| OracleReading { price, expo, ..reading(1, 0, 1, 0) };
        // $0.50 with 18 decimals: 5e-19 quote per base unit, below one WAD unit.
        assert_eq!(mid_price(&at(50, -2), 18, Rounding::Down), Ok(0));
        assert_eq!(check_unit_price_scale(&at(50, -2), 18), Err(RiskError::UnitPriceTooSmall));
        // $3,000 with 18 decimals: 3,000 WAD units, still too coarse.
        assert_eq!(check_unit_price_scale(&at(3_000, 0), 18), Err(RiskError::UnitPriceTooSmall));
        // $0.50 with 9 decimals: 5e8 WAD units; $1 with 12 decimals: 1e6, just enough.
        assert_eq!(check_unit_price_scale(&at(50, -2), 9), Ok(()));
        assert_eq!(check_unit_price_scale(&at(1, 0), 12), Ok(()));
    }

    #[test]
    fn fresh_tight_price_passes_every_action() {
        let r = reading(100_0000_0000, 1_000_000, 100_0000_0000, 5);
        assert_eq!(validate(&r, &limits(), OracleAction::RiskIncreasing, NOW), Ok(()));
        assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Ok(()));
    }

    #[test]
    fn stale_price_blocks_opening_but_not_liquidation() {
        let r = reading(100_0000_0000, 1_000_000, 100_0000_0000, 61);
        assert_eq!(validate(&r, &limits(), OracleAction::RiskIncreasing, NOW), Err(RiskError::OracleStale));
        assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Ok(()));
        let very_old = reading(100_0000_0000, 1_000_000, 100_0000_0000, 601);
        assert_eq!(validate(&very_old, &limits(), OracleAction::Liquidation, NOW), Err(RiskError::OracleStale));
    }

    #[test]
    fn wide_confidence_is_too_uncertain() {
        // conf = 3% of price > 2% limit, < 10% liquidation limit.
        let r = reading(100_0000_0000, 3_0000_0000, 100_0000_0000, 0);
        assert_eq!(validate(&r, &limits(), OracleAction::RiskIncreasing, NOW), Err(RiskError::OracleTooUncertain));
        assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Ok(()));
        let absurd = reading(100_0000_0000, 50_0000_0000, 100_0000_0000, 0);
        assert_eq!(validate(&absurd, &limits(), OracleAction::Liquidation, NOW), Err(RiskError::OracleTooUncertain));
    }

    #[test]
    fn far_from_ema_blocks_only_risk_increasing() {
        let r = reading(80_0000_0000, 1_000_000, 100_0000_0000, 0);
        assert_eq!(validate(&r, &limits(), OracleAction::RiskIncreasing, NOW), Err(RiskError::OracleTooVolatile));
        assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Ok(()));
    }

    #[test]
    fn a_volatility_sample_may_be_far_from_the_ema_but_not_stale_or_wide() {
        // 40% below its EMA: refused for borrowing, fine as a sample.
        let crash = reading(60_0000_0000, 1_000_000, 100_0000_0000, 0);
        assert_eq!(validate(&crash, &limits(), OracleAction::RiskIncreasing, NOW), Err(RiskError::OracleTooVolatile));
        assert_eq!(validate(&crash, &limits(), OracleAction::VolatilitySample, NOW), Ok(()));
        let stale = reading(60_0000_0000, 1_000_000, 100_0000_0000, 61);
        assert_eq!(validate(&stale, &limits(), OracleAction::VolatilitySample, NOW), Err(RiskError::OracleStale));
        let wide = reading(60_0000_0000, 3_0000_0000, 100_0000_0000, 0);
        assert_eq!(validate(&wide, &limits(), OracleAction::VolatilitySample, NOW), Err(RiskError::OracleTooUncertain));
    }

    #[test]
    fn an_unusable_feed_values_deposits_at_zero_and_debts_at_their_last_price() {
        let dead = reading(100_0000_0000, 1_000_000, 100_0000_0000, 601);
        let p = liquidation_prices(&dead, &limits(), 6, NOW).unwrap();
        assert_eq!(p.unusable, Some(RiskError::OracleStale));
        assert_eq!(p.prices.asset, 0);
        assert_eq!(p.prices.liability, valuation_prices(&dead, &limits(), 6).unwrap().liability);
        let fresh = reading(100_0000_0000, 1_000_000, 100_0000_0000, 0);
        let p = liquidation_prices(&fresh, &limits(), 6, NOW).unwrap();
        assert_eq!(p, LiquidationPrices { prices: valuation_prices(&fresh, &limits(), 6).unwrap(), unusable: None });
        let negative = reading(-1, 0, 100_0000_0000, 0);
        let p = liquidation_prices(&negative, &limits(), 6, NOW).unwrap();
        assert_eq!((p.unusable, p.prices.asset, p.prices.liability), (Some(RiskError::OracleNonPositive), 0, 0));
    }

    #[test]
    fn non_positive_and_odd_exponents_are_refused() {
        for (p, ema) in [(0, 1), (-5, 1), (1, 0)] {
            let r = reading(p, 0, ema, 0);
            assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Err(RiskError::OracleNonPositive));
        }
        let r = OracleReading { expo: -40, ..reading(1, 0, 1, 0) };
        assert_eq!(validate(&r, &limits(), OracleAction::Liquidation, NOW), Err(RiskError::OracleExponentOutOfRange));
    }

    #[test]
    fn valuation_takes_the_conservative_side() {
        // $100 +- $1, EMA $99: assets at min(99, 99) = 99, liabilities at max(101, 99) = 101.
        let r = OracleReading {
            price: 100_0000_0000,
            conf: 1_0000_0000,
            ema_price: 99_0000_0000,
            expo: -8,
            publish_time: NOW,
        };
        let p = valuation_prices(&r, &limits(), 6).unwrap();
        // $99 per token of 6 decimals = 99e-6 $ per unit = 99e12 WAD.
        assert_eq!(p.asset, 99_000_000_000_000);
        assert_eq!(p.liability, 101_000_000_000_000);
    }

    #[test]
    fn conversion_rounds_as_asked_when_it_truncates() {
        // 1 * 10^-8 per whole token of 18 decimals = 1e-26 per unit = 1e-8 WAD.
        assert_eq!(mantissa_to_wad_per_unit(1, -8, 18, Rounding::Down), Ok(0));
        assert_eq!(mantissa_to_wad_per_unit(1, -8, 18, Rounding::Up), Ok(1));
        assert_eq!(mantissa_to_wad_per_unit(7, 0, 0, Rounding::Down), Ok(7 * WAD));
    }

    proptest! {
        #[test]
        fn valuation_never_panics_and_brackets_the_price(
            price in 1i64.., conf: u64, ema in 1i64.., expo in -12i32..=0, decimals in 0u8..=12,
        ) {
            let r = OracleReading { price, conf, ema_price: ema, expo, publish_time: NOW };
            if let Ok(p) = valuation_prices(&r, &limits(), decimals) {
                let mid_down = mantissa_to_wad_per_unit(price as u128, expo, decimals, Rounding::Down).unwrap();
                let mid_up = mantissa_to_wad_per_unit(price as u128, expo, decimals, Rounding::Up).unwrap();
                prop_assert!(p.asset <= mid_down);
                prop_assert!(p.liability >= mid_up);
            }
        }

        #[test]
        fn liquidation_prices_never_value_an_asset_above_a_usable_reading(
            price in 1i64..100_000_000_000_000, conf in 0u64..100_000_000_000, ema in 1i64..100_000_000_000_000,
            age in 0i64..2_000, decimals in 0u8..=12,
        ) {
            // Whatever the feed's state, an asset never counts for more than a valid reading
            // of the same numbers would value it, and never above zero once unusable.
            let r = OracleReading { price, conf, ema_price: ema, expo: -8, publish_time: NOW - age };
            let p = liquidation_prices(&r, &limits(), decimals, NOW).unwrap();
            match validate(&r, &limits(), OracleAction::Liquidation, NOW) {
                Ok(()) => prop_assert_eq!(p.unusable, None),
                Err(e) => {
                    prop_assert_eq!(p.unusable, Some(e));
                    prop_assert_eq!(p.prices.asset, 0);
                }
            }
            if let Ok(v) = valuation_prices(&r, &limits(), decimals) {
                prop_assert!(p.prices.asset <= v.asset);
                prop_assert_eq!(p.prices.liability, v.liability);
            }
        }

        #[test]
        fn validate_never_panics(price: i64, conf: u64, ema: i64, expo: i32, publish_time: i64, now: i64) {
            let r = OracleReading { price, conf, ema_price: ema, expo, publish_time };
            let _ = validate(&r, &limits(), OracleAction::RiskIncreasing, now);
            let _ = validate(&r, &limits(), OracleAction::Liquidation, now);
            let _ = validate(&r, &limits(), OracleAction::VolatilitySample, now);
            let _ = liquidation_prices(&r, &limits(), 9, now);
        }
    }
}
