use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::shares::deposit_shares_for;

use super::MarketTransfer;
use crate::errors::{BallastError, OrBallast};
use crate::events::{BalanceChangeKind, BalanceChanged};

/// Adds collateral. Never risk-increasing, so it needs no oracle and no health check;
/// it frees as much of the market's outflow limit and passes even when the market is
/// reduce-only.
pub fn handler(ctx: Context<MarketTransfer>, amount: u64) -> Result<()> {
    require!(amount > 0, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.require_open(gates::DEPOSIT, now)?;
    let (shares, market_index) = {
        let mut market = ctx.accounts.market.load_mut()?;
        market.accrue_interest(now)?;
        let indices = market.indices();
        let after = indices.total_deposits().or_ballast()? + u128::from(amount);
        require_gte!(u128::from(market.config.deposit_cap), after, BallastError::DepositCapExceeded);
        let shares = deposit_shares_for(amount.into(), indices.deposit_index).or_ballast()?;
        require!(shares > 0, BallastError::AmountTooSmall);
        market
            .total_deposit_shares
            .set(indices.total_deposit_shares.checked_add(shares).ok_or(BallastError::MathOverflow)?);
        market.record_inflow(amount);
        (shares, market.market_index)
    };
    {
        let mut account = ctx.accounts.margin_account.load_mut()?;
        let balance = account.find_or_open_balance(market_index).ok_or(BallastError::TooManyPositions)?;
        require!(balance.borrow_shares.get() == 0, BallastError::MixedPosition);
        let total = balance.deposit_shares.get().checked_add(shares).ok_or(BallastError::MathOverflow)?;
        balance.deposit_shares.set(total);
    }
    ctx.accounts.pull_from_owner(amount)?;
    emit!(BalanceChanged {
        margin_account: ctx.accounts.margin_account.key(),
        market: ctx.accounts.market.key(),
        kind: BalanceChangeKind::Deposit,
        amount,
        shares,
        init_health_after: None,
    });
    Ok(())
}
