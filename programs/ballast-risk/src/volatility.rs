//! Realised volatility and drawdown of the native token, from keeper-cranked price samples.
//!
//! A permissionless crank samples the price at most once per `min_sample_interval_secs`
//! (so a spammer cannot weight the estimate with many tiny intervals). Each sample after
//! the first takes the simple return `r = (p - p0) / p0` since the last sample and turns
//! it into a variance rate `r^2 / dt` (squared return per second), which is blended into
//! an exponentially weighted average. The price itself is blended into an EMA the same
//! way, and drawdown is how far the price sits below that EMA.
//!
//! The blend weight of a sample `dt` seconds after the last is `dt / (dt + tau)`: a
//! rational stand-in for `1 - exp(-dt / tau)` that needs no `exp`, agrees with it for
//! `dt << tau`, and gives a long gap more weight than a short one, as it should.
//! `tau` is the time constant (a half-life of about `0.69 * tau`).
//!
//! Everything rounds toward stress: variance, volatility and drawdown round up, and the
//! EMA rounds up (it follows a rising price a little faster and a falling one a little
//! slower), so the regime errs toward caution, never toward looser settings.

use crate::fixed::{div, isqrt, mul_div, Rounding, BPS, SECONDS_PER_YEAR, WAD};
use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Largest return one sample counts: 10x (1000%). A bigger jump is already off every
/// scale a regime threshold can use, and the cap keeps `r^2` inside `u128`.
pub const MAX_RETURN_WAD: u128 = 10 * WAD;
/// Bounds on the sampling interval: at least a second, at most a day.
pub const MAX_SAMPLE_INTERVAL_SECS: u32 = 86_400;
/// Bounds on both time constants: a minute to 30 days.
pub const MIN_TIME_CONSTANT_SECS: u32 = 60;
pub const MAX_TIME_CONSTANT_SECS: u32 = 30 * 86_400;
/// Longest gap counted as such: 30 days.
pub const MAX_GAP_SECS: u32 = 30 * 86_400;

/// Governance settings of the volatility estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolatilityParams {
    /// Fewest seconds between two samples; an earlier crank fails with `SampleTooSoon`.
    pub min_sample_interval_secs: u32,
    /// Time constant `tau` of the variance EWMA, in seconds.
    pub var_time_constant_secs: u32,
    /// Time constant `tau` of the price EMA that drawdown is measured against, in seconds.
    pub ema_time_constant_secs: u32,
    /// Longest gap between samples counted as such. A longer gap (a keeper outage) counts
    /// as this many seconds: a crash during the outage then still shows up as volatility
    /// and drawdown instead of being spread thin over the gap or absorbed by the EMA.
    pub max_gap_secs: u32,
}

/// The estimator's state, stored as plain integers. All zero means "never sampled".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VolatilityState {
    /// The price at the last sample, in WAD (0 until the first sample).
    pub last_price_wad: u128,
    /// Unix time of the last sample.
    pub last_sample_ts: i64,
    /// EMA of the price, in WAD.
    pub ema_price_wad: u128,
    /// EWMA of the squared return per second (`r^2 / dt`), in WAD per second.
    pub var_rate_wad: u128,
    /// Annualised volatility `sqrt(var_rate * SECONDS_PER_YEAR)`, in bps (rounded up).
    pub annual_vol_bps: u32,
    /// `max(0, ema - price) / ema` at the last sample, in bps (rounded up).
    pub drawdown_bps: u32,
}

/// Checks the estimator's settings against their bounds.
pub fn validate_volatility_params(p: &VolatilityParams) -> Result<(), ParamError> {
    let tau = MIN_TIME_CONSTANT_SECS..=MAX_TIME_CONSTANT_SECS;
    let ok = (1..=MAX_SAMPLE_INTERVAL_SECS).contains(&p.min_sample_interval_secs)
        && tau.contains(&p.var_time_constant_secs)
        && tau.contains(&p.ema_time_constant_secs)
        && (p.min_sample_interval_secs..=MAX_GAP_SECS).contains(&p.max_gap_secs);
    ok.then_some(()).ok_or(ParamError::Volatility)
}

