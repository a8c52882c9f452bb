use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};
use ballast_risk::governance::check_executable;
use ballast_risk::oracle::{self, OracleAction, OracleReading, MAX_DECIMALS};
use ballast_risk::regime::Regime;
use ballast_risk::{Rounding, WAD};

use crate::constants::{MARKET_SEED, MAX_MARKETS, VAULT_SEED};
use crate::errors::{BallastError, OrBallast};
use crate::events::{ChangeExecuted, MarketAdded};
use crate::governance::GovernanceAction;
use crate::oracle::read_new_oracle;
use crate::state::{Market, MarketConfig, OracleSource, Proposal, ProposalStatus, Protocol, MARKET_SIZE};

#[derive(Accounts)]
pub struct AddMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ BallastError::Unauthorized)]
    pub protocol: AccountLoader<'info, Protocol>,
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        space = MARKET_SIZE,
        seeds = [MARKET_SEED, protocol.key().as_ref(), mint.key().as_ref()],
        bump,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(
        init,
        payer = admin,
        seeds = [VAULT_SEED, market.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = market,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// CHECK: must be `oracle_source.address`, a feed of its declared kind (and feed id) with a
    /// sane price; checked in the handler.
    pub oracle: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
    /// A ready `ListMarket` proposal for this mint, oracle source and config: required after
    /// launch (and consumed), optional during the setup phase.
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub proposal: Option<Box<Account<'info, Proposal>>>,
}

/// Reads a feed about to be written into a market (listing or replacement): `source`
/// well formed, `info` its account, parsable as its kind, and pricing a token of
/// `decimals` sanely under `config`'s limits (absurd or ancient prices are refused), and
/// finely enough for the price scale (`UnitPriceTooSmall`).
pub fn check_market_feed(
    info: &AccountInfo,
    source: &OracleSource,
    config: &MarketConfig,
    decimals: u8,
    now: i64,
) -> Result<OracleReading> {
    let reading = read_new_oracle(info, source)?;
    oracle::validate(&reading, &config.oracle_limits(), OracleAction::Liquidation, now).or_ballast()?;
    oracle::valuation_prices(&reading, &config.oracle_limits(), decimals).or_ballast()?;
    oracle::check_unit_price_scale(&reading, decimals).or_ballast()?;
    Ok(reading)
}

pub fn handler(ctx: Context<AddMarket>, config: MarketConfig, oracle: OracleSource) -> Result<()> {
    config.validate()?;
    let decimals = ctx.accounts.mint.decimals;
    require_gte!(MAX_DECIMALS, decimals, BallastError::UnsupportedMint);
    let now = Clock::get()?.unix_timestamp;
    let reading = check_market_feed(&ctx.accounts.oracle, &oracle, &config, decimals, now)?;

    let market_index = {
        let mut protocol = ctx.accounts.protocol.load_mut()?;
        let listing = GovernanceAction::ListMarket { mint: ctx.accounts.mint.key(), oracle, config };
        match ctx.accounts.proposal.as_deref_mut() {
            Some(proposal) => consume_listing(proposal, &listing, now)?,
            None => require!(!protocol.governance.is_launched(), BallastError::ListingNeedsProposal),
        }
        let index = protocol.market_count;
        // Each market has a staker reward stream in the protocol account.
        require_gt!(MAX_MARKETS, usize::from(index), BallastError::TooManyMarkets);
        protocol.market_count = index + 1;
        if ctx.accounts.mint.key() == protocol.native_mint {
            protocol.native_market = ctx.accounts.market.key();
        }
        index
    };

    let mut market = ctx.accounts.market.load_init()?;
    market.protocol = ctx.accounts.protocol.key();
    market.mint = ctx.accounts.mint.key();
    market.vault = ctx.accounts.vault.key();
    market.oracle = oracle;
    market.deposit_index = WAD.into();
    market.borrow_index = WAD.into();
    market.last_accrual_ts = now;
    market.market_index = market_index;
    market.decimals = decimals;
    market.bump = ctx.bumps.market;
    market.vault_bump = ctx.bumps.vault;
    market.config = config;
    // A market starts Calm, at Calm's multipliers, its volatility estimate unsampled.
    market.settle_multipliers(Regime::Calm, now);
    // The guard's first reference and the stable price start at the listing price; the
    // limiters' buckets start empty.
    let price = oracle::mid_price(&reading, decimals, Rounding::Down).or_ballast()?;
    market.observe_price(ctx.accounts.market.key(), price, now)?;
    market.observe_stable_price(price, now)?;
    market.breakers.outflow_updated_ts = now;

    emit!(MarketAdded { market: ctx.accounts.market.key(), mint: market.mint, oracle, market_index });
    Ok(())
}

/// Marks a ready proposal for exactly this listing as executed.
fn consume_listing(proposal: &mut Account<Proposal>, listing: &GovernanceAction, now: i64) -> Result<()> {
    require!(proposal.status == ProposalStatus::Queued, BallastError::ProposalNotQueued);
    require!(proposal.action == *listing, BallastError::ListingMismatch);
    check_executable(proposal.proposed_at, proposal.delay_secs, proposal.grace_secs, now).or_ballast()?;
    proposal.status = ProposalStatus::Executed;
    proposal.closed_at = now;
    emit!(ChangeExecuted { proposal: proposal.key(), id: proposal.id, action: listing.clone() });
    Ok(())
}
