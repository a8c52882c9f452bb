//! Outflow limiter (EIP-7265 style): caps a market's net outflow over a rolling window.
//!
//! Withdrawals and borrows are outflows; deposits and repayments are inflows. Net
//! outflow may not exceed `capacity = max_outflow_bps * total_deposits` (deposits at the
//! time of the check, rounded down). Instead of a list of past outflows, the window is a
//! bucket that drains linearly: net outflow falls by `capacity * elapsed / window`, so
//! after a full window with no outflow the bucket is empty and a whole capacity passes
//! again. O(1) state, and funds are never locked for good:
//!
//! - every window frees a full capacity, and a stored net outflow above the current
//!   capacity (deposits fell since) is first cut down to it, so one window always suffices;
//! - an outflow of at most `small_outflow_threshold` passes even past capacity, so the
//!   last few units of a market whose capacity rounds to zero still come out;
//! - inflows always pass and make room at once.
//!
//! Small outflows are still counted, but only up to the capacity: they can fill the
//! bucket, never overfill it, so a stream of them cannot push the next large withdrawal
//! further out than one window. What passes past capacity is counted in a second bucket,
//! the exemption, which holds at most [`EXEMPT_SMALL_OUTFLOWS_PER_WINDOW`] thresholds and
//! drains over the window as the first does: a large outflow split into many small ones
//! gets no further than capacity plus that allowance per window.

use crate::fixed::{apply_bps, mul_div, Rounding};
use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Window bounds: a minute to a week.
pub const MIN_OUTFLOW_WINDOW_SECS: u32 = 60;
pub const MAX_OUTFLOW_WINDOW_SECS: u32 = 7 * 86_400;
/// Smallest share of deposits that must be able to leave per window: 1%. A tighter
/// limit would make a bank run a lock-up.
pub const MIN_OUTFLOW_BPS: u32 = 100;
/// Above 100% of deposits the limiter limits nothing.
pub const MAX_OUTFLOW_BPS: u32 = 10_000;
/// Past capacity, small outflows pass up to this many thresholds per window.
pub const EXEMPT_SMALL_OUTFLOWS_PER_WINDOW: u64 = 10;

/// Governance settings of one market's limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutflowParams {
    /// Length of the rolling window, in seconds.
    pub window_secs: u32,
    /// Largest net outflow per window, in bps of the market's total deposits.
    pub max_outflow_bps: u32,
    /// Outflows of at most this many base units always pass (at least 1).
    pub small_outflow_threshold: u64,
}

/// One market's limiter state. All zero is an empty bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutflowState {
    /// Net outflow in the bucket, in base units, as of `last_update_ts`.
    pub net_outflow: u64,
    /// Small outflows that passed past capacity, as of `last_update_ts`.
    pub exempt_outflow: u64,
    /// When the buckets last drained.
    pub last_update_ts: i64,
}

pub fn validate_outflow_params(p: &OutflowParams) -> Result<(), ParamError> {
    let ok = (MIN_OUTFLOW_WINDOW_SECS..=MAX_OUTFLOW_WINDOW_SECS).contains(&p.window_secs)
        && (MIN_OUTFLOW_BPS..=MAX_OUTFLOW_BPS).contains(&p.max_outflow_bps)
        && p.small_outflow_threshold >= 1;
    ok.then_some(()).ok_or(ParamError::Outflow)
}

/// Largest net outflow per window with `total_deposits` in the market (rounded down).
pub fn capacity(total_deposits: u64, params: &OutflowParams) -> RiskResult<u64> {
    let cap = apply_bps(u128::from(total_deposits), u128::from(params.max_outflow_bps), Rounding::Down)?;
    // At most total_deposits for a valid limit; saturate rather than fail otherwise.
    Ok(u64::try_from(cap).unwrap_or(u64::MAX))
}

/// Most small outflows that may pass past capacity per window.
pub fn exempt_allowance(params: &OutflowParams) -> u64 {
    params.small_outflow_threshold.saturating_mul(EXEMPT_SMALL_OUTFLOWS_PER_WINDOW)
}

/// `bucket` cut to `cap`, then drained by `cap * elapsed / window` (rounded down, so
/// room frees no faster than the limit says).
fn drain(bucket: u64, cap: u64, elapsed: i128, window: u32) -> RiskResult<u64> {
    let window = u128::from(window);
    let drain = if elapsed >= window as i128 {
        u128::from(cap)
    } else {
        mul_div(u128::from(cap), elapsed as u128, window, Rounding::Down)?
    };
    Ok(u128::from(bucket.min(cap)).saturating_sub(drain) as u64)
}

