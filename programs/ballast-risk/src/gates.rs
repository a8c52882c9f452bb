//! Per-instruction gates: one bit per family of user and keeper instructions. The admin
//! sets a standing mask; the guardian ORs a mask of its own on top for a time-boxed trip
//! (see [`crate::guardian`]). An instruction runs only while its bit is clear in both.
//!
//! Who may set which bit:
//! - the admin: any defined bit, liquidations included (to stop a faulty liquidation
//!   path; the admin is trusted with listings and parameters anyway);
//! - the guardian: any defined bit except [`LIQUIDATE`] and [`REPAY`]: liquidations keep
//!   running through a guardian trip, and so must repayments, or borrowers could not
//!   defend themselves against those liquidations;
//! - nobody: an undefined bit, so a later family never starts out paused.
//!
//! Repayments are never paused while liquidations run ([`repay_without_liquidate`]):
//! a borrower must always be able to defend an account a liquidator may take.
//!
//! Setting a bit tightens, clearing one loosens ([`change_kind`] classifies a change of
//! the admin's mask bit by bit with [`crate::governance::direction::RESTRICTION_FLAG`]).

use crate::governance::{classify, direction, ChangeKind, FieldChange};

pub const DEPOSIT: u64 = 1 << 0;
pub const WITHDRAW: u64 = 1 << 1;
pub const BORROW: u64 = 1 << 2;
pub const REPAY: u64 = 1 << 3;
pub const LIQUIDATE: u64 = 1 << 4;
/// stake, increase_stake, extend_lock.
pub const STAKE: u64 = 1 << 5;
/// unstake, withdraw_stake, exit_early.
pub const UNSTAKE: u64 = 1 << 6;
/// claim_rewards, claim_market_rewards.
pub const CLAIM: u64 = 1 << 7;
pub const SWEEP_FEES: u64 = 1 << 8;
pub const BUYBACK: u64 = 1 << 9;
pub const RESOLVE_BAD_DEBT: u64 = 1 << 10;
pub const CREATE_MARGIN_ACCOUNT: u64 = 1 << 11;
/// The volatility crank.
pub const UPDATE_VOLATILITY: u64 = 1 << 12;

/// Every defined bit.
pub const ALL: u64 = (1 << 13) - 1;
/// Bits the guardian may never set.
pub const GUARDIAN_FORBIDDEN: u64 = LIQUIDATE | REPAY;

/// Whether the admin may set `mask` as its standing gates (only defined bits).
pub fn admin_mask_is_valid(mask: u64) -> bool {
    mask & !ALL == 0
}

/// Whether `gates` pause repayments while liquidations run.
pub fn repay_without_liquidate(gates: u64) -> bool {
    gates & REPAY != 0 && gates & LIQUIDATE == 0
}

/// Whether the guardian may trip with `mask`: something to pause, and only bits it may set.
pub fn guardian_mask_is_valid(mask: u64) -> bool {
    mask != 0 && mask & !(ALL & !GUARDIAN_FORBIDDEN) == 0
}

/// The gates in force: the admin's, plus the guardian's while its trip runs.
pub fn effective(admin_gates: u64, guardian_mask: u64, guardian_paused: bool) -> u64 {
    admin_gates | if guardian_paused { guardian_mask } else { 0 }
}

/// The guardian's mask after a trip with `mask`: added to a trip still running, in place
/// of one that has run out.
pub fn guardian_mask_after_trip(old_mask: u64, mask: u64, was_paused: bool) -> u64 {
    if was_paused {
        old_mask | mask
    } else {
        mask
    }
}

/// The admin's gates after the change `old -> new` is applied to the gates in force,
/// `current`: the bits the change sets are set, the bits it clears are cleared, every
/// other bit stays as it is now. With `current == old` that is `new`; a change decided
/// earlier (a timelocked loosening) clears only what it cleared then, and never undoes
/// a bit set since.
pub fn apply_change(current: u64, old: u64, new: u64) -> u64 {
    (current | (new & !old)) & !(old & !new)
}

