use anchor_lang::prelude::*;
use ballast_risk::shares::{deposit_amount, withdraw_shares_for};

use super::MarketTransfer;
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::{BalanceChangeKind, BalanceChanged};
use crate::health::require_init_health;

/// Takes collateral out. The account must keep non-negative initial health, priced from
/// the (market, oracle) pairs of its remaining balances in `remaining_accounts`.
pub fn handler(ctx: Context<MarketTransfer>, amount: u64, withdraw_all: bool) -> Result<()> {
    require!(amount > 0 || withdraw_all, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let (amount, shares) = {
        let mut market = ctx.accounts.market.load_mut()?;
        market.accrue_interest(now)?;
        let indices = market.indices();
        let mut account = ctx.accounts.margin_account.load_mut()?;
        let balance = account.find_balance_mut(market.market_index).ok_or(BallastError::PositionNotFound)?;
        let held = balance.deposit_shares.get();
        let (amount, shares) = if withdraw_all {
            let all = deposit_amount(held, indices.deposit_index).or_ballast()?;
            (to_u64(all)?, held)
        } else {
            (amount, withdraw_shares_for(amount.into(), indices.deposit_index).or_ballast()?)
        };
        require_gte!(held, shares, BallastError::InsufficientDeposit);
        market.require_liquidity(ctx.accounts.vault.amount, amount)?;
        balance.deposit_shares.set(held - shares);
        balance.close_if_empty();
        let total = indices.total_deposit_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?;
        market.total_deposit_shares.set(total);
        (amount, shares)
    };
    if amount > 0 {
        ctx.accounts.pay_to_owner(amount)?;
    }
    let health = require_init_health(&mut *ctx.accounts.margin_account.load_mut()?, ctx.remaining_accounts, now)?;
    emit!(BalanceChanged {
        margin_account: ctx.accounts.margin_account.key(),
        market: ctx.accounts.market.key(),
        kind: BalanceChangeKind::Withdraw,
        amount,
        shares,
        init_health_after: Some(health),
    });
    Ok(())
}
