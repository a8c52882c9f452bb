use anchor_lang::prelude::*;
use ballast_risk::guardian;

use crate::errors::BallastError;
use crate::events::GuardianResumed;
use crate::state::Protocol;

#[derive(Accounts)]
pub struct Resume<'info> {
    /// The admin (any time) or anyone (once the trip has run out).
    pub caller: Signer<'info>,
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
}

/// Ends the guardian's trip: the admin may at any time, anyone else once it has run out
/// (`GuardianPauseActive` before). A trip lapses by itself at its end; resuming then only
/// clears the stored mask. The trip counts stay (see `ballast_risk::guardian::resume`).
pub fn handler(ctx: Context<Resume>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let by = ctx.accounts.caller.key();
    let by_admin = by == protocol.admin;
    let state = protocol.breakers.guardian_state();
    require!(guardian::can_resume(&state, now, by_admin), BallastError::GuardianPauseActive);
    protocol.breakers.store_guardian_state(&guardian::resume(&state, now));
    let mask = core::mem::take(&mut protocol.breakers.guardian_mask);
    emit!(GuardianResumed { by, by_admin, mask, was_paused_until: state.paused_until_ts });
    Ok(())
}