/// Both buckets at `now`, each drained at its own capacity per window. A clock that
/// went backwards drains nothing and does not move `last_update_ts` back.
fn drained(state: &OutflowState, cap: u64, now: i64, params: &OutflowParams) -> RiskResult<OutflowState> {
    let elapsed = (i128::from(now) - i128::from(state.last_update_ts)).max(0);
    Ok(OutflowState {
        net_outflow: drain(state.net_outflow, cap, elapsed, params.window_secs)?,
        exempt_outflow: drain(state.exempt_outflow, exempt_allowance(params), elapsed, params.window_secs)?,
        last_update_ts: now.max(state.last_update_ts),
    })
}

/// How much more may flow out at `now` before the limit.
pub fn remaining(state: &OutflowState, total_deposits: u64, now: i64, params: &OutflowParams) -> RiskResult<u64> {
    let cap = capacity(total_deposits, params)?;
    Ok(cap - drained(state, cap, now, params)?.net_outflow)
}

/// Records a withdrawal or borrow of `amount`, with `total_deposits` the market's
/// deposits before it. Fails with [`RiskError::OutflowLimitExceeded`] if it would take
/// net outflow past capacity, unless `amount <= small_outflow_threshold` and the part
/// past capacity still fits in the window's exemption.
pub fn record_outflow(
    state: &OutflowState,
    amount: u64,
    total_deposits: u64,
    now: i64,
    params: &OutflowParams,
) -> RiskResult<OutflowState> {
    let cap = capacity(total_deposits, params)?;
    let mut next = drained(state, cap, now, params)?;
    let after = next.net_outflow.saturating_add(amount);
    if after > cap && amount <= params.small_outflow_threshold {
        // The bucket fills to capacity; the rest draws on the exemption.
        let exempt = next.exempt_outflow.saturating_add(after - cap);
        if exempt > exempt_allowance(params) {
            return Err(RiskError::OutflowLimitExceeded);
        }
        next.exempt_outflow = exempt;
        next.net_outflow = cap;
    } else if after > cap {
        return Err(RiskError::OutflowLimitExceeded);
    } else {
        next.net_outflow = after;
    }
    Ok(next)
}

