use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// After the lock ends, starts the cooldown: the stake stops earning at once and can
/// be withdrawn with `withdraw_stake` when the cooldown is over.
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UNSTAKE, now)?;
    {
        let escrow = ctx.accounts.escrow.load()?;
        require!(!escrow.is_cooling_down(), BallastError::UnstakePending);
        require_gte!(now, escrow.lock_end, BallastError::LockActive);
    }
    pool.accrue(now)?;

    let mut protocol = pool.protocol.load_mut()?;
    let mut escrow = ctx.accounts.escrow.load_mut()?;
    // Cooling down weighs nothing: the checkpoint settles at the old weight, then zeroes it.
    escrow.cooldown_end = now + i64::from(protocol.config.unstake_cooldown_secs);
    staking::checkpoint(&mut escrow, &mut protocol, now)?;
    super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::Unstake, 0, 0);
    Ok(())
}
