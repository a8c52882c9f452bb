//! The buyback Dutch auction: the protocol buys its native token with tokens from a
//! market's buyback pool, at a price that starts below the oracle and rises toward a
//! capped premium.
//!
//! Prices are "pool tokens paid per native token", expressed as a multiplier (bps) of
//! the oracle exchange rate. The native token is valued at its conservative asset price
//! and the pool token at its conservative liability price, so a wide confidence band
//! only ever makes the protocol pay less.

use crate::fixed::{div, mul_div, Rounding, BPS};
use crate::{RiskError, RiskResult};

/// Highest premium over the oracle governance may allow: 20%.
pub const MAX_PREMIUM_CAP_BPS: u32 = 2_000;
/// Deepest starting discount: 50% below the oracle.
pub const MAX_START_DISCOUNT_BPS: u32 = 5_000;
/// Longest time the price may take to rise from start to cap: one week.
pub const MAX_AUCTION_DURATION_SECS: u32 = 7 * 86_400;

/// Shape of the auction curve, set by governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuctionParams {
    /// Seconds from the auction's start until the price reaches the cap.
    pub duration_secs: u32,
    /// How far below the oracle the price starts.
    pub start_discount_bps: u32,
    /// How far above the oracle the price may rise, and never beyond.
    pub premium_cap_bps: u32,
}

impl AuctionParams {
    /// The curve starts strictly below where it ends and stays within the bounds.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_AUCTION_DURATION_SECS).contains(&self.duration_secs)
            && self.start_discount_bps <= MAX_START_DISCOUNT_BPS
            && self.premium_cap_bps <= MAX_PREMIUM_CAP_BPS
            && self.start_discount_bps + self.premium_cap_bps > 0
    }
}

/// The price multiplier (bps of the oracle rate) `now` for an auction that started at
/// `start_ts`: `1 - discount` at the start, rising linearly to `1 + cap` after
/// `duration_secs`, then flat. Rounded down (the protocol pays less).
pub fn price_multiplier_bps(params: &AuctionParams, start_ts: i64, now: i64) -> u128 {
    let floor = BPS - u128::from(params.start_discount_bps.min(MAX_START_DISCOUNT_BPS));
    let span = u128::from(params.start_discount_bps) + u128::from(params.premium_cap_bps);
    let duration = u128::from(params.duration_secs.max(1));
    let elapsed = u128::try_from(now.saturating_sub(start_ts)).unwrap_or(0).min(duration);
    // span <= 7_000 and elapsed <= 604_800: the product cannot overflow.
    floor + span * elapsed / duration
}

/// Pool tokens the protocol pays for `native_in` native tokens at `multiplier_bps`, with
/// the native token worth `native_price` and a pool token `pool_price` (both WAD quote
/// per base unit). Rounded down: the keeper never receives more than the curve says.
pub fn pool_out_for(native_in: u128, native_price: u128, pool_price: u128, multiplier_bps: u128) -> RiskResult<u128> {
    let value = native_in.checked_mul(native_price).ok_or(RiskError::MathOverflow)?;
    let value = mul_div(value, multiplier_bps, BPS, Rounding::Down)?;
    div(value, pool_price, Rounding::Down)
}

/// Native tokens the keeper must pay to receive `pool_out` pool tokens. Rounded up:
/// the keeper pays at least what the curve says.
pub fn native_in_for(pool_out: u128, native_price: u128, pool_price: u128, multiplier_bps: u128) -> RiskResult<u128> {
    if multiplier_bps == 0 || native_price == 0 {
        return Err(RiskError::DivideByZero);
    }
    let value = pool_out.checked_mul(pool_price).ok_or(RiskError::MathOverflow)?;
    let value = mul_div(value, BPS, multiplier_bps, Rounding::Up)?;
    div(value, native_price, Rounding::Up)
}

/// One fill of the auction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub pool_out: u64,
    pub native_in: u64,
}

