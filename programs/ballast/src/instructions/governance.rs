//! What the governance instructions share: finding the target market and writing a change.

use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::AdminTransferProposed;
use crate::governance::GovernanceAction;
use crate::state::{Market, Protocol};

/// The market account a change needs: the one it targets, or none if it targets none
/// (a market passed to a protocol-wide change is ignored).
pub fn target_market<'a, 'info>(
    action: &GovernanceAction,
    market: &'a Option<AccountLoader<'info, Market>>,
) -> Result<Option<&'a AccountLoader<'info, Market>>> {
    let Some(wanted) = action.market() else { return Ok(None) };
    let market = market.as_ref().ok_or(BallastError::MarketAccountRequired)?;
    require_keys_eq!(market.key(), wanted, BallastError::MarketMismatch);
    Ok(Some(market))
}

/// Writes `action` (already validated and cleared to apply) and emits what it starts.
pub fn write_change(action: &GovernanceAction, protocol: &mut Protocol, market: Option<&mut Market>) -> Result<()> {
    action.apply(protocol, market)?;
    if let GovernanceAction::TransferAdmin { new_admin } = action {
        emit!(AdminTransferProposed { admin: protocol.admin, pending_admin: *new_admin });
    }
    Ok(())
}
