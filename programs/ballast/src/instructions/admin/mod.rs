//! Instructions signed by the governance admin (a multisig vault in production), and
//! `accept_admin`, signed by the admin to be.

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod accept_admin;
pub mod add_market;
pub mod apply_change;
pub mod cancel_admin_transfer;
pub mod cancel_change;
pub mod initialize_protocol;
pub mod launch;
pub mod propose_change;
pub mod set_gates;

pub use accept_admin::*;
pub use add_market::*;
pub use apply_change::*;
pub use cancel_admin_transfer::*;
pub use cancel_change::*;
pub use initialize_protocol::*;

use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::state::Protocol;

/// Accounts of an admin instruction that changes only the protocol root.
#[derive(Accounts)]
pub struct AdminAction<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
}
pub use launch::*;
pub use propose_change::*;
