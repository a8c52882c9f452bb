//! One instruction per file, grouped by who calls it.

pub mod admin;
pub mod governance;
pub mod guardian;
pub mod keeper;
pub mod trader;

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

use crate::state::Market;

/// Pays `amount` out of `market`'s vault to `to`, signed by the market PDA. Callers
/// must not hold a mutable borrow of the market across this call.
pub fn pay_from_market_vault<'info>(
    market: &AccountLoader<'info, Market>,
    vault: &Account<'info, TokenAccount>,
    to: &Account<'info, TokenAccount>,
    token_program: &Program<'info, Token>,
    amount: u64,
) -> Result<()> {
    let loaded = market.load()?;
    let seeds = loaded.signer_seeds();
    let cpi = Transfer { from: vault.to_account_info(), to: to.to_account_info(), authority: market.to_account_info() };
    token::transfer(CpiContext::new_with_signer(token_program.key(), cpi, &[&seeds]), amount)
}
