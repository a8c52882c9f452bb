use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};
use ballast_risk::gates;
use ballast_risk::liquidation::quote;
use ballast_risk::oracle::OracleAction;
use ballast_risk::shares::{repay_shares_for, withdraw_shares_for};

use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::Liquidated;
use crate::health::{cache_health, find_priced, health_of, liquidation_input, price_markets};
use crate::state::{MarginAccount, Market, Protocol};

#[derive(Accounts)]
pub struct Liquidate<'info> {
    pub liquidator: Signer<'info>,
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub liquidatee: AccountLoader<'info, MarginAccount>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub liability_market: AccountLoader<'info, Market>,
    #[account(mut, address = liability_market.load()?.vault @ BallastError::VaultMismatch)]
    pub liability_vault: Box<Account<'info, TokenAccount>>,
    /// The liquidator's source of the repayment.
    #[account(mut, constraint = liquidator_liability_token.mint == liability_market.load()?.mint @ BallastError::WrongMint)]
    pub liquidator_liability_token: Box<Account<'info, TokenAccount>>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub asset_market: AccountLoader<'info, Market>,
    #[account(mut, address = asset_market.load()?.vault @ BallastError::VaultMismatch)]
    pub asset_vault: Box<Account<'info, TokenAccount>>,
    /// Where the seized collateral goes.
    #[account(mut, constraint = liquidator_asset_token.mint == asset_market.load()?.mint @ BallastError::WrongMint)]
    pub liquidator_asset_token: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Repays up to `max_repay` of an unhealthy account's debt in `liability_market` and
