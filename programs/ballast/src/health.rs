//! Health checks: prices every balance of a margin account from the (market, oracle)
//! pairs passed as remaining accounts, one pair per active balance in slot order.

use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use ballast_risk::health::{Health, HealthPosition, Weights};
use ballast_risk::interest::MarketIndices;
use ballast_risk::liquidation::LiquidationInput;
use ballast_risk::oracle::{OracleAction, ValuationPrices};
use ballast_risk::shares::{debt_amount, deposit_amount};
use ballast_risk::RiskError;
use core::cell::{Ref, RefMut};

use crate::constants::LIQUIDATION_DUST_VALUE;
use crate::errors::{BallastError, OrBallast};
use crate::oracle::read_oracle;
use crate::state::{MarginAccount, Market, MarketConfig, MARKET_SIZE};

/// Fails unless `data` is a market account's.
fn check_market_data(info: &AccountInfo, data: &[u8]) -> Result<()> {
    if info.owner != &crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    if data.len() < MARKET_SIZE {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    if &data[..8] != Market::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(())
}

/// Borrows a market account's data after checking its owner and discriminator.
pub fn load_market<'a>(info: &'a AccountInfo) -> Result<Ref<'a, Market>> {
    let data = info.try_borrow_data()?;
    check_market_data(info, &data)?;
    Ok(Ref::map(data, |d| bytemuck::from_bytes(&d[8..MARKET_SIZE])))
}

/// Borrows a market account's data mutably: as [`load_market`], and it must have been
/// passed writable (`MarketNotWritable`).
pub fn load_market_mut<'a>(info: &'a AccountInfo) -> Result<RefMut<'a, Market>> {
    require!(info.is_writable, BallastError::MarketNotWritable);
    let data = info.try_borrow_mut_data()?;
    check_market_data(info, &data)?;
    Ok(RefMut::map(data, |d| bytemuck::from_bytes_mut(&mut d[8..MARKET_SIZE])))
}

/// One market as a health check sees it: read once per instruction, so a check before
/// and after a change uses the very same prices.
#[derive(Debug, Clone, Copy)]
pub struct PricedMarket {
    pub market_index: u16,
    /// Indices including interest up to now, even if nobody refreshed the market.
    pub indices: MarketIndices,
    /// Conservative prices for maintenance health (and liquidation).
    pub prices: ValuationPrices,
    /// Prices for initial health: `prices` bounded by the market's stable price.
    pub init_prices: ValuationPrices,
    /// Oracle price per base unit, rounded down and up (the exchange rate of liquidations).
    pub mid_down: u128,
    pub mid_up: u128,
    pub weights: Weights,
    /// Why the feed is unusable, in a liquidation's check (which then values this
    /// market's deposits at zero); always `None` in a risk-increasing check.
    pub unusable: Option<RiskError>,
}

impl PricedMarket {
    /// Fails with the feed's own error unless it may be used to move tokens: a
    /// liquidation repays and seizes only in markets priced by a usable feed.
    pub fn require_usable(&self) -> Result<&PricedMarket> {
        match self.unusable {
            None => Ok(self),
            Some(reason) => Err(reason).or_ballast(),
        }
    }

    pub fn deposit(&self, shares: u128) -> Result<u128> {
        deposit_amount(shares, self.indices.deposit_index).or_ballast()
    }

    pub fn debt(&self, shares: u128) -> Result<u128> {
        debt_amount(shares, self.indices.borrow_index).or_ballast()
    }
}

/// Reads the (market, oracle) pair of every active balance of `account` and prices it
/// for `action` (see [`Market::price`]).
pub fn price_markets(
    account: &MarginAccount,
    remaining: &[AccountInfo],
    action: OracleAction,
    now: i64,
) -> Result<Vec<PricedMarket>> {
    let active = account.active_balances().count();
    require_eq!(remaining.len(), 2 * active, BallastError::HealthAccountsMismatch);
    let mut priced = Vec::with_capacity(active);
    for (balance, pair) in account.active_balances().zip(remaining.chunks_exact(2)) {
        let market = load_market(&pair[0])?;
        require_keys_eq!(market.protocol, account.protocol, BallastError::WrongProtocol);
        require_eq!(market.market_index, balance.market_index, BallastError::HealthAccountsMismatch);
        let reading = read_oracle(&pair[1], &market.oracle)?;
        priced.push(market.price(&reading, action, now)?);
    }
    Ok(priced)
}

/// The priced entry of `market_index`.
pub fn find_priced(priced: &[PricedMarket], market_index: u16) -> Result<&PricedMarket> {
    priced.iter().find(|p| p.market_index == market_index).ok_or(error!(BallastError::HealthAccountsMismatch))
}

/// Health of `account` with prices read earlier by [`price_markets`].
pub fn health_of(account: &MarginAccount, priced: &[PricedMarket]) -> Result<Health> {
    let mut health = Health::default();
    for balance in account.active_balances() {
        let market = find_priced(priced, balance.market_index)?;
        health
            .add(&HealthPosition {
                deposit: market.deposit(balance.deposit_shares.get())?,
                borrow: market.debt(balance.borrow_shares.get())?,
                prices: market.prices,
                init_prices: market.init_prices,
                weights: market.weights,
            })
            .or_ballast()?;
    }
    Ok(health)
}

/// Inputs of a liquidation that repays `debt` tokens owed in `liability` against
/// `collateral` tokens held in `asset` (whose config sets the bonus and fee), for an
/// account of health `before`. The program and the keeper both size with this.
pub fn liquidation_input(
    before: &Health,
    liability: &PricedMarket,
    debt: u128,
    asset: &PricedMarket,
    collateral: u128,
    asset_config: &MarketConfig,
) -> Result<LiquidationInput> {
    Ok(LiquidationInput {
        init_health: before.init().or_ballast()?,
        debt,
        collateral,
        // The liquidator pays at the lower and receives at the higher rounding of the
        // oracle price: both round against the liquidator.
        liability_mid_price: liability.mid_down,
        asset_mid_price: asset.mid_up,
        // Liquidation restores initial health, so it is sized at initial health's prices.
        liability_health_price: liability.init_prices.liability,
        asset_health_price: asset.init_prices.asset,
        liability_init_weight_bps: liability.weights.init_liability_bps,
        asset_init_weight_bps: asset.weights.init_asset_bps,
        bonus_bps: asset_config.liquidation_bonus_bps,
        insurance_fee_bps: asset_config.liquidation_insurance_fee_bps,
        dust_value: LIQUIDATION_DUST_VALUE,
    })
}

/// Writes `health` into the account's cache.
pub fn cache_health(account: &mut MarginAccount, health: &Health, now: i64) -> Result<()> {
    account.cached_init_health.set(health.init().or_ballast()?);
    account.cached_maint_health.set(health.maint().or_ballast()?);
    account.health_updated_at = now;
    Ok(())
}

/// Fails unless `account` keeps non-negative initial health; caches the result.
/// Returns the initial health and the prices it was computed with.
pub fn require_init_health(
    account: &mut MarginAccount,
    remaining: &[AccountInfo],
    now: i64,
) -> Result<(i128, Vec<PricedMarket>)> {
    let priced = price_markets(account, remaining, OracleAction::RiskIncreasing, now)?;
    let health = health_of(account, &priced)?;
    cache_health(account, &health, now)?;
    let init = health.init().or_ballast()?;
    require!(init >= 0, BallastError::BelowInitialHealth);
    Ok((init, priced))
}
