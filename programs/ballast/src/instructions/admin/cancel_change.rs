use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::ChangeCancelled;
use crate::state::{Proposal, ProposalStatus, Protocol};

#[derive(Accounts)]
pub struct CancelChange<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub proposal: Box<Account<'info, Proposal>>,
}

/// Cancels a queued proposal (ready or not); it can never execute afterwards.
pub fn handler(ctx: Context<CancelChange>) -> Result<()> {
    let proposal = &mut ctx.accounts.proposal;
    require!(proposal.status == ProposalStatus::Queued, BallastError::ProposalNotQueued);
    proposal.status = ProposalStatus::Cancelled;
    proposal.closed_at = Clock::get()?.unix_timestamp;
    emit!(ChangeCancelled { proposal: proposal.key(), id: proposal.id, action: proposal.action.clone() });
    Ok(())
}
