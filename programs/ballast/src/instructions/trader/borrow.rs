use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::shares::borrow_shares_for;

use super::MarketTransfer;
use crate::errors::{BallastError, OrBallast};
use crate::events::{BalanceChangeKind, BalanceChanged};
use crate::health::{find_priced, require_init_health};

/// Lends `amount` from the market's vault. The account must keep non-negative initial
/// health, priced from the (market, oracle) pairs of its balances in `remaining_accounts`.
/// Refused while the market is reduce-only, including when the price read here trips
/// its guard; the amount counts against the market's outflow limit and, valued at the
/// liability price read here, against its USD borrow limit per window.
pub fn handler(ctx: Context<MarketTransfer>, amount: u64) -> Result<()> {
    require!(amount > 0, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.require_open(gates::BORROW, now)?;
    let shares = {
        let mut market = ctx.accounts.market.load_mut()?;
        market.require_not_reduce_only(now)?;
        market.accrue_interest(now)?;
        let indices = market.indices();
        let after = indices.total_borrows().or_ballast()? + u128::from(amount);
        require_gte!(u128::from(market.config.borrow_cap), after, BallastError::BorrowCapExceeded);
        market.require_liquidity(ctx.accounts.vault.amount, amount)?;
        market.record_outflow(amount, now)?;
        let shares = borrow_shares_for(amount.into(), indices.borrow_index).or_ballast()?;
        let total = indices.total_borrow_shares.checked_add(shares).ok_or(BallastError::MathOverflow)?;
        market.total_borrow_shares.set(total);

        let mut account = ctx.accounts.margin_account.load_mut()?;
        let balance = account.find_or_open_balance(market.market_index).ok_or(BallastError::TooManyPositions)?;
        require!(balance.deposit_shares.get() == 0, BallastError::MixedPosition);
        let owed = balance.borrow_shares.get().checked_add(shares).ok_or(BallastError::MathOverflow)?;
        balance.borrow_shares.set(owed);
        shares
    };
    ctx.accounts.pay_to_owner(amount)?;
    let (health, priced) =
        require_init_health(&mut *ctx.accounts.margin_account.load_mut()?, ctx.remaining_accounts, now)?;
    // A trip by this very price makes the market reduce-only now. (The failure undoes
    // the trip too; the next refresh, withdrawal or liquidation records it.)
    require!(!ctx.accounts.observe_price(&priced, now)?, BallastError::MarketReduceOnly);
    {
        let mut market = ctx.accounts.market.load_mut()?;
        let price = find_priced(&priced, market.market_index)?.prices.liability;
        market.record_borrow(amount, price, now)?;
    }
    emit!(BalanceChanged {
        margin_account: ctx.accounts.margin_account.key(),
        market: ctx.accounts.market.key(),
        kind: BalanceChangeKind::Borrow,
        amount,
        shares,
        init_health_after: Some(health),
    });
    Ok(())
}
