use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::liquidation::resolve_bad_debt;
use ballast_risk::shares::debt_amount;

use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::BadDebtResolved;
use crate::state::{MarginAccount, Market, Protocol};

#[derive(Accounts)]
pub struct ResolveBadDebt<'info> {
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub market: AccountLoader<'info, Market>,
}

/// Writes off the debt of an account with no collateral left: the market's insurance
/// fund pays first, the rest is socialised on the deposit index. Permissionless.
pub fn handler(ctx: Context<ResolveBadDebt>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.protocol.load()?.require_open(gates::RESOLVE_BAD_DEBT, now)?;
    let mut market = ctx.accounts.market.load_mut()?;
    market.accrue_interest(now)?;
    let mut account = ctx.accounts.margin_account.load_mut()?;
    require!(account.active_balances().all(|b| b.deposit_shares.get() == 0), BallastError::AccountHasCollateral);
    let balance = account.find_balance_mut(market.market_index).ok_or(BallastError::LiabilityNotHeld)?;
    let shares = balance.borrow_shares.get();
    require!(shares > 0, BallastError::LiabilityNotHeld);

    let indices = market.indices();
    let debt = debt_amount(shares, indices.borrow_index).or_ballast()?;
    let r = resolve_bad_debt(debt, market.insurance_fund.into(), indices.total_deposit_shares, indices.deposit_index)
        .or_ballast()?;
    let covered = to_u64(r.covered_by_insurance)?;
    market.insurance_fund -= covered;
    market.deposit_index.set(r.new_deposit_index);
    market.total_borrow_shares.set(indices.total_borrow_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?);
    balance.borrow_shares.set(0);
    balance.close_if_empty();

    emit!(BadDebtResolved {
        margin_account: ctx.accounts.margin_account.key(),
        market: ctx.accounts.market.key(),
        debt: to_u64(debt)?,
        covered_by_insurance: covered,
        socialized: to_u64(r.socialized)?,
        deposit_index_after: r.new_deposit_index,
    });
    Ok(())
}
