use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::Launched;
use crate::state::Protocol;

#[derive(Accounts)]
pub struct Launch<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
}

/// Ends the setup phase, for good: from now on loosening changes and new markets wait in
/// the timelock.
pub fn handler(ctx: Context<Launch>) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    require!(!protocol.governance.is_launched(), BallastError::AlreadyLaunched);
    let now = Clock::get()?.unix_timestamp;
    protocol.governance.launched = 1;
    protocol.governance.launched_at = now;
    emit!(Launched { protocol: ctx.accounts.protocol.key(), admin: protocol.admin, launched_at: now });
    Ok(())
}
