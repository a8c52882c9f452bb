use anchor_lang::prelude::*;
use ballast_risk::fixed::apply_bps;
use ballast_risk::gates;
use ballast_risk::Rounding;

use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::FeesSwept;
use crate::staking;
use crate::state::{Market, Protocol};

#[derive(Accounts)]
pub struct SweepFees<'info> {
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub market: AccountLoader<'info, Market>,
}

/// Accrues interest, then splits the market's protocol fees into its insurance fund,
/// buyback pool and staker stream by the governance shares (permissionless). The
/// tokens stay in the market's vault; only their earmark changes.
pub fn handler(ctx: Context<SweepFees>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    protocol.require_open(gates::SWEEP_FEES, now)?;
    let mut market = ctx.accounts.market.load_mut()?;
    market.accrue_interest(now)?;
    let fees = core::mem::take(&mut market.accrued_protocol_fees);
    require_gt!(fees, 0, BallastError::NothingToSweep);

    let cfg = protocol.config;
    let share = |bps: u32| apply_bps(u128::from(fees), u128::from(bps), Rounding::Down).or_ballast().and_then(to_u64);
    let mut to_insurance = share(cfg.fee_insurance_bps)?;
    let mut to_stakers = share(cfg.fee_stakers_bps)?;
    // The buyback pool takes the rounding remainder, so every unit is accounted for.
    let mut to_buyback = fees - to_insurance - to_stakers;
    let native_market = market.mint == protocol.native_mint;
    if native_market {
        // Buying the native token with itself is pointless: its buyback share is
        // already native tokens, so it goes to stakers.
        to_stakers += core::mem::take(&mut to_buyback);
    }
    if protocol.total_weight() == 0 {
        // Nobody to pay: put it to work rather than leave it idle for a first staker.
        let idle = core::mem::take(&mut to_stakers);
        if native_market {
            to_insurance += idle;
        } else {
            to_buyback += idle;
        }
    }
    if to_stakers > 0 {
        let stream = staking::market_stream(market.market_index)?;
        staking::add_to_stream(&mut protocol, stream, to_stakers, now)?;
    }
    market.insurance_fund = market.insurance_fund.checked_add(to_insurance).ok_or(BallastError::MathOverflow)?;
    market.buyback_pool = market.buyback_pool.checked_add(to_buyback).ok_or(BallastError::MathOverflow)?;
    market.staker_pool = market.staker_pool.checked_add(to_stakers).ok_or(BallastError::MathOverflow)?;
    emit!(FeesSwept { market: ctx.accounts.market.key(), to_insurance, to_buyback, to_stakers });
    Ok(())
}
