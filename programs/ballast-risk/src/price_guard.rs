//! Price move guard: a market whose price moves too far within a window goes
//! reduce-only for a cooldown.
//!
//! While reduce-only, the program refuses new borrows and allows a withdrawal only if
//! the account's init health stays non-negative afterwards; deposits, repayments and
//! liquidations go on. This module only decides whether the market is reduce-only.
//!
//! The reference price is the first price seen in the current window; once the window
//! has elapsed, the next observation is still compared against it and then becomes the
//! new reference. So a market observed less often than once a window compares against
//! its last reference anyway: the guard cannot tell a crash between two sparse
//! observations from a slow drift, and a false trip costs a cooldown of reduce-only
//! while a missed crash could cost bad debt. After a trip the reference restarts at the
//! new price, so one move trips once rather than for as long as the price stays there.

use crate::fixed::{mul_div, Rounding, BPS};
use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Longest window and cooldown accepted: one day.
pub const MAX_PRICE_GUARD_WINDOW_SECS: u32 = 86_400;
pub const MAX_PRICE_GUARD_COOLDOWN_SECS: u32 = 86_400;
/// Smallest and largest move limits accepted: 1% and 100%.
pub const MIN_PRICE_MOVE_BPS: u32 = 100;
pub const MAX_PRICE_MOVE_BPS: u32 = 10_000;

/// Governance settings of one market's guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceGuardParams {
    /// Length of the window a move is measured over, in seconds.
    pub window_secs: u32,
    /// Largest move from the reference price that does not trip, in bps of the reference.
    pub max_move_bps: u32,
    /// How long a trip keeps the market reduce-only, in seconds.
    pub cooldown_secs: u32,
}

/// One market's guard state. All zero means "never observed".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriceGuardState {
    /// When the current window started.
    pub window_start_ts: i64,
    /// The reference price (WAD) of the current window; 0 before the first observation.
    pub window_start_price_wad: u128,
    /// The market is reduce-only while `now < reduce_only_until_ts`.
    pub reduce_only_until_ts: i64,
}

pub fn validate_price_guard_params(p: &PriceGuardParams) -> Result<(), ParamError> {
    let ok = (1..=MAX_PRICE_GUARD_WINDOW_SECS).contains(&p.window_secs)
        && (MIN_PRICE_MOVE_BPS..=MAX_PRICE_MOVE_BPS).contains(&p.max_move_bps)
        && (1..=MAX_PRICE_GUARD_COOLDOWN_SECS).contains(&p.cooldown_secs);
    ok.then_some(()).ok_or(ParamError::PriceGuard)
}

/// Observes `price_wad` at `now`; returns the new state and whether this observation
/// tripped the guard. A trip during a cooldown extends it, never shortens it.
pub fn observe_price(
    state: &PriceGuardState,
    price_wad: u128,
    now: i64,
    params: &PriceGuardParams,
) -> RiskResult<(PriceGuardState, bool)> {
    if price_wad == 0 {
        return Err(RiskError::OracleNonPositive);
    }
    let reference = state.window_start_price_wad;
    let restart = PriceGuardState { window_start_ts: now, window_start_price_wad: price_wad, ..*state };
    if reference == 0 {
        return Ok((restart, false));
    }
    // Rounded up so that a move exactly at the limit plus dust trips; a move too large
    // for u128 bps trips too.
    let move_bps = mul_div(price_wad.abs_diff(reference), BPS, reference, Rounding::Up).unwrap_or(u128::MAX);
    if move_bps > u128::from(params.max_move_bps) {
        let until = now.saturating_add(i64::from(params.cooldown_secs)).max(state.reduce_only_until_ts);
        return Ok((PriceGuardState { reduce_only_until_ts: until, ..restart }, true));
    }
    let window_over = i128::from(now) - i128::from(state.window_start_ts) >= i128::from(params.window_secs);
    Ok((if window_over { restart } else { *state }, false))
}

