use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// Re-locks the whole stake for `lock_secs` from now, which must end later than the
/// current lock (also after it ended). The weight never falls: a longer commitment
/// cannot earn less than the shorter one it replaces.
pub fn handler(ctx: Context<StakeAction>, lock_secs: u32) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::STAKE, now)?;
    let new_end = now + i64::from(lock_secs);
    {
        let escrow = ctx.accounts.escrow.load()?;
        require!(!escrow.is_cooling_down(), BallastError::UnstakePending);
        require_gt!(new_end, escrow.lock_end, BallastError::LockNotExtended);
    }
    pool.accrue(now)?;

    let mut protocol = pool.protocol.load_mut()?;
    let mut escrow = ctx.accounts.escrow.load_mut()?;
    let weight = staking::locked_weight(&protocol, escrow.amount, lock_secs)?.max(escrow.weight.get());
    escrow.lock_start = now;
    escrow.lock_end = new_end;
    let amount = escrow.amount;
    staking::restake(&mut escrow, &mut protocol, amount, weight)?;
    super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::ExtendLock, 0, 0);
    Ok(())
}
