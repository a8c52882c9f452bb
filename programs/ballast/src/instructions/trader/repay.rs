use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::shares::{debt_amount, repay_shares_for};

use super::MarketTransfer;
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::{BalanceChangeKind, BalanceChanged};

/// Pays back debt. Never risk-increasing, so it needs no oracle and no health check;
/// it frees as much of the market's outflow limit and passes even when the market is
/// reduce-only.
/// `repay_all` repays the exact debt including interest to the second.
pub fn handler(ctx: Context<MarketTransfer>, amount: u64, repay_all: bool) -> Result<()> {
    require!(amount > 0 || repay_all, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.require_open(gates::REPAY, now)?;
    let (amount, shares) = {
        let mut market = ctx.accounts.market.load_mut()?;
        market.accrue_interest(now)?;
        let indices = market.indices();
        let mut account = ctx.accounts.margin_account.load_mut()?;
        let balance = account.find_balance_mut(market.market_index).ok_or(BallastError::PositionNotFound)?;
        let owed_shares = balance.borrow_shares.get();
        require!(owed_shares > 0, BallastError::PositionNotFound);
        let debt = debt_amount(owed_shares, indices.borrow_index).or_ballast()?;
        let amount = if repay_all { to_u64(debt)? } else { amount };
        require_gte!(debt, u128::from(amount), BallastError::RepayExceedsDebt);
        // Repaying the whole debt clears every share; a part clears shares rounded down.
        let shares = if u128::from(amount) == debt {
            owed_shares
        } else {
            repay_shares_for(amount.into(), indices.borrow_index).or_ballast()?
        };
        balance.borrow_shares.set(owed_shares - shares);
        balance.close_if_empty();
        let total = indices.total_borrow_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?;
        market.total_borrow_shares.set(total);
        market.record_inflow(amount);
        market.record_repay(amount, now);
        (amount, shares)
    };
    ctx.accounts.pull_from_owner(amount)?;
    emit!(BalanceChanged {
        margin_account: ctx.accounts.margin_account.key(),
        market: ctx.accounts.market.key(),
        kind: BalanceChangeKind::Repay,
        amount,
        shares,
        init_health_after: None,
    });
    Ok(())
}