/// Folds the price `price_wad` seen at `now` into `state`.
///
/// The first sample only sets the reference price and EMA. A sample before
/// `min_sample_interval_secs` have passed (or from a clock that went backwards) fails
/// with [`RiskError::SampleTooSoon`] and changes nothing.
pub fn sample(
    state: &VolatilityState,
    price_wad: u128,
    now: i64,
    params: &VolatilityParams,
) -> RiskResult<VolatilityState> {
    if price_wad == 0 {
        return Err(RiskError::OracleNonPositive);
    }
    if state.last_price_wad == 0 {
        return Ok(VolatilityState {
            last_price_wad: price_wad,
            last_sample_ts: now,
            ema_price_wad: price_wad,
            ..VolatilityState::default()
        });
    }
    // In i128 so that no pair of timestamps can overflow.
    let elapsed = i128::from(now) - i128::from(state.last_sample_ts);
    if elapsed < i128::from(params.min_sample_interval_secs) || elapsed <= 0 {
        return Err(RiskError::SampleTooSoon);
    }
    let dt = elapsed.min(i128::from(params.max_gap_secs)).max(1) as u128;

    let r = simple_return_wad(state.last_price_wad, price_wad)?;
    let r_squared = mul_div(r, r, WAD, Rounding::Up)?;
    let var_sample = div(r_squared, dt, Rounding::Up)?;
    let var_rate_wad = blend_up(state.var_rate_wad, var_sample, dt, params.var_time_constant_secs)?;
    let ema_price_wad = blend_up(state.ema_price_wad, price_wad, dt, params.ema_time_constant_secs)?;
    Ok(VolatilityState {
        last_price_wad: price_wad,
        last_sample_ts: now,
        ema_price_wad,
        var_rate_wad,
        annual_vol_bps: annual_vol_bps(var_rate_wad)?,
        drawdown_bps: drawdown_bps(price_wad, ema_price_wad)?,
    })
}

/// `|p - p0| / p0` in WAD, rounded up and capped at [`MAX_RETURN_WAD`].
fn simple_return_wad(p0: u128, p: u128) -> RiskResult<u128> {
    let diff = p.abs_diff(p0);
    // Decide the cap before multiplying, so that no price pair can overflow.
    if diff / p0 >= MAX_RETURN_WAD / WAD {
        return Ok(MAX_RETURN_WAD);
    }
    Ok(mul_div(diff, WAD, p0, Rounding::Up)?.min(MAX_RETURN_WAD))
}

/// `old + (sample - old) * dt / (dt + tau)`, rounded up; always between `old` and `sample`.
fn blend_up(old: u128, sample: u128, dt: u128, tau_secs: u32) -> RiskResult<u128> {
    let span = dt.checked_add(u128::from(tau_secs)).ok_or(RiskError::MathOverflow)?;
    if sample >= old {
        Ok(old + mul_div(sample - old, dt, span, Rounding::Up)?)
    } else {
        Ok(old - mul_div(old - sample, dt, span, Rounding::Down)?)
    }
}

/// `sqrt(var_rate * SECONDS_PER_YEAR)` in bps, rounded up (saturating at `u32::MAX`).
pub fn annual_vol_bps(var_rate_wad: u128) -> RiskResult<u32> {
    let annual_var_wad = var_rate_wad.checked_mul(SECONDS_PER_YEAR).ok_or(RiskError::MathOverflow)?;
    // vol_bps = sqrt(annual_var_wad / WAD) * BPS = sqrt(annual_var_wad * BPS^2 / WAD).
    let radicand = mul_div(annual_var_wad, BPS * BPS, WAD, Rounding::Up)?;
    let root = isqrt(radicand);
    let root_up = if root * root < radicand { root + 1 } else { root };
    Ok(u32::try_from(root_up).unwrap_or(u32::MAX))
}

