//! Staking math: lock-boosted weights and per-weight reward accumulators.
//!
//! Every reward stream keeps `acc_per_weight` (WAD tokens per unit of weight). A staker
//! is owed `weight * (acc - debt)` where `debt` is the accumulator when its weight last
//! changed. Rewards that arrive in lumps (buybacks, swept fees) are not credited at
//! once: they drip into the accumulator over a period, so staking just before a lump
//! and claiming just after earns only the drip for the time actually staked, and
//! staking and claiming in the same slot earns nothing. While nobody stakes the drip
//! pauses instead of piling up for the first staker. Every division rounds down, so
//! the pool always holds at least what stakers are owed.

use crate::fixed::{mul_div, Rounding, BPS, WAD};
use crate::{RiskError, RiskResult};

/// Longest lock governance may allow: four years.
pub const MAX_LOCK_SECS: u32 = 4 * 365 * 86_400;
/// Largest extra weight at the longest lock: 4x (weight up to 5x the amount).
pub const MAX_LOCK_BOOST_BPS: u32 = 40_000;
/// Longest unstake cooldown: 30 days.
pub const MAX_COOLDOWN_SECS: u32 = 30 * 86_400;
/// Longest drip period for lump rewards: 30 days.
pub const MAX_DRIP_SECS: u32 = 30 * 86_400;
/// Largest early-exit penalty: 50%.
pub const MAX_EXIT_PENALTY_BPS: u32 = 5_000;

/// Lock rules set by governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockParams {
    pub min_lock_secs: u32,
    pub max_lock_secs: u32,
    /// Extra weight at `max_lock_secs`, in bps of the amount.
    pub max_boost_bps: u32,
}

impl LockParams {
    pub fn is_valid(&self) -> bool {
        0 < self.min_lock_secs
            && self.min_lock_secs <= self.max_lock_secs
            && self.max_lock_secs <= MAX_LOCK_SECS
            && self.max_boost_bps <= MAX_LOCK_BOOST_BPS
    }
}

/// `amount * (1 + boost * lock / max_lock)`, rounded down. `lock_secs` is clamped to
/// `max_lock_secs`; callers check the minimum.
pub fn stake_weight(amount: u64, lock_secs: u64, params: &LockParams) -> RiskResult<u128> {
    let max_lock = u128::from(params.max_lock_secs.max(1));
    let lock = u128::from(lock_secs).min(max_lock);
    let boost = mul_div(u128::from(params.max_boost_bps), lock, max_lock, Rounding::Down)?;
    mul_div(u128::from(amount), BPS + boost, BPS, Rounding::Down)
}

/// Tokens owed for `weight` since the accumulator stood at `debt`, rounded down.
pub fn earned(weight: u128, acc_per_weight: u128, debt: u128) -> RiskResult<u128> {
    let delta = acc_per_weight.checked_sub(debt).ok_or(RiskError::MathOverflow)?;
    mul_div(weight, delta, WAD, Rounding::Down)
}

/// The accumulator after crediting `amount` tokens to `total_weight` at once (used for
/// emissions, which accrue continuously). Callers do not credit when nobody stakes.
pub fn credit(acc_per_weight: u128, amount: u128, total_weight: u128) -> RiskResult<u128> {
    let per_weight = mul_div(amount, WAD, total_weight, Rounding::Down)?;
    acc_per_weight.checked_add(per_weight).ok_or(RiskError::MathOverflow)
}

/// A penalty of `bps` on `amount`, rounded up (against the user leaving early).
pub fn penalty(amount: u64, bps: u32) -> RiskResult<u64> {
    let p = mul_div(u128::from(amount), u128::from(bps), BPS, Rounding::Up)?;
    Ok(p.min(u128::from(amount)) as u64)
}

/// One reward stream: its accumulator and the lump rewards still dripping into it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drip {
    /// WAD tokens credited per unit of weight since the stream began.
    pub acc_per_weight: u128,
    /// Tokens received but not yet credited.
    pub undripped: u64,
    /// When the undripped tokens will all have been credited.
    pub drip_end: i64,
    pub last_update: i64,
}

impl Drip {
    /// Credits the share of undripped tokens due since the last update to
    /// `total_weight`. With no weight the schedule pauses. Returns the tokens credited.
    pub fn advance(&mut self, now: i64, total_weight: u128) -> RiskResult<u64> {
        if now <= self.last_update {
            return Ok(0);
        }
        let elapsed = now - self.last_update;
        if total_weight == 0 {
            if self.undripped > 0 {
                self.drip_end = self.drip_end.checked_add(elapsed).ok_or(RiskError::MathOverflow)?;
            }
            self.last_update = now;
            return Ok(0);
        }
        let mut released = 0u64;
        if self.undripped > 0 && self.drip_end > self.last_update {
            let due = now.min(self.drip_end) - self.last_update;
            let left = self.drip_end - self.last_update;
            released = mul_div(u128::from(self.undripped), due as u128, left as u128, Rounding::Down)? as u64;
            self.acc_per_weight = credit(self.acc_per_weight, u128::from(released), total_weight)?;
            self.undripped -= released;
        }
        self.last_update = now;
        Ok(released)
    }

