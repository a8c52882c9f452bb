use anchor_lang::prelude::*;
use ballast_risk::gates;

use crate::constants::MARGIN_ACCOUNT_SEED;
use crate::events::MarginAccountCreated;
use crate::state::{MarginAccount, Protocol, MARGIN_ACCOUNT_SIZE};

#[derive(Accounts)]
#[instruction(account_id: u32)]
pub struct CreateMarginAccount<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(
        init,
        payer = owner,
        space = MARGIN_ACCOUNT_SIZE,
        seeds = [MARGIN_ACCOUNT_SEED, protocol.key().as_ref(), owner.key().as_ref(), &account_id.to_le_bytes()],
        bump,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreateMarginAccount>, account_id: u32) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.protocol.load()?.require_open(gates::CREATE_MARGIN_ACCOUNT, now)?;
    let mut account = ctx.accounts.margin_account.load_init()?;
    account.owner = ctx.accounts.owner.key();
    account.protocol = ctx.accounts.protocol.key();
    account.account_id = account_id;
    account.bump = ctx.bumps.margin_account;
    account.health_updated_at = now;
    emit!(MarginAccountCreated { margin_account: ctx.accounts.margin_account.key(), owner: account.owner, account_id });
    Ok(())
}
