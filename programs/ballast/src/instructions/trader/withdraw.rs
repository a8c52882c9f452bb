use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::shares::{deposit_amount, withdraw_shares_for};

use super::MarketTransfer;
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::{BalanceChangeKind, BalanceChanged};
use crate::health::require_init_health;

/// Takes collateral out. The account must keep non-negative initial health, priced from
/// the (market, oracle) pairs of its remaining balances in `remaining_accounts`. The
/// amount counts against the market's outflow limit. A reduce-only market still allows
/// withdrawals under the same health check; the price read here feeds its guard.
pub fn handler(ctx: Context<MarketTransfer>, amount: u64, withdraw_all: bool) -> Result<()> {
    require!(amount > 0 || withdraw_all, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.require_open(gates::WITHDRAW, now)?;
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
        market.record_outflow(amount, now)?;
        balance.deposit_shares.set(held - shares);
        balance.close_if_empty();
        let total = indices.total_deposit_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?;
        market.total_deposit_shares.set(total);
        (amount, shares)
    };
    if amount > 0 {
        ctx.accounts.pay_to_owner(amount)?;
    }
    let (health, priced) =
        require_init_health(&mut *ctx.accounts.margin_account.load_mut()?, ctx.remaining_accounts, now)?;
    ctx.accounts.observe_price(&priced, now)?;
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
