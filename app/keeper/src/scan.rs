//! Finding liquidatable accounts and sizing their liquidations.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::health::{find_priced, health_of, liquidation_input, PricedMarket};
use ballast::{MarginAccount, Market};
use ballast_client::health_accounts::{health_pairs, BalanceChange, MarketKeys};
use ballast_client::ix;
use ballast_risk::health::Health;
use ballast_risk::liquidation::{quote, LiquidationQuote};
use ballast_risk::oracle::{OracleAction, OracleReading};

/// A market and its latest oracle reading, as fetched by the bot.
#[derive(Debug, Clone, Copy)]
pub struct MarketSnapshot {
    pub key: Pubkey,
    pub market: Market,
    pub reading: OracleReading,
}

/// Every market priced for liquidation at `now`, as the program prices it: a market
/// whose feed is unusable is kept (its deposits count as zero, `unusable` says why) and
/// is never picked to repay or seize; only one that cannot be priced at all is left out,
/// and so are the accounts that hold it.
pub fn price_markets(markets: &[MarketSnapshot], now: i64) -> Vec<PricedMarket> {
    markets.iter().filter_map(|m| m.market.price(&m.reading, OracleAction::Liquidation, now).ok()).collect()
}

/// Health of `account`, or `None` if one of its markets could not be priced.
pub fn health(account: &MarginAccount, priced: &[PricedMarket]) -> Option<Health> {
    health_of(account, priced).ok()
}

/// An account below maintenance health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unhealthy {
    pub key: Pubkey,
    pub maint_health: i128,
}

/// Accounts below maintenance health, the deepest shortfall first.
pub fn find_unhealthy<'a>(
    accounts: impl IntoIterator<Item = (Pubkey, &'a MarginAccount)>,
    priced: &[PricedMarket],
) -> Vec<Unhealthy> {
    let mut out: Vec<Unhealthy> = accounts
        .into_iter()
        .filter_map(|(key, account)| {
            let maint = health(account, priced)?.maint().ok()?;
            (maint < 0).then_some(Unhealthy { key, maint_health: maint })
        })
        .collect();
    out.sort_by_key(|u| u.maint_health);
    out
}

/// One liquidation the keeper intends to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationPlan {
    pub liability_market: u16,
    pub asset_market: u16,
    pub quote: LiquidationQuote,
    /// Value received minus value paid, at oracle prices (WAD quote).
    pub profit: i128,
}

/// The liquidation of `account` that repays its largest debt against its largest
/// collateral, the liquidator paying at most `max_repay` tokens (insurance fee
/// included); `None` if healthy or not worth `min_profit` (WAD quote).
pub fn plan_liquidation(
    account: &MarginAccount,
    priced: &[PricedMarket],
    markets: &[MarketSnapshot],
    max_repay: u64,
    min_profit: i128,
) -> Option<LiquidationPlan> {
    let health = health(account, priced)?;
    if health.maint().ok()? >= 0 {
        return None;
    }
    let find = |index: u16| find_priced(priced, index).ok();
    let mut best_debt: Option<(u128, u16, u128)> = None; // (value, index, tokens)
    let mut best_asset: Option<(u128, u16, u128)> = None;
    for balance in account.active_balances() {
        let p = find(balance.market_index)?;
        if p.unusable.is_some() {
            continue;
        }
        let debt = p.debt(balance.borrow_shares.get()).ok()?;
        let deposit = p.deposit(balance.deposit_shares.get()).ok()?;
        let (debt_value, deposit_value) = (debt.checked_mul(p.mid_down)?, deposit.checked_mul(p.mid_up)?);
        if debt > 0 && best_debt.is_none_or(|(v, _, _)| debt_value > v) {
            best_debt = Some((debt_value, balance.market_index, debt));
        }
        if deposit > 0 && best_asset.is_none_or(|(v, _, _)| deposit_value > v) {
            best_asset = Some((deposit_value, balance.market_index, deposit));
        }
    }
    let ((_, liability_index, debt), (_, asset_index, collateral)) = (best_debt?, best_asset?);
    let (liability, asset) = (find(liability_index)?, find(asset_index)?);
    let asset_config = market_of(markets, asset_index)?.market.config;
    let input = liquidation_input(&health, liability, debt, asset, collateral, &asset_config).ok()?;
    let q = quote(&input, u128::from(max_repay)).ok()?;
    if q.repay == 0 || q.seized == 0 {
        return None;
    }
    // The liquidator pays the repayment and the insurance fee, both in the liability.
    let paid = i128::try_from(q.repay.checked_add(q.insurance_fee)?.checked_mul(liability.mid_down)?).ok()?;
    let received = i128::try_from(q.seized.checked_mul(asset.mid_up)?).ok()?;
    let profit = received - paid;
    (profit >= min_profit).then_some(LiquidationPlan {
        liability_market: liability_index,
        asset_market: asset_index,
        quote: q,
        profit,
    })
}

