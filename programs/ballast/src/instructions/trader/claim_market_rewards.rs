use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};
use ballast_risk::gates;

use crate::errors::BallastError;
use crate::events::RewardsClaimed;
use crate::staking;
use crate::state::{Market, Protocol, StakeEscrow};

#[derive(Accounts)]
pub struct ClaimMarketRewards<'info> {
    pub owner: Signer<'info>,
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(
        mut,
        has_one = owner @ BallastError::NotStakeOwner,
        has_one = protocol @ BallastError::WrongProtocol,
    )]
    pub escrow: AccountLoader<'info, StakeEscrow>,
    #[account(
        mut,
        has_one = protocol @ BallastError::WrongProtocol,
        has_one = vault @ BallastError::VaultMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_token.mint == market.load()?.mint @ BallastError::WrongMint)]
    pub owner_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Pays the escrow's share of `market`'s swept fees, in the market's token, and
/// checkpoints the escrow's decaying weight. (Emissions credited here are minted by the
/// next staking instruction.)
pub fn handler(ctx: Context<ClaimMarketRewards>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let (amount, stream) = {
        let mut protocol = ctx.accounts.protocol.load_mut()?;
        protocol.require_open(gates::CLAIM, now)?;
        let mut market = ctx.accounts.market.load_mut()?;
        let mut escrow = ctx.accounts.escrow.load_mut()?;
        let stream = staking::market_stream(market.market_index)?;
        staking::accrue(&mut protocol, now)?;
        super::checkpoint_escrow(&ctx.accounts.escrow.key(), &mut escrow, &mut protocol, now)?;
        let amount = core::mem::take(&mut escrow.rewards_owed[stream]);
        require_gt!(amount, 0, BallastError::NothingToClaim);
        market.staker_pool = market.staker_pool.checked_sub(amount).ok_or(BallastError::MathOverflow)?;
        (amount, stream)
    };

    let a = &ctx.accounts;
    crate::instructions::pay_from_market_vault(&a.market, &a.vault, &a.owner_token, &a.token_program, amount)?;
    emit!(RewardsClaimed {
        escrow: ctx.accounts.escrow.key(),
        owner: ctx.accounts.owner.key(),
        stream: stream as u16,
        mint: ctx.accounts.vault.mint,
        amount,
    });
    Ok(())
}