/// Whether the market is reduce-only at `now`.
pub fn is_reduce_only(state: &PriceGuardState, now: i64) -> bool {
    now < state.reduce_only_until_ts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WAD;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    fn params() -> PriceGuardParams {
        PriceGuardParams { window_secs: 300, max_move_bps: 1_000, cooldown_secs: 1_800 }
    }

    fn observed(price: u128) -> PriceGuardState {
        observe_price(&PriceGuardState::default(), price, T0, &params()).unwrap().0
    }

    #[test]
    fn first_observation_sets_the_reference() {
        let s = observed(100 * WAD);
        assert_eq!(
            s,
            PriceGuardState { window_start_ts: T0, window_start_price_wad: 100 * WAD, reduce_only_until_ts: 0 }
        );
        assert!(!is_reduce_only(&s, T0));
    }

    #[test]
    fn a_move_past_the_limit_trips_for_the_cooldown() {
        let s = observed(100 * WAD);
        // Exactly 10% does not trip; 10% plus a wei does, down as well as up.
        let (s1, tripped) = observe_price(&s, 110 * WAD, T0 + 10, &params()).unwrap();
        assert!(!tripped);
        assert_eq!(s1, s);
        let (s2, tripped) = observe_price(&s, 90 * WAD - 1, T0 + 10, &params()).unwrap();
        assert!(tripped);
        assert!(is_reduce_only(&s2, T0 + 10 + 1_799));
        assert!(!is_reduce_only(&s2, T0 + 10 + 1_800));
        // The reference restarts at the tripping price: staying there does not trip again.
        let (s3, tripped) = observe_price(&s2, 90 * WAD - 1, T0 + 20, &params()).unwrap();
        assert!(!tripped);
        assert_eq!(s3.reduce_only_until_ts, T0 + 1_810);
    }

    #[test]
    fn the_reference_resets_when_the_window_elapses() {
        let s = observed(100 * WAD);
        // 8% within the window, then the window ends at 105: the new reference is 105.
        let (s, _) = observe_price(&s, 108 * WAD, T0 + 100, &params()).unwrap();
        let (s, tripped) = observe_price(&s, 105 * WAD, T0 + 300, &params()).unwrap();
        assert!(!tripped);
        assert_eq!((s.window_start_ts, s.window_start_price_wad), (T0 + 300, 105 * WAD));
        // 112 is 12% above 100 but under 7% above 105.
        let (_, tripped) = observe_price(&s, 112 * WAD, T0 + 310, &params()).unwrap();
        assert!(!tripped);
    }

    #[test]
    fn a_sparse_observation_still_compares_with_the_old_reference() {
        let s = observed(100 * WAD);
        let (_, tripped) = observe_price(&s, 50 * WAD, T0 + 10_000, &params()).unwrap();
        assert!(tripped);
    }

    #[test]
    fn a_second_trip_extends_but_never_shortens() {
        let long = PriceGuardParams { cooldown_secs: 10_000, ..params() };
        let (s, _) = observe_price(&observed(100 * WAD), 50 * WAD, T0 + 1, &long).unwrap();
        let (s, tripped) = observe_price(&s, 100 * WAD, T0 + 2, &params()).unwrap();
        assert!(tripped);
        assert_eq!(s.reduce_only_until_ts, T0 + 10_001);
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(validate_price_guard_params(&params()), Ok(()));
        for p in [
            PriceGuardParams { window_secs: 0, ..params() },
            PriceGuardParams { max_move_bps: 99, ..params() },
            PriceGuardParams { max_move_bps: 10_001, ..params() },
            PriceGuardParams { cooldown_secs: 0, ..params() },
            PriceGuardParams { cooldown_secs: 86_401, ..params() },
        ] {
            assert_eq!(validate_price_guard_params(&p), Err(ParamError::PriceGuard), "{p:?}");
        }
        assert_eq!(observe_price(&PriceGuardState::default(), 0, T0, &params()), Err(RiskError::OracleNonPositive));
    }

    proptest! {
        #[test]
        fn moves_within_the_limit_never_trip(p0 in 1_000u128..1_000_000 * WAD, bps in 0u128..=1_000, up: bool, dt in 0i64..1_000) {
            let delta = p0 * bps / 10_000;
            let p = if up { p0 + delta } else { p0 - delta };
            let (s, tripped) = observe_price(&observed(p0), p, T0 + dt, &params()).unwrap();
            prop_assert!(!tripped);
            prop_assert!(!is_reduce_only(&s, T0 + dt));
        }

        #[test]
        fn extreme_inputs_never_panic(start: i64, reference: u128, until: i64, price: u128, now: i64, window: u32, max_move: u32, cooldown: u32) {
            let s = PriceGuardState { window_start_ts: start, window_start_price_wad: reference, reduce_only_until_ts: until };
            let p = PriceGuardParams { window_secs: window, max_move_bps: max_move, cooldown_secs: cooldown };
            if let Ok((next, tripped)) = observe_price(&s, price, now, &p) {
                prop_assert!(next.reduce_only_until_ts >= s.reduce_only_until_ts);
                if tripped { prop_assert!(is_reduce_only(&next, now) || now == i64::MAX || cooldown == 0) }
            }
        }
    }
}