/// The largest fill the keeper's `max_native_in` buys, capped at `available` pool
/// tokens (the epoch budget left, bounded by the pool). `None` when it buys nothing.
/// `native_in` never exceeds `max_native_in`.
pub fn fill(
    max_native_in: u64,
    available: u64,
    native_price: u128,
    pool_price: u128,
    multiplier_bps: u128,
) -> RiskResult<Option<Fill>> {
    let affordable = pool_out_for(u128::from(max_native_in), native_price, pool_price, multiplier_bps)?;
    let pool_out = affordable.min(u128::from(available));
    if pool_out == 0 {
        return Ok(None);
    }
    let native_in = native_in_for(pool_out, native_price, pool_price, multiplier_bps)?;
    // pool_out <= floor(max_native_in * rate), so its rounded-up cost fits the bound;
    // the check stays as a guard against any future change of the rounding above.
    if native_in > u128::from(max_native_in) {
        return Err(RiskError::MathOverflow);
    }
    Ok(Some(Fill { pool_out: pool_out as u64, native_in: native_in as u64 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WAD;
    use proptest::prelude::*;

    const PARAMS: AuctionParams =
        AuctionParams { duration_secs: 3_600, start_discount_bps: 1_000, premium_cap_bps: 500 };
    // $2 per native base unit and $1 per pool base unit (both 6 decimals), in WAD.
    const NATIVE: u128 = 2 * WAD / 1_000_000;
    const POOL: u128 = WAD / 1_000_000;

    #[test]
    fn multiplier_rises_from_discount_to_cap() {
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 100), 9_000);
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 100 + 1_800), 9_750);
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 100 + 2_400), 10_000);
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 100 + 3_600), 10_500);
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 100 + 1_000_000), 10_500);
        // A clock behind the start is treated as the start.
        assert_eq!(price_multiplier_bps(&PARAMS, 100, 0), 9_000);
    }

    #[test]
    fn fills_at_the_curve_price() {
        // At par: 1 native ($2) buys 2 pool tokens.
        let f = fill(1_000_000, u64::MAX, NATIVE, POOL, 10_000).unwrap().unwrap();
        assert_eq!(f, Fill { pool_out: 2_000_000, native_in: 1_000_000 });
        // At a 10% discount the keeper gets 1.8 pool tokens per native token.
        let f = fill(1_000_000, u64::MAX, NATIVE, POOL, 9_000).unwrap().unwrap();
        assert_eq!(f, Fill { pool_out: 1_800_000, native_in: 1_000_000 });
        // Capped by what is available: pays only for what it gets, rounded up
        // (555_556 native tokens at 1.8 would buy only 1_000_000.8).
        let f = fill(1_000_000, 1_000_001, NATIVE, POOL, 9_000).unwrap().unwrap();
        assert_eq!(f, Fill { pool_out: 1_000_001, native_in: 555_557 });
        assert_eq!(fill(0, 100, NATIVE, POOL, 9_000).unwrap(), None);
        assert_eq!(fill(100, 0, NATIVE, POOL, 9_000).unwrap(), None);
    }

    #[test]
    fn validates_curves() {
        assert!(PARAMS.is_valid());
        assert!(!AuctionParams { duration_secs: 0, ..PARAMS }.is_valid());
        assert!(!AuctionParams { premium_cap_bps: MAX_PREMIUM_CAP_BPS + 1, ..PARAMS }.is_valid());
        assert!(!AuctionParams { start_discount_bps: MAX_START_DISCOUNT_BPS + 1, ..PARAMS }.is_valid());
        assert!(!AuctionParams { start_discount_bps: 0, premium_cap_bps: 0, ..PARAMS }.is_valid());
    }

    fn params() -> impl Strategy<Value = AuctionParams> {
        (1..=MAX_AUCTION_DURATION_SECS, 0..=MAX_START_DISCOUNT_BPS, 0..=MAX_PREMIUM_CAP_BPS).prop_map(
            |(duration_secs, start_discount_bps, premium_cap_bps)| AuctionParams {
                duration_secs,
                start_discount_bps,
                premium_cap_bps,
            },
        )
    }

    proptest! {
        #[test]
        fn multiplier_is_monotone_and_capped(p in params(), start in 0i64..1_000_000, a in 0i64..2_000_000, b in 0i64..2_000_000) {
            let (t0, t1) = (start + a.min(b), start + a.max(b));
            let (m0, m1) = (price_multiplier_bps(&p, start, t0), price_multiplier_bps(&p, start, t1));
            prop_assert!(m0 <= m1);
            prop_assert!(m1 <= BPS + u128::from(p.premium_cap_bps));
            prop_assert!(m0 >= BPS - u128::from(p.start_discount_bps));
        }

        #[test]
        fn never_pays_above_the_cap(
            p in params(), elapsed in 0i64..2_000_000, max_in in 1u64..u64::MAX / 4,
            native in 1u128..1_000_000_000_000_000, pool in 1u128..1_000_000_000_000_000,
        ) {
            let m = price_multiplier_bps(&p, 0, elapsed);
            if let Some(f) = fill(max_in, u64::MAX, native, pool, m).unwrap() {
                prop_assert!(f.native_in <= max_in);
                // Value paid out <= value received x (1 + cap).
                let out_value = u128::from(f.pool_out) * pool;
                let cap = u128::from(f.native_in) * native * (BPS + u128::from(p.premium_cap_bps)) / BPS;
                prop_assert!(out_value <= cap);
            }
        }

        #[test]
        fn round_trip_favours_the_protocol(
            pool_out in 1u128..1_000_000_000_000, m in 5_000u128..12_000,
            native in 1u128..1_000_000_000_000_000, pool in 1u128..1_000_000_000_000_000,
        ) {
            let native_in = native_in_for(pool_out, native, pool, m).unwrap();
            prop_assert!(pool_out_for(native_in, native, pool, m).unwrap() >= pool_out);
        }
    }

    proptest! {
        #[test]
        fn waiting_never_worsens_the_fill_and_never_exceeds_what_is_available(
            p in params(), t1 in 0i64..2_000_000, t2 in 0i64..2_000_000, max_in in 1u64..u64::MAX / 4,
            available in 0u64..u64::MAX / 4,
            native in 1u128..1_000_000_000_000_000, pool in 1u128..1_000_000_000_000_000,
        ) {
            let out = |t| {
                fill(max_in, available, native, pool, price_multiplier_bps(&p, 0, t)).unwrap().map_or(0, |f| f.pool_out)
            };
            let (early, late) = (out(t1.min(t2)), out(t1.max(t2)));
            prop_assert!(early <= late);
            prop_assert!(late <= available);
        }
    }
}
