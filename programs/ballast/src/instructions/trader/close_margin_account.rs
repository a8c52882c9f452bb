use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::events::MarginAccountClosed;
use crate::state::MarginAccount;

#[derive(Accounts)]
pub struct CloseMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, close = owner, has_one = owner @ BallastError::NotAccountOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
}

/// Returns the rent to the owner once every balance is empty.
pub fn handler(ctx: Context<CloseMarginAccount>) -> Result<()> {
    require!(ctx.accounts.margin_account.load()?.is_empty(), BallastError::AccountNotEmpty);
    emit!(MarginAccountClosed { margin_account: ctx.accounts.margin_account.key(), owner: ctx.accounts.owner.key() });
    Ok(())
}