    /// Adds `amount` lump tokens, which (with any still undripped) drip over the next
    /// `drip_secs` seconds.
    pub fn add(&mut self, amount: u64, now: i64, drip_secs: u32, total_weight: u128) -> RiskResult<()> {
        self.advance(now, total_weight)?;
        self.undripped = self.undripped.checked_add(amount).ok_or(RiskError::MathOverflow)?;
        self.drip_end = now.checked_add(i64::from(drip_secs.max(1))).ok_or(RiskError::MathOverflow)?;
        self.last_update = self.last_update.max(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LOCKS: LockParams =
        LockParams { min_lock_secs: 7 * 86_400, max_lock_secs: 365 * 86_400, max_boost_bps: 10_000 };

    #[test]
    fn weight_grows_with_the_lock() {
        assert_eq!(stake_weight(1_000, 0, &LOCKS).unwrap(), 1_000);
        assert_eq!(stake_weight(1_000, 365 * 86_400 / 2, &LOCKS).unwrap(), 1_500);
        assert_eq!(stake_weight(1_000, 365 * 86_400, &LOCKS).unwrap(), 2_000);
        // Longer than the maximum counts as the maximum.
        assert_eq!(stake_weight(1_000, 10 * 365 * 86_400, &LOCKS).unwrap(), 2_000);
        // Rounded down.
        assert_eq!(stake_weight(3, 365 * 86_400 / 2, &LOCKS).unwrap(), 4);
    }

    #[test]
    fn drip_credits_linearly_and_pauses_without_stakers() {
        let mut d = Drip { last_update: 0, ..Drip::default() };
        d.add(1_000, 0, 100, 10).unwrap();
        assert_eq!(d.advance(25, 10).unwrap(), 250);
        assert_eq!(earned(10, d.acc_per_weight, 0).unwrap(), 250);
        // Nobody staked from 25 to 75: the schedule moves 50 s later.
        assert_eq!(d.advance(75, 0).unwrap(), 0);
        assert_eq!(d.drip_end, 150);
        assert_eq!(d.advance(150, 10).unwrap(), 750);
        assert_eq!(d.undripped, 0);
        assert_eq!(earned(10, d.acc_per_weight, 0).unwrap(), 1_000);
        // Same timestamp twice credits nothing.
        d.add(500, 150, 100, 10).unwrap();
        assert_eq!(d.advance(150, 10).unwrap(), 0);
    }

    #[test]
    fn adding_restarts_the_period_for_what_is_left() {
        let mut d = Drip::default();
        d.add(1_000, 0, 100, 1).unwrap();
        d.advance(50, 1).unwrap();
        d.add(500, 50, 100, 1).unwrap();
        assert_eq!((d.undripped, d.drip_end), (1_000, 150));
        assert_eq!(d.advance(100, 1).unwrap(), 500);
    }

    #[test]
    fn penalty_rounds_up_and_never_exceeds_the_amount() {
        assert_eq!(penalty(1_001, 1_000).unwrap(), 101);
        assert_eq!(penalty(5, 10_000).unwrap(), 5);
        assert_eq!(penalty(0, 1_000).unwrap(), 0);
    }

    proptest! {
        #[test]
        fn weight_is_monotone_in_amount_and_lock(
            a in 0u64..u64::MAX / 8, b in 0u64..u64::MAX / 8,
            l1 in 0u64..400 * 86_400, l2 in 0u64..400 * 86_400,
        ) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(stake_weight(lo, l1, &LOCKS).unwrap() <= stake_weight(hi, l1, &LOCKS).unwrap());
            let (s, l) = (l1.min(l2), l1.max(l2));
            prop_assert!(stake_weight(a, s, &LOCKS).unwrap() <= stake_weight(a, l, &LOCKS).unwrap());
            prop_assert!(stake_weight(a, l, &LOCKS).unwrap() >= u128::from(a));
        }

        /// Whatever the schedule and the stakers, the stakers are never owed more than
        /// the stream received.
        #[test]
        fn payouts_never_exceed_rewards(
            lumps in proptest::collection::vec((1u64..1_000_000_000, 1i64..10_000), 1..8),
            weights in proptest::collection::vec(1u128..1_000_000_000_000, 1..5),
            drip_secs in 1u32..50_000,
        ) {
            let total: u128 = weights.iter().sum();
            let mut d = Drip::default();
            let (mut now, mut received) = (0i64, 0u128);
            for (amount, gap) in lumps {
                now += gap;
                d.add(amount, now, drip_secs, total).unwrap();
                received += u128::from(amount);
            }
            d.advance(now + i64::from(drip_secs), total).unwrap();
            prop_assert_eq!(d.undripped, 0);
            let paid: u128 = weights.iter().map(|w| earned(*w, d.acc_per_weight, 0).unwrap()).sum();
            prop_assert!(paid <= received);
            // Rounding loses at most one unit per staker per credit.
            prop_assert!(received - paid <= (weights.len() as u128) * 16);
        }
    }
}
