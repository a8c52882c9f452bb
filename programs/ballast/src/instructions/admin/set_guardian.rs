use anchor_lang::prelude::*;

use super::AdminAction;
use crate::events::GuardianSet;
use crate::state::Protocol;

/// Names the guardian (`Pubkey::default()`: none). Applies at once. The guardian's trip
/// counts stay with the protocol, so a new key does not get a fresh allowance.
pub fn handler(ctx: Context<AdminAction>, guardian: Pubkey) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let old_guardian = apply(&mut protocol, guardian);
    emit!(GuardianSet { admin: ctx.accounts.admin.key(), old_guardian, new_guardian: guardian });
    Ok(())
}

/// The core of `set_guardian`, for every path that changes the key: returns the old one.
pub fn apply(protocol: &mut Protocol, guardian: Pubkey) -> Pubkey {
    core::mem::replace(&mut protocol.guardian, guardian)
}
