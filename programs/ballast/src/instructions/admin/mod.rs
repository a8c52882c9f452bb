//! Instructions signed by the governance admin (a multisig vault in production).

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod add_market;
pub mod initialize_protocol;
pub mod set_gates;
pub mod set_guardian;

pub use add_market::*;
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
