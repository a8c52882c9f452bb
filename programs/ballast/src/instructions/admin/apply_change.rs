use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::ChangeApplied;
use crate::governance::GovernanceAction;
use crate::instructions::governance::{check_emission_authority, check_new_oracle, target_market, write_change};
use crate::state::{Market, Protocol};
use ballast_risk::governance::ChangeKind;

#[derive(Accounts)]
pub struct ApplyChange<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
    /// The market a market change targets; omitted for protocol-wide changes.
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub market: Option<AccountLoader<'info, Market>>,
}

/// Applies a change at once: only a tightening one after launch (a loosening one must go
/// through `propose_change`), any change during the setup phase. Remaining accounts: the
/// native mint, when the change turns emissions on; the new feed's account, when it
/// replaces a feed.
pub fn handler(ctx: Context<ApplyChange>, action: GovernanceAction) -> Result<()> {
    action.validate()?;
    let market = target_market(&action, &ctx.accounts.market)?;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let mut market = market.map(|m| m.load_mut()).transpose()?;

    let base = action.current(&protocol, market.as_deref())?;
    let kind = action.classify(&base)?;
    require!(kind != ChangeKind::NoChange, BallastError::NoChange);
    require!(!kind.needs_timelock() || !protocol.governance.is_launched(), BallastError::ChangeNeedsTimelock);
    check_emission_authority(&action, &base, (&ctx.accounts.protocol.key(), &protocol), ctx.remaining_accounts)?;
    let now = Clock::get()?.unix_timestamp;
    check_new_oracle(&action, &protocol, market.as_deref(), ctx.remaining_accounts, now)?;
    write_change(&action, &mut protocol, market.as_deref_mut(), now)?;
    emit!(ChangeApplied { admin: protocol.admin, action, loosening: kind.needs_timelock() });
    Ok(())
}
