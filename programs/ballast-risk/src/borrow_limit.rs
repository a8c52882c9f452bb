//! A market's borrow limit in quote value per window (Mango v4's net borrow limit).
//!
//! Net borrows (borrows minus repayments, in base units) are counted per fixed window
//! (`window_start = now - now % window_secs`) and, at each borrow, valued at the price
//! the borrow is checked with: past `limit_usd` whole quote units the borrow fails with
//! [`RiskError::BorrowLimitExceeded`]. The outflow limiter bounds what leaves in tokens
//! relative to the market's deposits; this bounds, in dollars, how fast debt in the
//! market can be opened, so a collateral pumped elsewhere cannot be turned into
//! unlimited loans of this market within one window.

use crate::fixed::WAD;
use crate::oracle::value_of;
use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Window bounds when a limit is set: a minute to a week.
pub const MIN_BORROW_WINDOW_SECS: u32 = 60;
pub const MAX_BORROW_WINDOW_SECS: u32 = 7 * 86_400;

/// Governance's settings of one market's borrow limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BorrowLimitParams {
    pub window_secs: u32,
    /// Largest net borrows per window, in whole quote units (USD); 0: no limit.
    pub limit_usd: u64,
}

/// Net borrows of the current window. All zero: nothing borrowed yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BorrowWindowState {
    pub window_start_ts: i64,
    /// Base units borrowed minus repaid in the window (never below zero).
    pub net_borrows: u64,
}

/// No limit, or a window within its bounds.
pub fn validate_borrow_limit_params(p: &BorrowLimitParams) -> Result<(), ParamError> {
    let ok = p.limit_usd == 0 || (MIN_BORROW_WINDOW_SECS..=MAX_BORROW_WINDOW_SECS).contains(&p.window_secs);
    ok.then_some(()).ok_or(ParamError::BorrowLimit)
}

/// The limit as a number that grows as it loosens (no limit is the loosest).
pub fn effective_limit(limit_usd: u64) -> u64 {
    if limit_usd == 0 {
        u64::MAX
    } else {
        limit_usd
    }
}

/// The state at `now`: a new window starts empty.
fn rolled(state: &BorrowWindowState, now: i64, params: &BorrowLimitParams) -> BorrowWindowState {
    let window = i64::from(params.window_secs.max(1));
    let start = now - now.rem_euclid(window);
    if start > state.window_start_ts {
        BorrowWindowState { window_start_ts: start, net_borrows: 0 }
    } else {
        *state
    }
}

/// Counts a borrow of `amount` base units priced at `price_wad` (WAD quote per base
/// unit, the liability side); `BorrowLimitExceeded` when the window's net borrows would
/// then be worth more than the limit.
pub fn record_borrow(
    state: &BorrowWindowState,
    amount: u64,
    price_wad: u128,
    now: i64,
    params: &BorrowLimitParams,
) -> RiskResult<BorrowWindowState> {
    let mut next = rolled(state, now, params);
    next.net_borrows = next.net_borrows.checked_add(amount).ok_or(RiskError::MathOverflow)?;
    if params.limit_usd != 0 {
        let value = value_of(u128::from(next.net_borrows), price_wad)?;
        if value > u128::from(params.limit_usd) * WAD {
            return Err(RiskError::BorrowLimitExceeded);
        }
    }
    Ok(next)
}

/// Counts a repayment of `amount` base units: frees room in the current window.
pub fn record_repay(state: &BorrowWindowState, amount: u64, now: i64, params: &BorrowLimitParams) -> BorrowWindowState {
    let mut next = rolled(state, now, params);
    next.net_borrows = next.net_borrows.saturating_sub(amount);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000 - 1_750_000_000 % 3_600;
    const P: BorrowLimitParams = BorrowLimitParams { window_secs: 3_600, limit_usd: 1_000 };
    /// $2 per base unit.
    const PRICE: u128 = 2 * WAD;

    #[test]
    fn the_limit_is_in_dollars_per_window() {
        let s = BorrowWindowState::default();
        let s = record_borrow(&s, 400, PRICE, T0 + 10, &P).unwrap();
        assert_eq!(s, BorrowWindowState { window_start_ts: T0, net_borrows: 400 });
        // 500 units = $1,000: at the limit; one more is over.
        let s = record_borrow(&s, 100, PRICE, T0 + 20, &P).unwrap();
        assert_eq!(record_borrow(&s, 1, PRICE, T0 + 30, &P), Err(RiskError::BorrowLimitExceeded));
        // A repayment frees room; at a lower price more units fit.
        let repaid = record_repay(&s, 50, T0 + 40, &P);
        assert_eq!(record_borrow(&repaid, 50, PRICE, T0 + 50, &P).map(|s| s.net_borrows), Ok(500));
        assert!(record_borrow(&s, 500, WAD, T0 + 30, &P).is_ok());
        // The next window starts empty.
        let next = record_borrow(&s, 500, PRICE, T0 + 3_600, &P).unwrap();
        assert_eq!(next, BorrowWindowState { window_start_ts: T0 + 3_600, net_borrows: 500 });
    }

    #[test]
    fn no_limit_counts_but_never_refuses() {
        let p = BorrowLimitParams { limit_usd: 0, ..P };
        let s = record_borrow(&BorrowWindowState::default(), u64::MAX, u128::MAX, T0, &p);
        assert_eq!(s.map(|s| s.net_borrows), Ok(u64::MAX));
        assert_eq!(validate_borrow_limit_params(&BorrowLimitParams { window_secs: 0, limit_usd: 0 }), Ok(()));
        assert_eq!(validate_borrow_limit_params(&P), Ok(()));
        for window_secs in [0, MIN_BORROW_WINDOW_SECS - 1, MAX_BORROW_WINDOW_SECS + 1] {
            let p = BorrowLimitParams { window_secs, ..P };
            assert_eq!(validate_borrow_limit_params(&p), Err(ParamError::BorrowLimit));
        }
        assert_eq!(effective_limit(0), u64::MAX);
    }

    proptest! {
        #[test]
        fn net_borrows_never_exceed_the_limit(steps in prop::collection::vec((0u64..2_000, 0i64..600, any::<bool>()), 1..40)) {
            let mut s = BorrowWindowState::default();
            let mut now = T0;
            for (amount, dt, repay) in steps {
                now += dt;
                s = if repay { record_repay(&s, amount, now, &P) } else { record_borrow(&s, amount, PRICE, now, &P).unwrap_or(s) };
                prop_assert!(u128::from(s.net_borrows) * PRICE <= u128::from(P.limit_usd) * WAD);
            }
        }
    }
}
