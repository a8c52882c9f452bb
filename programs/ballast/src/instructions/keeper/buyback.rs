use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount, Transfer};
use ballast_risk::auction::{self, price_multiplier_bps};
use ballast_risk::fixed::apply_bps;
use ballast_risk::gates;
use ballast_risk::oracle::{self, OracleAction};
use ballast_risk::Rounding;

use crate::constants::NATIVE_STREAM;
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::BuybackFilled;
use crate::oracle::read_oracle;
use crate::staking;
use crate::state::{Market, Protocol};

#[derive(Accounts)]
pub struct Buyback<'info> {
    pub keeper: Signer<'info>,
    #[account(mut, has_one = native_mint @ BallastError::WrongMint, has_one = reward_vault @ BallastError::VaultMismatch)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(
        mut,
        has_one = protocol @ BallastError::WrongProtocol,
        has_one = vault @ BallastError::VaultMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// CHECK: must be the market's Pyth feed; checked by `read_oracle`.
    pub oracle: UncheckedAccount<'info>,
    /// CHECK: must be the native token's Pyth feed; checked by `read_oracle`.
    pub native_oracle: UncheckedAccount<'info>,
    #[account(mut)]
    pub native_mint: Box<Account<'info, Mint>>,
    #[account(mut)]
    pub reward_vault: Box<Account<'info, TokenAccount>>,
    /// The keeper's native tokens: the payment is burned from here (and the stakers'
    /// share transferred), so the protocol never holds tokens it is about to destroy.
    #[account(mut, constraint = keeper_native.mint == native_mint.key() @ BallastError::WrongMint)]
    pub keeper_native: Box<Account<'info, TokenAccount>>,
    /// Receives the pool tokens.
    #[account(mut, constraint = keeper_pool_token.mint == market.load()?.mint @ BallastError::WrongMint)]
    pub keeper_pool_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Sells buyback-pool tokens for native tokens on the Dutch auction curve (permissionless
/// keeper crank). The keeper bounds its fill with `max_native_in` and `min_pool_out`.
pub fn handler(ctx: Context<Buyback>, max_native_in: u64, min_pool_out: u64) -> Result<()> {
    require_gt!(max_native_in, 0, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let accounts = &ctx.accounts;
    let mut protocol = accounts.protocol.load_mut()?;
    protocol.require_open(gates::BUYBACK, now)?;
    let mut market = accounts.market.load_mut()?;
    require_keys_neq!(market.mint, protocol.native_mint, BallastError::NativeMarketBuyback);
    let cfg = protocol.config;
    let regime = protocol.regime()?;

    // Both prices must be fit for a risk-increasing action; each is taken on the side
    // that makes the protocol pay less.
    let native_limits = cfg.native_oracle_limits();
    let native_reading = read_oracle(&accounts.native_oracle, &protocol.native_oracle)?;
    oracle::validate(&native_reading, &native_limits, OracleAction::RiskIncreasing, now).or_ballast()?;
    let native_price =
        oracle::valuation_prices(&native_reading, &native_limits, accounts.native_mint.decimals).or_ballast()?.asset;
    let pool_limits = market.config.oracle_limits();
    let pool_reading = read_oracle(&accounts.oracle, &market.oracle)?;
    oracle::validate(&pool_reading, &pool_limits, OracleAction::RiskIncreasing, now).or_ballast()?;
    let pool_price = oracle::valuation_prices(&pool_reading, &pool_limits, market.decimals).or_ballast()?.liability;
    // The pool token's price feeds its market's guard (a trip does not stop the auction:
    // the premium cap, the EMA and the epoch budget bound what it sells).
    let mid = oracle::mid_price(&pool_reading, market.decimals, Rounding::Down).or_ballast()?;
    let tripped = market.observe_price(accounts.market.key(), mid, now)?;

    let current = market.buyback_epoch_at(&cfg, regime, now).or_ballast()?;
    let epoch = current.epoch;
    market.buyback_epoch = epoch;
    market.buyback_epoch_budget = current.budget;
    market.buyback_epoch_sold = current.sold;
    market.auction_start_ts = current.auction_start_ts;
    let budget_left = market.buyback_epoch_budget - market.buyback_epoch_sold;
    require_gt!(budget_left, 0, BallastError::BuybackBudgetExhausted);

    let multiplier = price_multiplier_bps(&cfg.auction(regime), market.auction_start_ts, now);
    let available = budget_left.min(market.buyback_pool);
    let fill = auction::fill(max_native_in, available, native_price, pool_price, multiplier)
        .or_ballast()?
        .ok_or(BallastError::AmountTooSmall)?;
    require_gte!(fill.pool_out, min_pool_out, BallastError::SlippageExceeded);

    let total_weight = protocol.total_weight();
    let to_stakers = if total_weight == 0 {
        0
    } else {
        to_u64(
            apply_bps(u128::from(fill.native_in), u128::from(cfg.buyback_stakers_bps), Rounding::Down).or_ballast()?,
        )?
    };
    let burned = fill.native_in - to_stakers;
    if to_stakers > 0 {
        staking::add_to_stream(&mut protocol, NATIVE_STREAM, to_stakers, now)?;
    }
    market.buyback_pool -= fill.pool_out;
    market.buyback_epoch_sold += fill.pool_out;
    market.auction_start_ts = now;
    market.total_buyback_spent =
        market.total_buyback_spent.checked_add(fill.pool_out).ok_or(BallastError::MathOverflow)?;
    protocol.total_bought_back =
        protocol.total_bought_back.checked_add(fill.native_in).ok_or(BallastError::MathOverflow)?;
    protocol.total_burned = protocol.total_burned.checked_add(burned).ok_or(BallastError::MathOverflow)?;
    let event = BuybackFilled {
        market: accounts.market.key(),
        keeper: accounts.keeper.key(),
        native_in: fill.native_in,
        pool_out: fill.pool_out,
        multiplier_bps: multiplier as u64,
        burned,
        to_stakers,
        epoch,
        epoch_budget_left: market.buyback_epoch_budget - market.buyback_epoch_sold,
    };
    drop(market);
    drop(protocol);

    let keeper = accounts.keeper.to_account_info();
    let program = accounts.token_program.key();
    if burned > 0 {
        let cpi = Burn {
            mint: accounts.native_mint.to_account_info(),
            from: accounts.keeper_native.to_account_info(),
            authority: keeper.clone(),
        };
        token::burn(CpiContext::new(program, cpi), burned)?;
    }
    if to_stakers > 0 {
        let cpi = Transfer {
            from: accounts.keeper_native.to_account_info(),
            to: accounts.reward_vault.to_account_info(),
            authority: keeper,
        };
        token::transfer(CpiContext::new(program, cpi), to_stakers)?;
    }
    let (market, vault, to) = (&accounts.market, &accounts.vault, &accounts.keeper_pool_token);
    crate::instructions::pay_from_market_vault(market, vault, to, &accounts.token_program, fill.pool_out)?;
    emit!(event);
    if let Some(tripped) = tripped {
        emit!(tripped);
    }
    Ok(())
}
