use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};
use ballast_risk::gates;
use ballast_risk::liquidation::quote;
use ballast_risk::oracle::OracleAction;
use ballast_risk::shares::{deposit_shares_for, repay_shares_for, withdraw_shares_for};

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
    /// Where the seized collateral goes as tokens, or ...
    #[account(mut, constraint = liquidator_asset_token.mint == asset_market.load()?.mint @ BallastError::WrongMint)]
    pub liquidator_asset_token: Option<Box<Account<'info, TokenAccount>>>,
    /// ... as a deposit in the liquidator's own margin account, which needs no cash in
    /// the asset vault (exactly one of the two).
    #[account(
        mut,
        has_one = protocol @ BallastError::WrongProtocol,
        constraint = liquidator_account.load()?.owner == liquidator.key() @ BallastError::NotAccountOwner,
    )]
    pub liquidator_account: Option<AccountLoader<'info, MarginAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Repays an unhealthy account's debt in `liability_market` and gives the liquidator the
/// account's collateral in `asset_market` worth the repayment plus the bonus and the
/// insurance fee; the liquidator pays that fee in the liability token into the liability
/// market's insurance fund (`ballast_risk::liquidation`). `max_repay` caps what the
/// liquidator pays in, fee included. The collateral is paid out as tokens where the
/// vault has the cash, or credited as a deposit to the liquidator's margin account,
/// which must keep non-negative initial health: a fully borrowed collateral market can
/// still be liquidated. When the account has no collateral left afterwards, the rest of
/// its debt in the liability market is written off at once (`resolve_bad_debt`'s rule),
/// so depositors cannot run between the liquidation and the write-off.
/// Remaining accounts: (market, oracle) for every balance the account holds now, then,
/// with a deposit payout, for every balance the liquidator's account holds afterwards.
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
    let as_deposit = match (&ctx.accounts.liquidator_asset_token, &ctx.accounts.liquidator_account) {
        (Some(_), None) => false,
        (None, Some(_)) => true,
        _ => return err!(BallastError::InvalidLiquidationPayout),
    };
    let liability_index = accrue(&ctx.accounts.liability_market, now)?;
    let asset_index = accrue(&ctx.accounts.asset_market, now)?;

    let mut account = ctx.accounts.liquidatee.load_mut()?;
    require_keys_neq!(account.owner, ctx.accounts.liquidator.key(), BallastError::SelfLiquidation);
    let liquidatee_pairs = 2 * account.active_balances().count();
    let remaining = ctx.remaining_accounts;
    let (own_pairs, liquidator_pairs) = remaining.split_at(liquidatee_pairs.min(remaining.len()));
    require!(as_deposit || liquidator_pairs.is_empty(), BallastError::HealthAccountsMismatch);
    let priced = price_markets(&account, own_pairs, OracleAction::Liquidation, now)?;
    let before = health_of(&account, &priced)?;
    let maint_before = before.maint().or_ballast()?;
    require!(maint_before < 0, BallastError::AccountHealthy);

    let debt_shares = account.find_balance_mut(liability_index).map_or(0, |b| b.borrow_shares.get());
    require!(debt_shares > 0, BallastError::LiabilityNotHeld);
    let deposit_shares = account.find_balance_mut(asset_index).map_or(0, |b| b.deposit_shares.get());
    require!(deposit_shares > 0, BallastError::AssetNotHeld);
    let liability = *find_priced(&priced, liability_index)?.require_usable()?;
    let asset = *find_priced(&priced, asset_index)?.require_usable()?;

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
    // Collateral side: burn shares for what is seized, rounded up, never more than held;
    // a deposit payout credits the liquidator shares for it, rounded down.
    let burned = withdraw_shares_for(q.seized, asset.indices.deposit_index).or_ballast()?.min(deposit_shares);
    let credited =
        if as_deposit { deposit_shares_for(q.seized, asset.indices.deposit_index).or_ballast()? } else { 0 };
    // Both markets' guards see the prices this liquidation uses.
    let mut trips = Vec::new();
    {
        let mut market = ctx.accounts.liability_market.load_mut()?;
        let total = market.total_borrow_shares.get().checked_sub(cleared).ok_or(BallastError::MathOverflow)?;
        market.total_borrow_shares.set(total);
        market.insurance_fund = market.insurance_fund.checked_add(insurance_fee).ok_or(BallastError::MathOverflow)?;
        trips.extend(market.observe_price(ctx.accounts.liability_market.key(), liability.mid_down, now)?);
    }
    {
        let mut market = ctx.accounts.asset_market.load_mut()?;
        trips.extend(market.observe_price(ctx.accounts.asset_market.key(), asset.mid_down, now)?);
        if !as_deposit {
            market.require_liquidity(ctx.accounts.asset_vault.amount, seized)?;
        }
        let total = market.total_deposit_shares.get().checked_sub(burned).and_then(|t| t.checked_add(credited));
        market.total_deposit_shares.set(total.ok_or(BallastError::MathOverflow)?);
    }
    for (index, shares, is_debt) in [(liability_index, cleared, true), (asset_index, burned, false)] {
        let balance = account.find_balance_mut(index).ok_or(BallastError::PositionNotFound)?;
        let side = if is_debt { &mut balance.borrow_shares } else { &mut balance.deposit_shares };
        side.set(side.get() - shares);
        balance.close_if_empty();
    }
    let written_off = write_off_if_bankrupt(&ctx, &mut account, liability_index)?;
    let after = health_of(&account, &priced)?;
    cache_health(&mut account, &after, now)?;
    let liquidatee = account.owner;
    drop(account);

    ctx.accounts.pay_in(repaid.checked_add(insurance_fee).ok_or(BallastError::MathOverflow)?)?;
    if as_deposit {
        ctx.accounts.credit_liquidator(asset_index, credited, liquidator_pairs, now)?;
    } else {
        ctx.accounts.pay_out(seized)?;
    }
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
        as_deposit,
        liability_price: liability.mid_down,
        asset_price: asset.mid_up,
        maint_health_before: maint_before,
        maint_health_after: after.maint().or_ballast()?,
        init_health_after: after.init().or_ballast()?,
    });
    if let Some(resolved) = written_off {
        emit!(resolved);
    }
    Ok(())
}