/// pays the liquidator the account's collateral in `asset_market` plus a bonus; an
/// insurance fee from the same collateral goes to the asset market's insurance fund.
/// Remaining accounts: (market, oracle) for every balance the account holds now.
/// Prices only need to be valid for liquidation (older, wider than for borrowing), and
/// only in the two markets it moves: a deposit elsewhere whose feed is unusable counts
/// as worth nothing, so a dead side feed never shields a borrower. They feed both
/// markets' price guards. Not an outflow: the liquidator pays the debt in at
/// the oracle price for the collateral it takes out, and liquidations must never wait.
/// Liability and asset markets must differ: Anchor refuses the same mutable account
/// twice (`ConstraintDuplicateMutableAccount`).
pub fn handler(ctx: Context<Liquidate>, max_repay: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    // Only the admin can pause liquidations: guardian trips, reduce-only markets and the
    // outflow limiter never stop them.
    ctx.accounts.protocol.load()?.require_open(gates::LIQUIDATE, now)?;
    let liability_index = accrue(&ctx.accounts.liability_market, now)?;
    let asset_index = accrue(&ctx.accounts.asset_market, now)?;

    let mut account = ctx.accounts.liquidatee.load_mut()?;
    require_keys_neq!(account.owner, ctx.accounts.liquidator.key(), BallastError::SelfLiquidation);
    let priced = price_markets(&account, ctx.remaining_accounts, OracleAction::Liquidation, now)?;
    let before = health_of(&account, &priced)?;
    let maint_before = before.maint().or_ballast()?;
    require!(maint_before < 0, BallastError::AccountHealthy);

    let liability = *find_priced(&priced, liability_index)?.require_usable()?;
    let asset = *find_priced(&priced, asset_index)?.require_usable()?;
    let debt_shares = account.find_balance_mut(liability_index).map_or(0, |b| b.borrow_shares.get());
    require!(debt_shares > 0, BallastError::LiabilityNotHeld);
    let deposit_shares = account.find_balance_mut(asset_index).map_or(0, |b| b.deposit_shares.get());
    require!(deposit_shares > 0, BallastError::AssetNotHeld);

    let asset_config = ctx.accounts.asset_market.load()?.config;
    let debt = liability.debt(debt_shares)?;
    let collateral = asset.deposit(deposit_shares)?;
    let input = liquidation_input(&before, &liability, debt, &asset, collateral, &asset_config)?;
    let q = quote(&input, u128::from(max_repay)).or_ballast()?;
    require!(q.repay > 0 && q.seized > 0, BallastError::NothingToLiquidate);
    let (repaid, seized, insurance_fee) = (to_u64(q.repay)?, to_u64(q.seized)?, to_u64(q.insurance_fee)?);

    // Debt side: clear all shares when the whole debt is repaid, else round down.
    let cleared = if q.repay == debt {
        debt_shares
    } else {
        repay_shares_for(q.repay, liability.indices.borrow_index).or_ballast()?
    };
    // Collateral side: burn shares for seized + fee, rounded up, never more than held.
    let burned = withdraw_shares_for(q.seized + q.insurance_fee, asset.indices.deposit_index).or_ballast()?;
    let burned = burned.min(deposit_shares);
    // Both markets' guards see the prices this liquidation uses.
    let mut trips = Vec::new();
    {
        let mut market = ctx.accounts.liability_market.load_mut()?;
        let total = market.total_borrow_shares.get().checked_sub(cleared).ok_or(BallastError::MathOverflow)?;
        market.total_borrow_shares.set(total);
        trips.extend(market.observe_price(ctx.accounts.liability_market.key(), liability.mid_down, now)?);
    }
    {
        let mut market = ctx.accounts.asset_market.load_mut()?;
        trips.extend(market.observe_price(ctx.accounts.asset_market.key(), asset.mid_down, now)?);
        market.require_liquidity(ctx.accounts.asset_vault.amount, seized)?;
        let total = market.total_deposit_shares.get().checked_sub(burned).ok_or(BallastError::MathOverflow)?;
        market.total_deposit_shares.set(total);
        market.insurance_fund = market.insurance_fund.checked_add(insurance_fee).ok_or(BallastError::MathOverflow)?;
    }
    for (index, shares, is_debt) in [(liability_index, cleared, true), (asset_index, burned, false)] {
        let balance = account.find_balance_mut(index).ok_or(BallastError::PositionNotFound)?;
        let side = if is_debt { &mut balance.borrow_shares } else { &mut balance.deposit_shares };
        side.set(side.get() - shares);
        balance.close_if_empty();
    }
    let after = health_of(&account, &priced)?;
    cache_health(&mut account, &after, now)?;
    let liquidatee = account.owner;
    drop(account);

    ctx.accounts.pay_in(repaid)?;
    ctx.accounts.pay_out(seized)?;
    for tripped in trips {
        emit!(tripped);
    }
    emit!(Liquidated {
        liquidatee,
        liquidator: ctx.accounts.liquidator.key(),
        liability_market: ctx.accounts.liability_market.key(),
        asset_market: ctx.accounts.asset_market.key(),
        repaid,
        seized,
        insurance_fee,
        liability_price: liability.mid_down,
        asset_price: asset.mid_up,
        maint_health_before: maint_before,
        maint_health_after: after.maint().or_ballast()?,
        init_health_after: after.init().or_ballast()?,
    });
    Ok(())
}

/// Accrues `market`'s interest to `now` and returns its index.
fn accrue(market: &AccountLoader<Market>, now: i64) -> Result<u16> {
    let mut market = market.load_mut()?;
    market.accrue_interest(now)?;
    Ok(market.market_index)
}

impl<'info> Liquidate<'info> {
    fn pay_in(&self, amount: u64) -> Result<()> {
        let accounts = Transfer {
            from: self.liquidator_liability_token.to_account_info(),
            to: self.liability_vault.to_account_info(),
            authority: self.liquidator.to_account_info(),
        };
        token::transfer(CpiContext::new(self.token_program.key(), accounts), amount)
    }

    fn pay_out(&self, amount: u64) -> Result<()> {
        let (market, vault, to) = (&self.asset_market, &self.asset_vault, &self.liquidator_asset_token);
        crate::instructions::pay_from_market_vault(market, vault, to, &self.token_program, amount)
    }
}