/// `max(0, ema - price) / ema` in bps, rounded up.
pub fn drawdown_bps(price_wad: u128, ema_price_wad: u128) -> RiskResult<u32> {
    if price_wad >= ema_price_wad {
        return Ok(0);
    }
    let bps = mul_div(ema_price_wad - price_wad, BPS, ema_price_wad, Rounding::Up)?;
    // price < ema, so this is at most BPS.
    u32::try_from(bps).map_err(|_| RiskError::MathOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    fn params() -> VolatilityParams {
        VolatilityParams {
            min_sample_interval_secs: 60,
            var_time_constant_secs: 60,
            ema_time_constant_secs: 540,
            max_gap_secs: 3_600,
        }
    }

    fn first(price: u128) -> VolatilityState {
        sample(&VolatilityState::default(), price, T0, &params()).unwrap()
    }

    #[test]
    fn first_sample_only_initialises() {
        let s = first(100 * WAD);
        assert_eq!(s.last_price_wad, 100 * WAD);
        assert_eq!(s.ema_price_wad, 100 * WAD);
        assert_eq!((s.var_rate_wad, s.annual_vol_bps, s.drawdown_bps), (0, 0, 0));
    }

    #[test]
    fn one_percent_in_a_minute_by_hand() {
        // p0 = 100, p = 101 after 60 s: r = 0.01, r^2 = 1e-4 = 1e14 WAD,
        // r^2 / dt = 1e14 / 60 = 1_666_666_666_666.67 -> 1_666_666_666_667 (up).
        // Variance weight 60 / (60 + 60) = 1/2 -> ceil(833_333_333_333.5) = 833_333_333_334.
        // Annual: 833_333_333_334 * 31_536_000 = 26_280_000_000_021_024_000 WAD
        // -> vol^2 in bps^2 = that * 1e8 / 1e18 = 2_628_000_000.0021 -> up: 2_628_000_001,
        // sqrt = 51_264.02 -> 51_265 bps (512% a year: a 1%-a-minute market is wild).
        // EMA weight 60 / 600 = 1/10: 100 + 0.1 = 100.1.
        let s = sample(&first(100 * WAD), 101 * WAD, T0 + 60, &params()).unwrap();
        assert_eq!(s.var_rate_wad, 833_333_333_334);
        assert_eq!(s.annual_vol_bps, 51_265);
        assert_eq!(s.ema_price_wad, 100 * WAD + WAD / 10);
        assert_eq!(s.drawdown_bps, 0);
        // Then 90 one minute later: EMA 100.1 - 10.1 / 10 = 99.09, drawdown
        // 9.09 / 99.09 = 917.35 bps -> 918.
        let s = sample(&s, 90 * WAD, T0 + 120, &params()).unwrap();
        assert_eq!(s.ema_price_wad, 99 * WAD + 9 * WAD / 100);
        assert_eq!(s.drawdown_bps, 918);
    }

    #[test]
    fn annual_vol_of_a_known_variance_rate() {
        // 100% a year is a variance rate of 1 / SECONDS_PER_YEAR per second; a hair
        // above it rounds up to the next bps.
        assert_eq!(annual_vol_bps(WAD / SECONDS_PER_YEAR), Ok(10_000));
        assert_eq!(annual_vol_bps(WAD / SECONDS_PER_YEAR + 1), Ok(10_001));
        assert_eq!(annual_vol_bps(0), Ok(0));
        assert_eq!(annual_vol_bps(u128::MAX), Err(RiskError::MathOverflow));
    }

    #[test]
    fn early_or_backwards_samples_are_refused() {
        let s = first(100 * WAD);
        assert_eq!(sample(&s, 101 * WAD, T0 + 59, &params()), Err(RiskError::SampleTooSoon));
        assert_eq!(sample(&s, 101 * WAD, T0 - 1_000, &params()), Err(RiskError::SampleTooSoon));
        assert_eq!(sample(&s, 0, T0 + 60, &params()), Err(RiskError::OracleNonPositive));
        assert!(sample(&s, 101 * WAD, T0 + 60, &params()).is_ok());
    }

    #[test]
    fn a_long_gap_counts_as_max_gap() {
        // A 30% crash during a day-long outage weighs as if it happened within an hour.
        let s = first(100 * WAD);
        let after_gap = sample(&s, 70 * WAD, T0 + 86_400, &params()).unwrap();
        let within_max_gap = sample(&s, 70 * WAD, T0 + 3_600, &params()).unwrap();
        assert_eq!(after_gap.var_rate_wad, within_max_gap.var_rate_wad);
        assert_eq!(after_gap.drawdown_bps, within_max_gap.drawdown_bps);
        assert!(after_gap.drawdown_bps > 0);
        // Timestamps at the ends of i64 still only give a gap.
        let s = VolatilityState { last_sample_ts: i64::MIN, ..s };
        assert!(sample(&s, 70 * WAD, i64::MAX, &params()).is_ok());
    }

    #[test]
    fn huge_jumps_are_capped_not_overflowed() {
        let s = sample(&first(1), u128::MAX, T0 + 60, &params()).unwrap();
        let capped = sample(&first(WAD), 11 * WAD, T0 + 60, &params()).unwrap();
        assert_eq!(s.var_rate_wad, capped.var_rate_wad);
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(validate_volatility_params(&params()), Ok(()));
        let bad = [
            VolatilityParams { min_sample_interval_secs: 0, ..params() },
            VolatilityParams { var_time_constant_secs: 59, ..params() },
            VolatilityParams { ema_time_constant_secs: MAX_TIME_CONSTANT_SECS + 1, ..params() },
            VolatilityParams { max_gap_secs: 59, ..params() },
            VolatilityParams { max_gap_secs: MAX_GAP_SECS + 1, ..params() },
        ];
        for p in bad {
            assert_eq!(validate_volatility_params(&p), Err(ParamError::Volatility), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn constant_price_has_no_volatility(price in 1u128..=u128::MAX / 2, gaps in prop::collection::vec(60i64..100_000, 1..20)) {
            let mut s = first(price);
            let mut now = T0;
            for gap in gaps {
                now += gap;
                s = sample(&s, price, now, &params()).unwrap();
                prop_assert_eq!((s.var_rate_wad, s.annual_vol_bps, s.drawdown_bps), (0, 0, 0));
                prop_assert_eq!(s.ema_price_wad, price);
            }
        }

        #[test]
        fn bigger_moves_give_no_less_volatility(
            p0 in 1u128..1_000_000 * WAD, a in 0u128..20_000, b in 0u128..20_000, up: bool, dt in 60i64..10_000,
        ) {
            // Two moves of a and b bps in the same direction, from the same state.
            let (small, large) = if a <= b { (a, b) } else { (b, a) };
            let moved = |bps: u128| if up { p0 + p0 * bps / 10_000 } else { (p0 - p0 * bps.min(9_999) / 10_000).max(1) };
            let base = first(p0);
            let lo = sample(&base, moved(small), T0 + dt, &params()).unwrap();
            let hi = sample(&base, moved(large), T0 + dt, &params()).unwrap();
            prop_assert!(lo.var_rate_wad <= hi.var_rate_wad);
            prop_assert!(lo.annual_vol_bps <= hi.annual_vol_bps);
        }

        #[test]
        fn no_drawdown_at_or_above_the_ema(p0 in 1u128..1_000_000 * WAD, rise in 0u128..1_000_000 * WAD, dt in 60i64..10_000) {
            let s = sample(&first(p0), p0 + rise, T0 + dt, &params()).unwrap();
            prop_assert_eq!(s.drawdown_bps, 0);
            prop_assert!(s.ema_price_wad >= p0 && s.ema_price_wad <= p0 + rise);
        }

        #[test]
        fn extreme_inputs_never_panic(
            last_price: u128, last_ts: i64, ema: u128, var: u128, price: u128, now: i64,
            interval in 0u32..=u32::MAX, tau_v: u32, tau_e: u32, gap: u32,
        ) {
            let s = VolatilityState { last_price_wad: last_price, last_sample_ts: last_ts, ema_price_wad: ema, var_rate_wad: var, annual_vol_bps: 0, drawdown_bps: 0 };
            let p = VolatilityParams { min_sample_interval_secs: interval, var_time_constant_secs: tau_v, ema_time_constant_secs: tau_e, max_gap_secs: gap };
            let _ = sample(&s, price, now, &p);
        }

        #[test]
        fn drawdown_stays_within_one(p0 in 1u128..u128::MAX / 2, p in 1u128..u128::MAX / 2, dt in 60i64..100_000) {
            let s = sample(&first(p0), p, T0 + dt, &params()).unwrap();
            prop_assert!(s.drawdown_bps <= 10_000);
        }
    }
}
