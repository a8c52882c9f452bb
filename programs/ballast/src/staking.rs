//! Staking-pool bookkeeping on `Protocol` and `StakeEscrow`. The math (decaying weights,
//! accumulators, drips, the error bound of checkpointed weights) is in
//! `ballast_risk::staking`; this moves it in and out of the zero-copy accounts.

use anchor_lang::prelude::*;
use ballast_risk::staking::{credit, earned, exit_penalty_bps, penalty};

use crate::constants::{NATIVE_STREAM, REWARD_STREAMS};
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::state::{Protocol, StakeEscrow};

/// Emissions missed while nobody called the pool are caught up for at most this long,
/// so a long-idle pool cannot overflow a single mint.
pub const MAX_EMISSION_CATCHUP_SECS: i64 = 30 * 86_400;

/// Brings every reward stream up to `now`: drips are credited to the current weight
/// and emissions since the last accrual are credited to the native stream and added to
/// `unminted_emissions` (minted by the next [`take_unminted`] caller that holds the
/// mint: a governance change accrues at the old rate without the token accounts).
pub fn accrue(protocol: &mut Protocol, now: i64) -> Result<()> {
    let total_weight = protocol.total_weight();
    for stream in 0..REWARD_STREAMS {
        advance_stream(protocol, stream, now)?;
    }
    let elapsed = now.saturating_sub(protocol.last_emission_ts).clamp(0, MAX_EMISSION_CATCHUP_SECS);
    protocol.last_emission_ts = protocol.last_emission_ts.max(now);
    // Nobody staked: nothing is minted, and nothing piles up for the first staker.
    // The rate of the regime in force: `update_volatility` accrues before it changes.
    let emitted = protocol.regime_settings()?.emission(elapsed as u64).or_ballast()?;
    if total_weight == 0 || emitted == 0 {
        return Ok(());
    }
    let native = &mut protocol.reward_streams[NATIVE_STREAM];
    native.acc_per_weight.set(credit(native.acc_per_weight.get(), u128::from(emitted), total_weight).or_ballast()?);
    protocol.unminted_emissions = protocol.unminted_emissions.checked_add(emitted).ok_or(BallastError::MathOverflow)?;
    Ok(())
}

/// Emissions credited but not yet minted, now counted in `total_emitted`: the caller
/// mints them into the reward vault.
pub fn take_unminted(protocol: &mut Protocol) -> Result<u64> {
    let due = core::mem::take(&mut protocol.unminted_emissions);
    protocol.total_emitted = protocol.total_emitted.checked_add(due).ok_or(BallastError::MathOverflow)?;
    Ok(due)
}

/// Moves what `escrow` earned on `stream` since its last settlement into its owed
/// rewards. Call after the stream was advanced to now.
fn settle_stream(escrow: &mut StakeEscrow, protocol: &Protocol, stream: usize) -> Result<()> {
    let acc = protocol.reward_streams[stream].acc_per_weight.get();
    let due = to_u64(earned(escrow.weight.get(), acc, escrow.reward_debt[stream].get()).or_ballast()?)?;
    escrow.rewards_owed[stream] = escrow.rewards_owed[stream].checked_add(due).ok_or(BallastError::MathOverflow)?;
    escrow.reward_debt[stream].set(acc);
    Ok(())
}

/// Settles every stream (see [`settle_stream`]).
pub fn settle_all(escrow: &mut StakeEscrow, protocol: &Protocol) -> Result<()> {
    (0..REWARD_STREAMS).try_for_each(|stream| settle_stream(escrow, protocol, stream))
}

/// Settles every stream, then gives `escrow` `amount` and checkpoints its weight at
/// `now`, from its lock and cooldown as they now stand, keeping the protocol's totals in
/// step. Call after [`accrue`], and after any change of the lock or cooldown. Returns
/// whether the weight changed.
pub fn restake(escrow: &mut StakeEscrow, protocol: &mut Protocol, amount: u64, now: i64) -> Result<bool> {
    settle_all(escrow, protocol)?;
    let (amount_before, weight_before) = (escrow.amount, escrow.weight.get());
    escrow.amount = amount;
    let weight = escrow.weight_at(&protocol.config.locks(), now).or_ballast()?;
    let total_weight = protocol.total_weight().checked_sub(weight_before).and_then(|w| w.checked_add(weight));
    protocol.total_weight.set(total_weight.ok_or(BallastError::MathOverflow)?);
    protocol.total_staked = protocol
        .total_staked
        .checked_sub(amount_before)
        .and_then(|t| t.checked_add(amount))
        .ok_or(BallastError::MathOverflow)?;
    escrow.weight.set(weight);
    escrow.checkpoint_ts = now;
    Ok(weight != weight_before)
}

/// Settles `escrow` and brings its weight down to where its lock now stands (see
/// [`restake`]). Returns whether the weight changed.
pub fn checkpoint(escrow: &mut StakeEscrow, protocol: &mut Protocol, now: i64) -> Result<bool> {
    let amount = escrow.amount;
    restake(escrow, protocol, amount, now)
}

/// Tokens burned if `escrow` leaves at `now`: the regime's penalty rate scaled by the
/// share of the lock left, within the configured floor and cap.
pub fn exit_penalty(escrow: &StakeEscrow, protocol: &Protocol, now: i64) -> Result<u64> {
    let regime_bps = protocol.regime_settings()?.exit_penalty_bps;
    let remaining = u64::try_from(escrow.lock_end.saturating_sub(now)).unwrap_or(0);
    let duration = u64::try_from(escrow.lock_end.saturating_sub(escrow.lock_start)).unwrap_or(0);
    let bps = exit_penalty_bps(regime_bps, remaining, duration, &protocol.config.exit_penalty_bounds()).or_ballast()?;
    penalty(escrow.amount, bps).or_ballast()
}

/// A new lock of `lock_secs` must be within the configured bounds.
pub fn check_lock(protocol: &Protocol, lock_secs: u32) -> Result<()> {
    let locks = protocol.config.locks();
    require_gte!(lock_secs, locks.min_lock_secs, BallastError::LockTooShort);
    require_gte!(locks.max_lock_secs, lock_secs, BallastError::LockTooLong);
    Ok(())
}

/// Credits `stream`'s drip up to `now` (the other streams are left as they are).
fn advance_stream(protocol: &mut Protocol, stream: usize, now: i64) -> Result<()> {
    let total_weight = protocol.total_weight();
    let mut drip = protocol.reward_streams[stream].drip();
    drip.advance(now, total_weight).or_ballast()?;
    protocol.reward_streams[stream].store(&drip);
    Ok(())
}

/// Adds lump rewards to `stream`; they drip to stakers over the configured period.
pub fn add_to_stream(protocol: &mut Protocol, stream: usize, amount: u64, now: i64) -> Result<()> {
    let total_weight = protocol.total_weight();
    let mut drip = protocol.reward_streams[stream].drip();
    drip.add(amount, now, protocol.config.reward_drip_secs, total_weight).or_ballast()?;
    protocol.reward_streams[stream].store(&drip);
    Ok(())
}

/// Reward stream of the market with index `market_index`.
pub fn market_stream(market_index: u16) -> Result<usize> {
    let stream = 1 + usize::from(market_index);
    require_gt!(REWARD_STREAMS, stream, BallastError::UnknownRewardStream);
    Ok(stream)
}
