use anchor_lang::prelude::*;
use ballast_risk::governance::check_executable;

use crate::errors::{BallastError, OrBallast};
use crate::events::ChangeExecuted;
use crate::instructions::governance::{check_emission_authority, check_new_oracle, target_market, write_change};
use crate::state::{Market, Proposal, ProposalStatus, Protocol};

#[derive(Accounts)]
pub struct ExecuteChange<'info> {
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub proposal: Box<Account<'info, Proposal>>,
    /// The market a market change targets; omitted for protocol-wide changes.
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub market: Option<AccountLoader<'info, Market>>,
}

/// Executes a ready proposal. Permissionless (like Compound's timelock): its content was
/// fixed and public for the whole delay, so who sends it does not matter. Remaining
/// accounts: the native mint, when the change turns emissions on; the new feed's account, when it
/// replaces a feed.
pub fn handler(ctx: Context<ExecuteChange>) -> Result<()> {
    let proposal = &mut ctx.accounts.proposal;
    require!(proposal.status == ProposalStatus::Queued, BallastError::ProposalNotQueued);
    let now = Clock::get()?.unix_timestamp;
    check_executable(proposal.proposed_at, proposal.delay_secs, proposal.grace_secs, now).or_ballast()?;
    let action = proposal.action.clone();
    // Bounds again: the program may have been upgraded with tighter ones meanwhile.
    action.validate()?;
    let market = target_market(&action, &ctx.accounts.market)?;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let mut market = market.map(|m| m.load_mut()).transpose()?;
    require!(action.current(&protocol, market.as_deref())? == proposal.base, BallastError::ProposalStale);
    check_emission_authority(
        &action,
        &proposal.base,
        (&ctx.accounts.protocol.key(), &protocol),
        ctx.remaining_accounts,
    )?;
    check_new_oracle(&action, &protocol, market.as_deref(), ctx.remaining_accounts, now)?;
    write_change(&action, &mut protocol, market.as_deref_mut(), now)?;
    proposal.status = ProposalStatus::Executed;
    proposal.closed_at = now;
    emit!(ChangeExecuted { proposal: proposal.key(), id: proposal.id, action });
    Ok(())
}