/// Where a liquidation's seized collateral goes.
#[derive(Debug, Clone, Copy)]
pub enum Payout<'a> {
    /// Tokens, to the liquidator's token account for the asset's mint.
    Tokens,
    /// A deposit in the liquidator's margin account `key` (holding `account` now), which
    /// needs no cash in the asset vault.
    Deposit { key: Pubkey, account: &'a MarginAccount },
}

/// The liquidator's side of a liquidation: its key, its token account per market (the
/// debt's pays the repayment and the fee; the collateral's receives a token payout), the
/// most it pays in (fee included) and where the collateral goes.
pub struct LiquidatorSide<'a> {
    pub key: Pubkey,
    pub token_account: &'a dyn Fn(&MarketSnapshot) -> Pubkey,
    pub max_repay: u64,
    pub payout: Payout<'a>,
}

/// Whether `asset`'s vault, holding `vault_amount` tokens, can pay `plan`'s seized
/// collateral out, by the program's own rule (`Market::require_liquidity`: only what is
/// not reserved for the protocol's pools).
pub fn vault_can_pay(asset: &Market, vault_amount: u64, plan: &LiquidationPlan) -> bool {
    u64::try_from(plan.quote.seized).is_ok_and(|seized| asset.require_liquidity(vault_amount, seized).is_ok())
}

/// The market with `index`.
pub fn market_of(markets: &[MarketSnapshot], index: u16) -> Option<&MarketSnapshot> {
    markets.iter().find(|m| m.market.market_index == index)
}

/// The `liquidate` instruction carrying out `plan` on `liquidatee` (holding `account`)
/// for `by`, with the (market, oracle) pairs of every balance held (and, with a deposit
/// payout, of the liquidator's account after the credit).
pub fn liquidation_instruction(
    by: &LiquidatorSide,
    liquidatee: Pubkey,
    account: &MarginAccount,
    plan: &LiquidationPlan,
    markets: &[MarketSnapshot],
) -> Option<Instruction> {
    let liability = market_of(markets, plan.liability_market)?;
    let asset = market_of(markets, plan.asset_market)?;
    let keys: Vec<MarketKeys> = markets
        .iter()
        .map(|m| MarketKeys { index: m.market.market_index, market: m.key, oracle: m.market.oracle.address })
        .collect();
    let pairs = health_pairs(account, &keys, BalanceChange::None).ok()?;
    let liquidation = ix::Liquidation {
        liquidator: by.key,
        liquidatee,
        liability_market: liability.key,
        liquidator_liability_token: (by.token_account)(liability),
        asset_market: asset.key,
        liquidator_asset_token: (by.token_account)(asset),
    };
    let health = ix::health_metas(&pairs);
    Some(match by.payout {
        Payout::Tokens => ix::liquidate(&liquidation, by.max_repay, &health),
        Payout::Deposit { key, account } => {
            let own = health_pairs(account, &keys, BalanceChange::Opens(asset.key)).ok()?;
            ix::liquidate_into_account(&liquidation, key, by.max_repay, &health, &ix::health_metas(&own))
        }
    })
}
