use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// Leaves before the lock ends: the penalty, the regime's rate scaled by the share of
/// the lock left within the configured floor and cap, is burned, the rest returned, the
/// escrow closed once nothing is owed on it (see `StakeAction::close_escrow_when_settled`).
pub fn handler(ctx: Context<StakeAction>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UNSTAKE, now)?;
    ctx.accounts.require_running_lock(now)?;
    pool.accrue(now)?;

    let (returned, burned) = {
        let mut protocol = pool.protocol.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        let amount = escrow.amount;
        let burned = staking::exit_penalty(&escrow, &protocol, now)?;
        staking::restake(&mut escrow, &mut protocol, 0, now)?;
        protocol.total_burned = protocol.total_burned.checked_add(burned).ok_or(BallastError::MathOverflow)?;
        let returned = amount - burned;
        super::emit_stake_changed(
            &ctx.accounts.escrow.key(),
            &escrow,
            &protocol,
            StakeChangeKind::ExitEarly,
            returned,
            burned,
        );
        (returned, burned)
    };
    if burned > 0 {
        pool.burn_staked(burned)?;
    }
    if returned > 0 {
        pool.pay(&pool.stake_vault, &ctx.accounts.owner_native, returned)?;
    }
    ctx.accounts.close_escrow_when_settled(now)
}
