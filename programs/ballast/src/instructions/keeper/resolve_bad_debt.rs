use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::oracle::{value_of, OracleAction};

use crate::constants::LIQUIDATION_DUST_VALUE;
use crate::errors::{BallastError, OrBallast};
use crate::health::{find_priced, health_of, load_market_mut, price_markets};
use crate::state::{MarginAccount, Market, Protocol};

#[derive(Accounts)]
pub struct ResolveBadDebt<'info> {
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub market: AccountLoader<'info, Market>,
}

/// Writes off an account's debt in `market` once no collateral worth a liquidation is
/// left: the market's insurance fund pays first, the rest is socialised on the deposit
/// index. Deposits worth less together than the dust threshold (a liquidation's leftover,
/// a few units the owner sent afterwards, a share the index rounds to nothing) do not
/// block it: with maintenance health below zero they are swept into their markets'
/// insurance funds. Permissionless.
/// Remaining accounts: (market, oracle) for every balance the account holds, in slot
/// order, as for a liquidation; the markets of its deposits writable.
pub fn handler(ctx: Context<ResolveBadDebt>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.protocol.load()?.require_open(gates::RESOLVE_BAD_DEBT, now)?;
    let account_key = ctx.accounts.margin_account.key();
    let market_index = {
        let mut market = ctx.accounts.market.load_mut()?;
        market.accrue_interest(now)?;
        market.market_index
    };
    let mut account = ctx.accounts.margin_account.load_mut()?;
    let shares = account.find_balance_mut(market_index).map_or(0, |b| b.borrow_shares.get());
    require!(shares > 0, BallastError::LiabilityNotHeld);

    let dust = dust_deposits(&account, ctx.remaining_accounts, now)?;
    for &(slot, deposit_shares) in &dust {
        let info = &ctx.remaining_accounts[2 * slot];
        let swept = if info.key() == ctx.accounts.market.key() {
            ctx.accounts.market.load_mut()?.sweep_dust_deposit(info.key(), account_key, deposit_shares)?
        } else {
            load_market_mut(info)?.sweep_dust_deposit(info.key(), account_key, deposit_shares)?
        };
        emit!(swept);
    }
    for balance in account.balances.iter_mut().filter(|b| b.active != 0) {
        balance.deposit_shares.set(0);
        balance.close_if_empty();
    }
    let resolved = ctx.accounts.market.load_mut()?.write_off_debt(ctx.accounts.market.key(), account_key, shares)?;
    let balance = account.find_balance_mut(market_index).ok_or(BallastError::LiabilityNotHeld)?;
    balance.borrow_shares.set(0);
    balance.close_if_empty();
    emit!(resolved);
    Ok(())
}

/// The (position among active balances, shares) of every deposit of `account`, which
/// must be worth less together than the dust threshold at liquidation prices
/// (`AccountHasCollateral`) with maintenance health below zero (`AccountHealthy`). A
/// deposit is valued only by a usable feed: a dead feed never lets a real deposit be
/// swept.
fn dust_deposits(account: &MarginAccount, remaining: &[AccountInfo], now: i64) -> Result<Vec<(usize, u128)>> {
    let priced = price_markets(account, remaining, OracleAction::Liquidation, now)?;
    let mut dust = Vec::new();
    let mut value = 0u128;
    for (slot, balance) in account.active_balances().enumerate() {
        let shares = balance.deposit_shares.get();
        if shares == 0 {
            continue;
        }
        let market = find_priced(&priced, balance.market_index)?.require_usable()?;
        let amount = market.deposit(shares)?;
        value = value.saturating_add(value_of(amount, market.prices.asset).or_ballast()?);
        dust.push((slot, shares));
    }
    if dust.is_empty() {
        return Ok(dust);
    }
    require_gt!(LIQUIDATION_DUST_VALUE, value, BallastError::AccountHasCollateral);
    require!(health_of(account, &priced)?.maint().or_ballast()? < 0, BallastError::AccountHealthy);
    Ok(dust)
}
