use anchor_lang::prelude::*;
use ballast_risk::staking::{weight_at, LockParams};
use ballast_risk::RiskResult;

use super::pod::PodU128;
use crate::constants::REWARD_STREAMS;

/// A staker's locked native tokens (PDA `["stake", protocol, owner]`).
#[account(zero_copy)]
#[derive(Debug)]
pub struct StakeEscrow {
    /// At byte 8, for getProgramAccounts filters.
    pub owner: Pubkey,
    /// At byte 40, for getProgramAccounts filters.
    pub protocol: Pubkey,
    /// Native tokens locked, or cooling down after `unstake`.
    pub amount: u64,
    /// The weight at `checkpoint_ts`: `amount * (1 + boost * lock left / max_lock)`, the
    /// bare amount after the lock ended, zero while cooling down. It only decays between
    /// checkpoints (every staking instruction, and `poke_stake`).
    pub weight: PodU128,
    /// When the current lock was set (stake, extend_lock).
    pub lock_start: i64,
    pub lock_end: i64,
    /// When a requested unstake may be withdrawn; 0 while none is pending.
    pub cooldown_end: i64,
    /// Each stream's accumulator when this escrow was last settled.
    pub reward_debt: [PodU128; REWARD_STREAMS],
    /// Rewards settled but not yet claimed, per stream.
    pub rewards_owed: [u64; REWARD_STREAMS],
    pub bump: u8,
    pub _padding: [u8; 7],
    /// When `weight` was last computed.
    pub checkpoint_ts: i64,
    /// Room for later state without a migration.
    pub _reserved: [u64; 7],
}

pub const STAKE_ESCROW_SIZE: usize = 8 + 2 * 32 + 8 + 16 + 3 * 8 + REWARD_STREAMS * (16 + 8) + 8 + 8 + 7 * 8;
const _: () = assert!(8 + core::mem::size_of::<StakeEscrow>() == STAKE_ESCROW_SIZE);
const _: () = assert!(STAKE_ESCROW_SIZE == 600);

impl StakeEscrow {
    pub fn is_cooling_down(&self) -> bool {
        self.cooldown_end != 0
    }

    /// The weight at `now` (see `ballast_risk::staking::weight_at`): nothing while
    /// cooling down; the program stores it at every checkpoint.
    pub fn weight_at(&self, locks: &LockParams, now: i64) -> RiskResult<u128> {
        if self.is_cooling_down() {
            return Ok(0);
        }
        weight_at(self.amount, self.lock_end, now, locks)
    }

    pub fn has_unclaimed_rewards(&self) -> bool {
        self.rewards_owed.iter().any(|owed| *owed != 0)
    }
}
