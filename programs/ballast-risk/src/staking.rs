//! Staking math: lock-boosted weights that decay as the lock runs down, per-weight
//! reward accumulators, and the early-exit penalty.
//!
//! An escrow weighs `amount * (1 + boost * remaining / max_lock)` ([`weight_at`]): the
//! boost falls linearly to nothing as the lock runs down (as veCRV's voting power
//! does), and after the lock ends the escrow weighs its bare amount until it unstakes.
//!
//! Weights are checkpointed, not integrated: each escrow stores the weight it had when
//! last touched (every staking instruction, or a permissionless `poke`), and the
//! protocol's total weight is exactly the sum of the stored weights, so the pool never
//! owes more than it received. Between checkpoints an escrow earns with its stored
//! weight, which can only be above its true one. If every escrow is checkpointed at
//! least every `P` seconds, each staker's rewards over any period are within a relative
//! [`reward_error_bound_bps`] `= max_boost * P / max_lock` of its exact share under
//! continuous decay (plus rounding): its stored weight exceeds its true one by at most
//! that fraction, and so does the total. (veCRV's alternative, a slope/bias total exact
//! at every moment, needs a schedule of slope changes at every future lock end, walked
//! on every update, and still has no integer closed form for a reward rate divided by a
//! decaying total.)
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

/// `amount * (1 + boost * remaining / max_lock)`, rounded down, for `remaining_secs` of
/// lock left. Longer than `max_lock_secs` counts as the maximum; callers check the
/// minimum.
pub fn stake_weight(amount: u64, remaining_secs: u64, params: &LockParams) -> RiskResult<u128> {
    let max_lock = u128::from(params.max_lock_secs.max(1));
    let lock = u128::from(remaining_secs).min(max_lock);
    // One division: the boost is exact before the weight is rounded down.
    let scaled = u128::from(amount)
        .checked_mul(BPS * max_lock + u128::from(params.max_boost_bps) * lock)
        .ok_or(RiskError::MathOverflow)?;
    Ok(scaled / (BPS * max_lock))
}

/// The weight at `now` of `amount` locked until `lock_end`: it decays as the lock runs
/// down and is the bare amount once the lock has ended. Never rises with `now`.
pub fn weight_at(amount: u64, lock_end: i64, now: i64, params: &LockParams) -> RiskResult<u128> {
    let remaining = u64::try_from(lock_end.saturating_sub(now)).unwrap_or(0);
    stake_weight(amount, remaining, params)
}

/// The most weight `amount` can lose by decay in `elapsed` seconds, rounded up: how far
/// an escrow checkpointed `elapsed` seconds ago can stand above its true weight.
pub fn max_decay(amount: u64, elapsed: u64, params: &LockParams) -> RiskResult<u128> {
    let max_lock = u128::from(params.max_lock_secs.max(1));
    let elapsed = u128::from(elapsed).min(max_lock);
    let boost = u128::from(amount).checked_mul(u128::from(params.max_boost_bps)).ok_or(RiskError::MathOverflow)?;
    // +1: the two weights are each rounded down.
    Ok(mul_div(boost, elapsed, BPS * max_lock, Rounding::Up)? + 1)
}

/// The relative bound, in bps, on any staker's reward error when every escrow is
/// checkpointed at least every `poke_interval_secs` (see the module docs), rounded up.
pub fn reward_error_bound_bps(poke_interval_secs: u64, params: &LockParams) -> RiskResult<u128> {
    let max_lock = u128::from(params.max_lock_secs.max(1));
    let interval = u128::from(poke_interval_secs).min(max_lock);
    mul_div(u128::from(params.max_boost_bps), interval, max_lock, Rounding::Up)
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

/// Bounds on the early-exit penalty, whatever the time left (set by governance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitPenaltyBounds {
    /// Least penalty, however little of the lock is left (leaving early skips the
    /// cooldown, so it is never free).
    pub floor_bps: u32,
    /// Most penalty, however much of the lock is left.
    pub cap_bps: u32,
}

impl ExitPenaltyBounds {
    pub fn is_valid(&self) -> bool {
        self.floor_bps <= self.cap_bps && self.cap_bps <= MAX_EXIT_PENALTY_BPS
    }
}

