//! Health checks: prices every balance of a margin account from the (market, oracle)
//! pairs passed as remaining accounts, one pair per active balance in slot order.

use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use ballast_risk::health::{Health, HealthPosition};
use ballast_risk::oracle::OracleAction;
use ballast_risk::shares::{debt_amount, deposit_amount};
use core::cell::Ref;

use crate::errors::{BallastError, OrBallast};
use crate::oracle::valuation_prices;
use crate::state::{MarginAccount, Market, MARKET_SIZE};

/// Borrows a market account's data after checking its owner and discriminator.
pub fn load_market<'a>(info: &'a AccountInfo) -> Result<Ref<'a, Market>> {
    if info.owner != &crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    let data = info.try_borrow_data()?;
    if data.len() < MARKET_SIZE {
        return Err(ErrorCode::AccountDidNotDeserialize.into());
    }
    if &data[..8] != Market::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(Ref::map(data, |d| bytemuck::from_bytes(&d[8..MARKET_SIZE])))
}

/// Health of `account` priced for `action`.
pub fn account_health(
    account: &MarginAccount,
    remaining: &[AccountInfo],
    action: OracleAction,
    now: i64,
) -> Result<Health> {
    let active = account.active_balances().count();
    require_eq!(remaining.len(), 2 * active, BallastError::HealthAccountsMismatch);
    let mut health = Health::default();
    for (balance, pair) in account.active_balances().zip(remaining.chunks_exact(2)) {
        let market = load_market(&pair[0])?;
        require_keys_eq!(market.protocol, account.protocol, BallastError::WrongProtocol);
        require_eq!(market.market_index, balance.market_index, BallastError::HealthAccountsMismatch);
        // Includes interest not yet written, so no check runs on understated debt.
        let indices = market.accrual_at(now)?;
        let prices = valuation_prices(&pair[1], &market, action, now)?;
        health
            .add(&HealthPosition {
                deposit: deposit_amount(balance.deposit_shares.get(), indices.deposit_index).or_ballast()?,
                borrow: debt_amount(balance.borrow_shares.get(), indices.borrow_index).or_ballast()?,
                prices,
                weights: market.config.weights(),
            })
            .or_ballast()?;
    }
    Ok(health)
}

/// Fails unless `account` keeps non-negative initial health; caches the result.
pub fn require_init_health(account: &mut MarginAccount, remaining: &[AccountInfo], now: i64) -> Result<i128> {
    let health = account_health(account, remaining, OracleAction::RiskIncreasing, now)?;
    let init = health.init().or_ballast()?;
    account.cached_init_health.set(init);
    account.cached_maint_health.set(health.maint().or_ballast()?);
    account.health_updated_at = now;
    require!(init >= 0, BallastError::BelowInitialHealth);
    Ok(init)
}