/// Writes off the account's remaining debt in the liability market when it holds no
/// deposit any more (the liquidation took its last collateral).
fn write_off_if_bankrupt(
    ctx: &Context<Liquidate>,
    account: &mut MarginAccount,
    liability_index: u16,
) -> Result<Option<crate::events::BadDebtResolved>> {
    if account.active_balances().any(|b| b.deposit_shares.get() > 0) {
        return Ok(None);
    }
    let Some(balance) = account.find_balance_mut(liability_index) else {
        return Ok(None);
    };
    let shares = balance.borrow_shares.get();
    let market = &ctx.accounts.liability_market;
    let resolved = market.load_mut()?.write_off_debt(market.key(), ctx.accounts.liquidatee.key(), shares)?;
    balance.borrow_shares.set(0);
    balance.close_if_empty();
    Ok(Some(resolved))
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
        let to = self.liquidator_asset_token.as_ref().ok_or(BallastError::InvalidLiquidationPayout)?;
        crate::instructions::pay_from_market_vault(
            &self.asset_market,
            &self.asset_vault,
            to,
            &self.token_program,
            amount,
        )
    }

    /// Credits `shares` of the asset market to the liquidator's margin account, which
    /// must keep non-negative initial health at liquidation prices (`pairs`: its (market,
    /// oracle) pairs after the credit).
    fn credit_liquidator(&self, asset_index: u16, shares: u128, pairs: &[AccountInfo], now: i64) -> Result<()> {
        let loader = self.liquidator_account.as_ref().ok_or(BallastError::InvalidLiquidationPayout)?;
        let mut account = loader.load_mut()?;
        let balance = account.find_or_open_balance(asset_index).ok_or(BallastError::TooManyPositions)?;
        require!(balance.borrow_shares.get() == 0, BallastError::MixedPosition);
        balance.deposit_shares.set(balance.deposit_shares.get().checked_add(shares).ok_or(BallastError::MathOverflow)?);
        balance.close_if_empty();
        let priced = price_markets(&account, pairs, OracleAction::Liquidation, now)?;
        let health = health_of(&account, &priced)?;
        cache_health(&mut account, &health, now)?;
        require!(health.init().or_ballast()? >= 0, BallastError::BelowInitialHealth);
        Ok(())
    }
}
