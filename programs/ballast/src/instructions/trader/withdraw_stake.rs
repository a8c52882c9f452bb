use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// After the cooldown, returns the stake. The escrow closes once nothing is owed on it;
/// rewards still owed (a market's vault may be fully lent out at that moment and unable
/// to pay its staker pool) stay claimable on the emptied escrow, and calling this again
/// after claiming them closes it. So getting the stake back never waits on a market.
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UNSTAKE, now)?;
    let (amount, settled) = {
        let mut protocol = pool.protocol.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        require!(escrow.is_cooling_down(), BallastError::NoUnstakePending);
        require_gte!(now, escrow.cooldown_end, BallastError::CooldownActive);
        let amount = escrow.amount;
        staking::restake(&mut escrow, &mut protocol, 0, 0)?;
        if amount > 0 {
            super::emit_stake_changed(
                &ctx.accounts.escrow.key(),
                &escrow,
                &protocol,
                StakeChangeKind::Withdraw,
                amount,
                0,
            );
        }
        (amount, !escrow.has_unclaimed_rewards())
    };
    if amount > 0 {
        pool.pay(&pool.stake_vault, &ctx.accounts.owner_native, amount)?;
    }
    if settled {
        ctx.accounts.escrow.close(ctx.accounts.owner.to_account_info())?;
    }
    Ok(())
}
