use anchor_lang::prelude::*;
use ballast_risk::governance::{ready_at, ChangeKind};

use crate::constants::PROPOSAL_SEED;
use crate::errors::{BallastError, OrBallast};
use crate::events::ChangeProposed;
use crate::governance::GovernanceAction;
use crate::instructions::governance::{check_emission_authority, check_new_oracle, target_market};
use crate::state::{Market, Proposal, ProposalStatus, Protocol, PROPOSAL_SIZE};

#[derive(Accounts)]
#[instruction(id: u64)]
pub struct ProposeChange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(
        init,
        payer = admin,
        space = PROPOSAL_SIZE,
        seeds = [PROPOSAL_SEED, protocol.key().as_ref(), &id.to_le_bytes()],
        bump,
    )]
    pub proposal: Box<Account<'info, Proposal>>,
    /// The market a market change targets; omitted for protocol-wide changes.
    #[account(has_one = protocol @ BallastError::WrongProtocol)]
    pub market: Option<AccountLoader<'info, Market>>,
    pub system_program: Program<'info, System>,
}

/// Queues a change in the timelock as proposal `id` (the protocol's next proposal id):
/// executable by anyone from `delay_secs` after now, for `grace_secs` (both as configured now).
/// Remaining accounts: the native mint, when the change turns emissions on; the new feed's account, when it
/// replaces a feed.
pub fn handler(ctx: Context<ProposeChange>, id: u64, action: GovernanceAction) -> Result<()> {
    action.validate()?;
    let market = target_market(&action, &ctx.accounts.market)?;
    let market = market.map(|m| m.load()).transpose()?;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let base = action.current(&protocol, market.as_deref())?;
    require!(action.classify(&base)? != ChangeKind::NoChange, BallastError::NoChange);
    check_emission_authority(&action, &base, (&ctx.accounts.protocol.key(), &protocol), ctx.remaining_accounts)?;
    let now = Clock::get()?.unix_timestamp;
    check_new_oracle(&action, &protocol, market.as_deref(), ctx.remaining_accounts, now)?;

    let timelock = protocol.config.timelock;
    let ready = ready_at(now, timelock.delay_secs).or_ballast()?;
    let expires = ready_at(ready, timelock.grace_secs).or_ballast()?;
    // A transaction built for an id another proposal took meanwhile fails here.
    require_eq!(id, protocol.governance.proposal_count, BallastError::ProposalIdMismatch);
    protocol.governance.proposal_count = id.checked_add(1).ok_or(BallastError::MathOverflow)?;

    let proposal = &mut ctx.accounts.proposal;
    proposal.set_inner(Proposal {
        protocol: ctx.accounts.protocol.key(),
        id,
        proposer: ctx.accounts.admin.key(),
        status: ProposalStatus::Queued,
        bump: ctx.bumps.proposal,
        proposed_at: now,
        delay_secs: timelock.delay_secs,
        grace_secs: timelock.grace_secs,
        ready_at: ready,
        expires_at: expires,
        closed_at: 0,
        action: action.clone(),
        base,
    });
    emit!(ChangeProposed {
        proposal: proposal.key(),
        id,
        proposer: proposal.proposer,
        action,
        ready_at: ready,
        expires_at: expires,
    });
    Ok(())
}
