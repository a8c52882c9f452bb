use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// After the cooldown, returns the stake and closes the escrow. Rewards must have been
/// claimed first (in the same transaction if need be), so nothing owed is lost.
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UNSTAKE, now)?;
    let amount = {
        let mut protocol = pool.protocol.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        require!(escrow.is_cooling_down(), BallastError::NoUnstakePending);
        require_gte!(now, escrow.cooldown_end, BallastError::CooldownActive);
        require!(!escrow.has_unclaimed_rewards(), BallastError::UnclaimedRewards);
        let amount = escrow.amount;
        staking::restake(&mut escrow, &mut protocol, 0, 0)?;
        super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::Withdraw, amount, 0);
        amount
    };
    pool.pay(&pool.stake_vault, &ctx.accounts.owner_native, amount)?;
    ctx.accounts.escrow.close(ctx.accounts.owner.to_account_info())
}
