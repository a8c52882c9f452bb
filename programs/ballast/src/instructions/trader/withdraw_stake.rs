use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// After the cooldown, returns the stake. The escrow closes once nothing is owed on it
/// (see `StakeAction::close_escrow_when_settled`); calling this again after claiming
/// what was still owed closes it.
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UNSTAKE, now)?;
    let amount = {
        let mut protocol = pool.protocol.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        require!(escrow.is_cooling_down(), BallastError::NoUnstakePending);
        require_gte!(now, escrow.cooldown_end, BallastError::CooldownActive);
        let amount = escrow.amount;
        staking::restake(&mut escrow, &mut protocol, 0, now)?;
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
        amount
    };
    if amount > 0 {
        pool.pay(&pool.stake_vault, &ctx.accounts.owner_native, amount)?;
    }
    ctx.accounts.close_escrow_when_settled(now)
}