/// The early-exit penalty rate: the regime's `regime_bps` scaled by the share of the
/// lock still to run (`remaining_secs` of `lock_secs`, rounded up), within `bounds`.
/// Monotone in the time left.
pub fn exit_penalty_bps(
    regime_bps: u32,
    remaining_secs: u64,
    lock_secs: u64,
    bounds: &ExitPenaltyBounds,
) -> RiskResult<u32> {
    let lock = lock_secs.max(1);
    let remaining = remaining_secs.min(lock);
    let scaled = mul_div(u128::from(regime_bps), u128::from(remaining), u128::from(lock), Rounding::Up)?;
    // `scaled <= regime_bps`, a u32.
    Ok((scaled as u32).clamp(bounds.floor_bps, bounds.cap_bps.max(bounds.floor_bps)))
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
    fn weight_decays_to_the_bare_amount_at_the_lock_end() {
        let year = 365 * 86_400;
        assert_eq!(weight_at(1_000, year, 0, &LOCKS).unwrap(), 2_000);
        assert_eq!(weight_at(1_000, year, year / 4, &LOCKS).unwrap(), 1_750);
        assert_eq!(weight_at(1_000, year, year, &LOCKS).unwrap(), 1_000);
        assert_eq!(weight_at(1_000, year, 3 * year, &LOCKS).unwrap(), 1_000);
        // A quarter-year lock weighs what a year's lock weighs with a quarter left.
        assert_eq!(weight_at(1_000, year / 4, 0, &LOCKS).unwrap(), 1_250);
    }

    #[test]
    fn the_penalty_scales_with_the_time_left_within_its_bounds() {
        let bounds = ExitPenaltyBounds { floor_bps: 100, cap_bps: 2_500 };
        let day = 86_400;
        assert_eq!(exit_penalty_bps(2_000, 100 * day, 100 * day, &bounds).unwrap(), 2_000);
        assert_eq!(exit_penalty_bps(2_000, 50 * day, 100 * day, &bounds).unwrap(), 1_000);
        // 2_000 / 3 = 666.7, rounded up (against the leaver).
        assert_eq!(exit_penalty_bps(2_000, day, 3 * day, &bounds).unwrap(), 667);
        // The floor when little is left, the cap when the regime's rate is above it.
        assert_eq!(exit_penalty_bps(2_000, 1, 100 * day, &bounds).unwrap(), 100);
        assert_eq!(exit_penalty_bps(3_000, 100 * day, 100 * day, &bounds).unwrap(), 2_500);
        assert!(!ExitPenaltyBounds { floor_bps: 200, cap_bps: 100 }.is_valid());
        assert!(!ExitPenaltyBounds { floor_bps: 0, cap_bps: MAX_EXIT_PENALTY_BPS + 1 }.is_valid());
    }

    #[test]
    fn the_reward_bound_is_the_boost_decayed_in_one_interval() {
        // Up to 1x boost over a year's max lock, poked daily: 10_000 / 365 = 27.4 bps.
        assert_eq!(reward_error_bound_bps(86_400, &LOCKS).unwrap(), 28);
        assert_eq!(reward_error_bound_bps(0, &LOCKS).unwrap(), 0);
        assert_eq!(max_decay(1_000_000, 365 * 86_400 / 2, &LOCKS).unwrap(), 500_001);
    }

    #[test]
    fn a_boost_never_checkpointed_is_caught_by_the_bound() {
        // The checker below is not vacuous: a one-year lock whose boost is never
        // checkpointed earns well beyond the daily-poke bound against a bare stake.
        let year = 365 * 86_400;
        let stakers = [(1_000_000_000, year, year), (1_000_000_000, 0, 86_400)];
        let (paid, exact) = simulate_checkpoints(&stakers, 1_000_000, year, &LOCKS);
        let bound = reward_error_bound_bps(86_400, &LOCKS).unwrap() as f64 / BPS as f64;
        assert!((paid[0] as f64 - exact[0]).abs() > 10.0 * bound * exact[0]);
    }

    /// Every staker stakes `amount` at 0 until `lock_end` and is checkpointed every
    /// `poke_every` seconds; `rate` tokens a second are credited to the stored total
    /// until `horizon`. Returns what each was paid (the engine's checkpointed weights)
    /// and what each would get under continuous decay (a midpoint integral in f64,
    /// written independently of the engine).
    fn simulate_checkpoints(
        stakers: &[(u64, i64, i64)],
        rate: u64,
        horizon: i64,
        params: &LockParams,
    ) -> (Vec<u128>, Vec<f64>) {
        let n = stakers.len();
        let mut stored: Vec<u128> = stakers.iter().map(|s| weight_at(s.0, s.1, 0, params).unwrap()).collect();
        let mut total: u128 = stored.iter().sum();
        let (mut debt, mut paid, mut next) = (vec![0u128; n], vec![0u128; n], vec![0i64; n]);
        let (mut acc, mut last) = (0u128, 0i64);
        for (i, s) in stakers.iter().enumerate() {
            next[i] = s.2.min(horizon);
        }
        loop {
            let (i, t) = next.iter().copied().enumerate().min_by_key(|&(_, t)| t).unwrap();
            if t > horizon {
                break;
            }
            acc = credit(acc, u128::from(rate) * (t - last) as u128, total).unwrap();
            last = t;
            paid[i] += earned(stored[i], acc, debt[i]).unwrap();
            debt[i] = acc;
            let w = weight_at(stakers[i].0, stakers[i].1, t, params).unwrap();
            total = total - stored[i] + w;
            stored[i] = w;
            next[i] = if t == horizon { horizon + 1 } else { (t + stakers[i].2).min(horizon) };
        }
        let true_weight = |s: &(u64, i64, i64), t: f64| {
            let left = (s.1 as f64 - t).clamp(0.0, params.max_lock_secs as f64);
            s.0 as f64 * (1.0 + params.max_boost_bps as f64 / BPS as f64 * left / params.max_lock_secs as f64)
        };
        let mut exact = vec![0f64; n];
        let step = 3_600.0f64;
        let mut t = 0.0;
        while t < horizon as f64 {
            let h = step.min(horizon as f64 - t);
            let mid = t + h / 2.0;
            let weights: Vec<f64> = stakers.iter().map(|s| true_weight(s, mid)).collect();
            let sum: f64 = weights.iter().sum();
            for (e, w) in exact.iter_mut().zip(&weights) {
                *e += rate as f64 * h * w / sum;
            }
            t += h;
        }
        (paid, exact)
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

        /// Time only lowers a weight, by at most the decay bound.
        #[test]
        fn weight_never_rises_with_time(
            amount in 0u64..u64::MAX / 8, lock_end in -1_000i64..800 * 86_400,
            t1 in 0i64..800 * 86_400, dt in 0i64..800 * 86_400,
        ) {
            let (w1, w2) = (weight_at(amount, lock_end, t1, &LOCKS).unwrap(), weight_at(amount, lock_end, t1 + dt, &LOCKS).unwrap());
            prop_assert!(w2 <= w1);
            prop_assert!(w1 - w2 <= max_decay(amount, dt as u64, &LOCKS).unwrap());
            prop_assert!(w2 >= u128::from(amount));
        }

        /// The penalty never falls as more of the lock is left, and stays in its bounds.
        #[test]
        fn the_penalty_is_monotone_in_the_time_left(
            regime_bps in 0u32..=MAX_EXIT_PENALTY_BPS, floor in 0u32..=1_000, cap in 1_000u32..=MAX_EXIT_PENALTY_BPS,
            lock in 1u64..4 * 365 * 86_400, left1 in 0u64..4 * 365 * 86_400, left2 in 0u64..4 * 365 * 86_400,
        ) {
            let bounds = ExitPenaltyBounds { floor_bps: floor, cap_bps: cap };
            let (less, more) = (left1.min(left2), left1.max(left2));
            let p_less = exit_penalty_bps(regime_bps, less, lock, &bounds).unwrap();
            let p_more = exit_penalty_bps(regime_bps, more, lock, &bounds).unwrap();
            prop_assert!(p_less <= p_more);
            prop_assert!(floor <= p_less && p_more <= cap);
            prop_assert!(p_more <= regime_bps.max(floor));
        }

        /// The stated bound: with every escrow checkpointed at least every `P` seconds,
        /// each staker's rewards are within `reward_error_bound_bps(P)` of its exact
        /// share under continuous decay (plus rounding units).
        #[test]
        fn checkpointed_rewards_stay_within_the_bound(
            stakers in proptest::collection::vec((1_000_000u64..1_000_000_000_000, 0i64..400 * 86_400, 25u32..=100), 2..6),
            rate in 1_000u64..1_000_000_000,
            poke_interval in 3_600i64..30 * 86_400,
            max_boost_bps in 0u32..=MAX_LOCK_BOOST_BPS,
            max_lock_days in 30u32..=4 * 365,
        ) {
            let params = LockParams { min_lock_secs: 1, max_lock_secs: max_lock_days * 86_400, max_boost_bps };
            // Each staker's own poke period is a share of the interval.
            let stakers: Vec<_> =
                stakers.iter().map(|&(a, end, pct)| (a, end, (poke_interval * i64::from(pct) / 100).max(1))).collect();
            let horizon = 365 * 86_400;
            let (paid, exact) = simulate_checkpoints(&stakers, rate, horizon, &params);
            let bound = reward_error_bound_bps(poke_interval as u64, &params).unwrap() as f64 / BPS as f64;
            let pokes: f64 = stakers.iter().map(|s| (horizon / s.2 + 2) as f64).sum();
            for (p, e) in paid.iter().zip(&exact) {
                let err = (*p as f64 - e).abs();
                prop_assert!(err <= bound * e + 1e-6 * e + pokes, "paid {} exact {} bound {}", p, e, bound);
            }
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
