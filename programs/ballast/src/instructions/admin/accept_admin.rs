use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::AdminTransferAccepted;
use crate::state::Protocol;

#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    /// The pending admin (a multisig vault in production).
    pub new_admin: Signer<'info>,
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
}

/// The second step of an admin transfer: the proposed key takes over.
pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    require_keys_neq!(protocol.pending_admin, Pubkey::default(), BallastError::NoPendingAdmin);
    require_keys_eq!(ctx.accounts.new_admin.key(), protocol.pending_admin, BallastError::NotPendingAdmin);
    let old_admin = protocol.admin;
    protocol.admin = protocol.pending_admin;
    protocol.pending_admin = Pubkey::default();
    emit!(AdminTransferAccepted { old_admin, new_admin: protocol.admin });
    Ok(())
}