/// Records a deposit or repayment of `amount`: always passes and frees room at once.
/// It needs no clock: draining later by elapsed time gives the same bucket as draining
/// now (or a fuller one, when the stored outflow is above capacity), never an emptier one.
pub fn record_inflow(state: &OutflowState, amount: u64) -> OutflowState {
    OutflowState { net_outflow: state.net_outflow.saturating_sub(amount), ..*state }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    fn params() -> OutflowParams {
        // 10% of deposits per hour; up to 100 units always pass.
        OutflowParams { window_secs: 3_600, max_outflow_bps: 1_000, small_outflow_threshold: 100 }
    }

    fn state() -> OutflowState {
        OutflowState { net_outflow: 0, exempt_outflow: 0, last_update_ts: T0 }
    }

    fn bucket(net_outflow: u64, last_update_ts: i64) -> OutflowState {
        OutflowState { net_outflow, exempt_outflow: 0, last_update_ts }
    }

    #[test]
    fn blocks_past_capacity_then_frees_over_the_window() {
        let p = params();
        // 1_000_000 deposits: capacity 100_000.
        let s = record_outflow(&state(), 60_000, 1_000_000, T0, &p).unwrap();
        let s = record_outflow(&s, 40_000, 940_000, T0, &p).unwrap_or(s);
        // Capacity shrank with the deposits to 94_000: the 40_000 did not fit.
        assert_eq!(s.net_outflow, 60_000);
        assert_eq!(record_outflow(&s, 34_001, 940_000, T0, &p), Err(RiskError::OutflowLimitExceeded));
        let s = record_outflow(&s, 34_000, 940_000, T0, &p).unwrap();
        assert_eq!(s.net_outflow, 94_000);
        assert_eq!(record_outflow(&s, 1_000, 906_000, T0 + 1, &p), Err(RiskError::OutflowLimitExceeded));
        // Half a window later (capacity 90_600): cut to 90_600, drained by 45_300.
        assert_eq!(remaining(&s, 906_000, T0 + 1_800, &p), Ok(45_300));
        let s2 = record_outflow(&s, 45_300, 906_000, T0 + 1_800, &p).unwrap();
        assert_eq!(s2, bucket(90_600, T0 + 1_800));
        // A full window after the last outflow, a whole capacity passes.
        assert_eq!(remaining(&s2, 860_700, T0 + 1_800 + 3_600, &p), Ok(86_070));
    }

    #[test]
    fn small_outflows_pass_but_never_overfill() {
        let p = params();
        let full = bucket(100_000, T0);
        let s = record_outflow(&full, 100, 1_000_000, T0, &p).unwrap();
        assert_eq!(s.net_outflow, 100_000);
        assert_eq!(record_outflow(&full, 101, 1_000_000, T0, &p), Err(RiskError::OutflowLimitExceeded));
        // A market too small to have capacity still lets its last units out.
        assert_eq!(capacity(9, &p), Ok(0));
        assert_eq!(record_outflow(&state(), 9, 9, T0, &p).map(|s| s.net_outflow), Ok(0));
    }

    #[test]
    fn a_large_outflow_split_into_small_ones_gets_no_further_than_the_allowance() {
        let p = params();
        // The bucket is full: ten small outflows of 100 pass past it, the eleventh does not.
        let mut s = bucket(100_000, T0);
        for _ in 0..EXEMPT_SMALL_OUTFLOWS_PER_WINDOW {
            s = record_outflow(&s, 100, 1_000_000, T0, &p).unwrap();
        }
        assert_eq!(s.exempt_outflow, 1_000);
        assert_eq!(record_outflow(&s, 1, 1_000_000, T0, &p), Err(RiskError::OutflowLimitExceeded));
        // Both drain over the window: half of each is free after half of it.
        let half = record_outflow(&s, 100, 1_000_000, T0 + 1_800, &p).unwrap();
        assert_eq!((half.net_outflow, half.exempt_outflow), (50_100, 500));
    }

    #[test]
    fn inflows_always_pass_and_free_room() {
        let full = bucket(100_000, T0);
        let s = record_inflow(&full, 30_000);
        assert_eq!(s, bucket(70_000, T0));
        assert!(record_outflow(&s, 30_000, 1_000_000, T0, &params()).is_ok());
        assert_eq!(record_inflow(&s, u64::MAX).net_outflow, 0);
    }

    #[test]
    fn a_clock_going_backwards_drains_nothing() {
        let s = bucket(50_000, T0);
        let s2 = record_outflow(&s, 1_000, 1_000_000, T0 - 100, &params()).unwrap();
        assert_eq!(s2, bucket(51_000, T0));
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(validate_outflow_params(&params()), Ok(()));
        for p in [
            OutflowParams { window_secs: 59, ..params() },
            OutflowParams { window_secs: MAX_OUTFLOW_WINDOW_SECS + 1, ..params() },
            OutflowParams { max_outflow_bps: 99, ..params() },
            OutflowParams { max_outflow_bps: 10_001, ..params() },
            OutflowParams { small_outflow_threshold: 0, ..params() },
        ] {
            assert_eq!(validate_outflow_params(&p), Err(ParamError::Outflow), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn after_a_quiet_window_any_amount_within_capacity_passes(
            net: u64, last in T0 - 1_000_000..T0, deposits: u64, frac in 0u64..=10_000, extra in 0i64..1_000_000,
            window in MIN_OUTFLOW_WINDOW_SECS..=MAX_OUTFLOW_WINDOW_SECS, bps in MIN_OUTFLOW_BPS..=MAX_OUTFLOW_BPS,
        ) {
            let p = OutflowParams { window_secs: window, max_outflow_bps: bps, small_outflow_threshold: 1 };
            let cap = capacity(deposits, &p).unwrap();
            let amount = (u128::from(cap) * u128::from(frac) / 10_000) as u64;
            let now = last + i64::from(window) + extra;
            let s = bucket(net, last);
            prop_assert!(record_outflow(&s, amount, deposits, now, &p).is_ok());
        }

        #[test]
        fn net_outflow_never_exceeds_capacity_once_recorded(
            ops in prop::collection::vec((any::<bool>(), 0u64..200_000, 0i64..2_000), 1..40),
        ) {
            let p = params();
            let deposits = 1_000_000;
            let mut s = state();
            let mut now = T0;
            for (out, amount, step) in ops {
                now += step;
                s = if out { record_outflow(&s, amount, deposits, now, &p).unwrap_or(s) } else { record_inflow(&s, amount) };
                prop_assert!(s.net_outflow <= capacity(deposits, &p).unwrap());
            }
        }

        #[test]
        fn small_outflows_take_no_more_than_capacity_and_the_allowance_per_window(
            amounts in prop::collection::vec(1u64..=100, 1..2_000), start in 0u64..200_000,
        ) {
            // Every outflow is small and all happen in the same second.
            let p = params();
            let deposits = 1_000_000;
            let mut s = bucket(start, T0);
            let mut passed = 0u64;
            for amount in amounts {
                if let Ok(next) = record_outflow(&s, amount, deposits, T0, &p) {
                    passed += amount;
                    s = next;
                }
            }
            let cap = capacity(deposits, &p).unwrap();
            prop_assert!(passed <= cap - start.min(cap) + exempt_allowance(&p));
        }

        #[test]
        fn extreme_inputs_never_panic(net: u64, last: i64, amount: u64, deposits: u64, now: i64, window: u32, bps: u32, small: u64) {
            let s = bucket(net, last);
            let p = OutflowParams { window_secs: window, max_outflow_bps: bps, small_outflow_threshold: small };
            let _ = record_outflow(&s, amount, deposits, now, &p);
            let _ = remaining(&s, deposits, now, &p);
        }
    }
}
