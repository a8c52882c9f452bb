//! Fixed-point helpers: checked multiply-divide with an explicit rounding direction.

use crate::{RiskError, RiskResult};

/// 1.0 in WAD fixed point.
pub const WAD: u128 = 1_000_000_000_000_000_000;
/// 1.0 in basis points.
pub const BPS: u128 = 10_000;
/// Seconds in a 365-day year, the unit of annual interest rates.
pub const SECONDS_PER_YEAR: u128 = 365 * 24 * 60 * 60;

/// Which way a division that does not come out even is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// `a * b / d`, rounded as asked, with a 256-bit intermediate product so that only a
/// result that does not fit in `u128` overflows.
pub fn mul_div(a: u128, b: u128, d: u128, rounding: Rounding) -> RiskResult<u128> {
    if d == 0 {
        return Err(RiskError::DivideByZero);
    }
    // Fast path: the product fits in 128 bits (the usual case on-chain).
    if let Some(product) = a.checked_mul(b) {
        let q = product / d;
        let r = product % d;
        return if rounding == Rounding::Up && r != 0 {
            q.checked_add(1).ok_or(RiskError::MathOverflow)
        } else {
            Ok(q)
        };
    }
    let (hi, lo) = wide_mul(a, b);
    if hi >= d {
        return Err(RiskError::MathOverflow);
    }
    let (q, r) = wide_div(hi, lo, d);
    if rounding == Rounding::Up && r != 0 {
        q.checked_add(1).ok_or(RiskError::MathOverflow)
    } else {
        Ok(q)
    }
}

/// `a / d` rounded as asked.
pub fn div(a: u128, d: u128, rounding: Rounding) -> RiskResult<u128> {
    mul_div(a, 1, d, rounding)
}

/// `value * bps / 10_000` rounded as asked.
pub fn apply_bps(value: u128, bps: u128, rounding: Rounding) -> RiskResult<u128> {
    mul_div(value, bps, BPS, rounding)
}

/// `10^exp` as `u128`, or an overflow error past 10^38.
pub fn pow10(exp: u32) -> RiskResult<u128> {
    10u128.checked_pow(exp).ok_or(RiskError::MathOverflow)
}

/// Full 256-bit product of two `u128`, as (high, low) halves.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a_hi, a_lo) = (a >> 64, a & MASK);
    let (b_hi, b_lo) = (b >> 64, b & MASK);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 64) + (hi_lo & MASK) + (lo_hi & MASK);
    let lo = (cross << 64) | (lo_lo & MASK);
    let hi = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (cross >> 64);
    (hi, lo)
}

/// (hi:lo) / d for hi < d: shift-subtract long division, one bit at a time.
/// Only reached when the product overflows 128 bits, so its cost is off the hot path.
fn wide_div(mut hi: u128, lo: u128, d: u128) -> (u128, u128) {
    let mut q: u128 = 0;
    for i in (0..128).rev() {
        let carry = hi >> 127;
        hi = (hi << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry == 1 || hi >= d {
            hi = hi.wrapping_sub(d);
            q |= 1;
        }
    }
    (q, hi)
}

/// Integer square root, rounded down (Newton's method).
pub fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = 1u128 << (128 - n.leading_zeros()).div_ceil(2);
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// Converts to `i128`, failing instead of wrapping.
pub fn to_i128(v: u128) -> RiskResult<i128> {
    i128::try_from(v).map_err(|_| RiskError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_in_the_asked_direction() {
        assert_eq!(mul_div(10, 1, 3, Rounding::Down), Ok(3));
        assert_eq!(mul_div(10, 1, 3, Rounding::Up), Ok(4));
        assert_eq!(mul_div(9, 1, 3, Rounding::Up), Ok(3));
        assert_eq!(mul_div(1, 1, 0, Rounding::Up), Err(RiskError::DivideByZero));
    }

    #[test]
    fn wide_product_divides_back_exactly() {
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX, Rounding::Down), Ok(u128::MAX));
        assert_eq!(mul_div(u128::MAX, 3, 6, Rounding::Down), Ok(u128::MAX / 2));
        assert_eq!(mul_div(u128::MAX, 3, 6, Rounding::Up), Ok(u128::MAX / 2 + 1));
        assert_eq!(mul_div(u128::MAX, 2, 1, Rounding::Down), Err(RiskError::MathOverflow));
    }

    #[test]
    fn isqrt_of_squares_and_neighbours() {
        for n in [0u128, 1, 2, 3, 4, 15, 16, 17, 1 << 64, u128::MAX] {
            let r = isqrt(n);
            assert!(r * r <= n);
            assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > n));
        }
    }

    proptest! {
        #[test]
        fn mul_div_brackets_the_exact_quotient(a: u128, b: u128, d in 1u128..) {
            let down = mul_div(a, b, d, Rounding::Down);
            let up = mul_div(a, b, d, Rounding::Up);
            match (down, up) {
                (Ok(lo), Ok(hi)) => {
                    prop_assert!(hi == lo || hi == lo + 1);
                    // lo * d <= a * b < (lo + 1) * d, checked in 256 bits.
                    prop_assert!(wide_mul(lo, d) <= wide_mul(a, b));
                    let (p_hi, p_lo) = wide_mul(a, b);
                    let (n_hi, n_lo) = wide_mul(lo + 1, d);
                    prop_assert!((n_hi, n_lo) > (p_hi, p_lo));
                }
                (Err(e), _) => prop_assert_eq!(e, RiskError::MathOverflow),
                (Ok(_), Err(e)) => prop_assert_eq!(e, RiskError::MathOverflow),
            }
        }

        #[test]
        fn isqrt_is_the_floor_root(n: u128) {
            let r = isqrt(n);
            prop_assert!(r * r <= n);
            prop_assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > n));
        }
    }
}