/// Whether changing the admin's gates from `old` to `new` tightens (only sets bits),
/// loosens (clears any bit) or changes nothing.
pub fn change_kind(old: u64, new: u64) -> ChangeKind {
    let bits = (0..64).map(|i| FieldChange::new(old >> i & 1, new >> i & 1, direction::RESTRICTION_FLAG));
    classify(&bits.collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bits_are_distinct_and_all_covers_them() {
        let bits = [
            DEPOSIT,
            WITHDRAW,
            BORROW,
            REPAY,
            LIQUIDATE,
            STAKE,
            UNSTAKE,
            CLAIM,
            SWEEP_FEES,
            BUYBACK,
            RESOLVE_BAD_DEBT,
            CREATE_MARGIN_ACCOUNT,
            UPDATE_VOLATILITY,
        ];
        assert_eq!(bits.iter().fold(0, |acc, b| acc | b), ALL);
        assert_eq!(bits.iter().map(|b| b.count_ones()).sum::<u32>(), ALL.count_ones());
    }

    #[test]
    fn who_may_set_what() {
        assert!(admin_mask_is_valid(0));
        assert!(admin_mask_is_valid(ALL));
        assert!(admin_mask_is_valid(LIQUIDATE));
        assert!(!admin_mask_is_valid(1 << 13));
        assert!(guardian_mask_is_valid(BORROW | WITHDRAW));
        assert!(guardian_mask_is_valid(ALL & !GUARDIAN_FORBIDDEN));
        assert!(!guardian_mask_is_valid(0));
        assert!(!guardian_mask_is_valid(BORROW | LIQUIDATE));
        assert!(!guardian_mask_is_valid(REPAY));
        assert!(!guardian_mask_is_valid(1 << 40));
    }

    #[test]
    fn the_guardian_mask_counts_only_while_its_trip_runs() {
        assert_eq!(effective(DEPOSIT, BORROW, true), DEPOSIT | BORROW);
        assert_eq!(effective(DEPOSIT, BORROW, false), DEPOSIT);
        assert_eq!(guardian_mask_after_trip(BORROW, WITHDRAW, true), BORROW | WITHDRAW);
        assert_eq!(guardian_mask_after_trip(BORROW, WITHDRAW, false), WITHDRAW);
    }

    #[test]
    fn clearing_any_bit_loosens() {
        assert_eq!(change_kind(BORROW, BORROW), ChangeKind::NoChange);
        assert_eq!(change_kind(0, BORROW | DEPOSIT), ChangeKind::Tightening);
        assert_eq!(change_kind(BORROW, 0), ChangeKind::Loosening);
        assert_eq!(change_kind(BORROW, DEPOSIT), ChangeKind::Loosening);
    }

    #[test]
    fn a_change_applies_its_own_bits_only() {
        assert_eq!(apply_change(BORROW, BORROW, 0), 0);
        // DEPOSIT was set after the change BORROW -> 0 was decided: it stays.
        assert_eq!(apply_change(BORROW | DEPOSIT, BORROW, 0), DEPOSIT);
        assert_eq!(apply_change(DEPOSIT, 0, WITHDRAW), DEPOSIT | WITHDRAW);
    }

    proptest! {
        #[test]
        fn applying_a_change_loosens_no_more_than_it_says(current: u64, old: u64, new: u64) {
            let after = apply_change(current, old, new);
            prop_assert_eq!(apply_change(old, old, new), new);
            // Bits cleared relative to the gates in force are bits the change clears.
            prop_assert_eq!(current & !after & !(old & !new), 0);
            prop_assert_eq!(after & new & !old, new & !old);
        }

        #[test]
        fn a_change_tightens_exactly_when_it_only_adds_bits(old: u64, new: u64) {
            let kind = change_kind(old, new);
            prop_assert_eq!(kind == ChangeKind::Loosening, old & !new != 0);
            prop_assert_eq!(kind == ChangeKind::Tightening, old & !new == 0 && old != new);
        }

        #[test]
        fn the_guardian_never_pauses_liquidations_or_repayments(mask: u64, admin: u64, old: u64, was_paused: bool) {
            if guardian_mask_is_valid(mask) {
                let after = guardian_mask_after_trip(old & ALL & !GUARDIAN_FORBIDDEN, mask, was_paused);
                prop_assert_eq!(after & GUARDIAN_FORBIDDEN, 0);
                prop_assert_eq!(effective(admin, after, true) & GUARDIAN_FORBIDDEN, admin & GUARDIAN_FORBIDDEN);
            }
        }
    }
}
