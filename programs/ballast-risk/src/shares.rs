//! Conversions between token amounts and deposit/borrow shares.
//!
//! A market's deposit index and borrow index (WAD) say how many tokens one share is
//! worth; both start at 1.0 and grow as interest accrues. Rounding is always against
//! the user: fewer shares minted for a deposit, more burned for a withdrawal, more
//! debt shares for a borrow, fewer cleared by a repayment.

use crate::fixed::{mul_div, Rounding, WAD};
use crate::RiskResult;

/// Shares credited for depositing `amount` (rounded down).
pub fn deposit_shares_for(amount: u128, deposit_index: u128) -> RiskResult<u128> {
    mul_div(amount, WAD, deposit_index, Rounding::Down)
}

/// Shares burned to withdraw `amount` (rounded up).
pub fn withdraw_shares_for(amount: u128, deposit_index: u128) -> RiskResult<u128> {
    mul_div(amount, WAD, deposit_index, Rounding::Up)
}

/// Debt shares added for borrowing `amount` (rounded up).
pub fn borrow_shares_for(amount: u128, borrow_index: u128) -> RiskResult<u128> {
    mul_div(amount, WAD, borrow_index, Rounding::Up)
}

/// Debt shares cleared by repaying `amount` (rounded down).
pub fn repay_shares_for(amount: u128, borrow_index: u128) -> RiskResult<u128> {
    mul_div(amount, WAD, borrow_index, Rounding::Down)
}

/// Tokens a holder of `shares` deposit shares may withdraw (rounded down).
pub fn deposit_amount(shares: u128, deposit_index: u128) -> RiskResult<u128> {
    mul_div(shares, deposit_index, WAD, Rounding::Down)
}

/// Tokens a holder of `shares` debt shares owes (rounded up).
pub fn debt_amount(shares: u128, borrow_index: u128) -> RiskResult<u128> {
    mul_div(shares, borrow_index, WAD, Rounding::Up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Indices from 1.0 to 1000x, and socialised-loss indices below 1.0.
    fn index() -> impl Strategy<Value = u128> {
        (WAD / 100)..(1_000 * WAD)
    }

    #[test]
    fn fresh_market_is_one_to_one() {
        assert_eq!(deposit_shares_for(1_000, WAD), Ok(1_000));
        assert_eq!(deposit_amount(1_000, WAD), Ok(1_000));
        assert_eq!(borrow_shares_for(1_000, WAD), Ok(1_000));
        assert_eq!(debt_amount(1_000, WAD), Ok(1_000));
    }

    #[test]
    fn odd_index_rounds_against_the_user() {
        let idx = WAD + WAD / 3; // 1.333..
        assert_eq!(deposit_shares_for(10, idx), Ok(7)); // 7.5 -> 7
        assert_eq!(withdraw_shares_for(10, idx), Ok(8)); // 7.5 -> 8
        assert_eq!(borrow_shares_for(10, idx), Ok(8));
        assert_eq!(repay_shares_for(10, idx), Ok(7));
    }

    proptest! {
        #[test]
        fn deposit_then_withdraw_never_profits(amount in 0u128..(u64::MAX as u128), idx in index()) {
            let shares = deposit_shares_for(amount, idx).unwrap();
            let back = deposit_amount(shares, idx).unwrap();
            prop_assert!(back <= amount);
            // Withdrawing the full original amount needs at least the shares minted.
            prop_assert!(withdraw_shares_for(amount, idx).unwrap() >= shares);
        }

        #[test]
        fn borrow_then_repay_never_profits(amount in 0u128..(u64::MAX as u128), idx in index()) {
            let shares = borrow_shares_for(amount, idx).unwrap();
            prop_assert!(debt_amount(shares, idx).unwrap() >= amount);
            prop_assert!(repay_shares_for(amount, idx).unwrap() <= shares);
        }

        #[test]
        fn split_deposits_never_beat_one_deposit(a in 0u128..(u64::MAX as u128 / 2), b in 0u128..(u64::MAX as u128 / 2), idx in index()) {
            let split = deposit_shares_for(a, idx).unwrap() + deposit_shares_for(b, idx).unwrap();
            prop_assert!(split <= deposit_shares_for(a + b, idx).unwrap());
        }

        #[test]
        fn extreme_inputs_error_instead_of_panicking(amount: u128, idx: u128) {
            let _ = deposit_shares_for(amount, idx);
            let _ = withdraw_shares_for(amount, idx);
            let _ = borrow_shares_for(amount, idx);
            let _ = repay_shares_for(amount, idx);
            let _ = deposit_amount(amount, idx);
            let _ = debt_amount(amount, idx);
        }
    }
}
