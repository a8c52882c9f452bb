use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::constants::NATIVE_STREAM;
use crate::errors::BallastError;
use crate::events::RewardsClaimed;

/// Pays the escrow's native rewards (buyback share and emissions) to the owner. Also
/// settles every other stream, so the owed market rewards are up to date for display,
/// and checkpoints the escrow's decaying weight.
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::CLAIM, now)?;
    pool.accrue(now)?;
    let amount = {
        let mut protocol = pool.protocol.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        super::checkpoint_escrow(&ctx.accounts.escrow.key(), &mut escrow, &mut protocol, now)?;
        core::mem::take(&mut escrow.rewards_owed[NATIVE_STREAM])
    };
    require_gt!(amount, 0, BallastError::NothingToClaim);
    pool.pay(&pool.reward_vault, &ctx.accounts.owner_native, amount)?;
    emit!(RewardsClaimed {
        escrow: ctx.accounts.escrow.key(),
        owner: ctx.accounts.owner.key(),
        stream: NATIVE_STREAM as u16,
        mint: pool.native_mint.key(),
        amount,
    });
    Ok(())
}
