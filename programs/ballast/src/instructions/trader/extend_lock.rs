use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::stake_accounts::StakeAction;
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;

/// Re-locks the whole stake for `lock_secs` from now, which must end later than the
/// current lock (also after it ended). The weight is recomputed from the new time left:
/// it rises only by the lock time added.
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
    staking::check_lock(&protocol, lock_secs)?;
    let mut escrow = ctx.accounts.escrow.load_mut()?;
    // Settled at the old weight up to now by the checkpoint, then re-weighed.
    escrow.lock_start = now;
    escrow.lock_end = new_end;
    staking::checkpoint(&mut escrow, &mut protocol, now)?;
    super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::ExtendLock, 0, 0);
    Ok(())
}
