use super::stake_accounts::StakeAction;
use anchor_lang::prelude::*;
use ballast_risk::gates;

use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// Adds `amount` to an active lock. The whole stake is re-weighed by the lock time left.
pub fn handler(ctx: Context<StakeAction>, amount: u64) -> Result<()> {
    require_gt!(amount, 0, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::STAKE, now)?;
    ctx.accounts.require_running_lock(now)?;
    pool.accrue(now)?;
    pool.lock(&ctx.accounts.owner_native, &ctx.accounts.owner, amount)?;

    let mut protocol = pool.protocol.load_mut()?;
    let mut escrow = ctx.accounts.escrow.load_mut()?;
    let total = escrow.amount.checked_add(amount).ok_or(BallastError::MathOverflow)?;
    staking::restake(&mut escrow, &mut protocol, total, now)?;
    super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::Increase, amount, 0);
    Ok(())
}
