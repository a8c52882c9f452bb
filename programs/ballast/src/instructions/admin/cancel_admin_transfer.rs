use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::AdminTransferCancelled;
use crate::state::Protocol;

#[derive(Accounts)]
pub struct CancelAdminTransfer<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
}

/// Withdraws a pending admin transfer before it is accepted.
pub fn handler(ctx: Context<CancelAdminTransfer>) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let cancelled = protocol.pending_admin;
    require_keys_neq!(cancelled, Pubkey::default(), BallastError::NoPendingAdmin);
    protocol.pending_admin = Pubkey::default();
    emit!(AdminTransferCancelled { admin: protocol.admin, cancelled });
    Ok(())
}
