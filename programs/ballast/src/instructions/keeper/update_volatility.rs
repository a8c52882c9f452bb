use anchor_lang::prelude::*;
use ballast_risk::gates;
use ballast_risk::oracle::{self, OracleAction};
use ballast_risk::Rounding;

use crate::errors::OrBallast;
use crate::events::{RegimeChanged, VolatilitySampled};
use crate::instructions::trader::stake_accounts::*;
use crate::oracle::read_oracle;

#[derive(Accounts)]
pub struct UpdateVolatility<'info> {
    /// The staking pool: emissions up to now are minted at the old regime's rate
    /// before the regime may change it.
    pub pool: StakePool<'info>,
    /// CHECK: must be the native token's Pyth feed; checked by `read_oracle`.
    pub native_oracle: UncheckedAccount<'info>,
}

/// Samples the native token's price into the volatility estimate and moves the regime
/// that sets emissions, buyback budgets and exit penalties (permissionless keeper crank,
/// at most once per `min_sample_interval_secs`). The native token's own market, like
/// every market, samples its own regime for its weights in `refresh_market`.
pub fn handler(ctx: Context<UpdateVolatility>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::UPDATE_VOLATILITY, now)?;
    pool.accrue(now)?;

    let mut protocol = pool.protocol.load_mut()?;
    let cfg = protocol.config;
    // Only a fresh, tight price is sampled (a stale or uncertain feed would teach the
    // estimate noise), however far from its EMA: refusing those would hide a crash from
    // the estimate. Each sample's return is capped by `ballast_risk::volatility`.
    let reading = read_oracle(&ctx.accounts.native_oracle, &protocol.native_oracle)?;
    oracle::validate(&reading, &cfg.native_oracle_limits(), OracleAction::VolatilitySample, now).or_ballast()?;
    let price_wad = oracle::mid_price(&reading, 0, Rounding::Down).or_ballast()?;

    let (before, after) = protocol.volatility.track(price_wad, now, &cfg.volatility)?;
    let vol = protocol.volatility.state();
    let settings = cfg.regime(after.regime);
    emit!(VolatilitySampled {
        price_wad,
        ema_price_wad: vol.ema_price_wad,
        annual_vol_bps: vol.annual_vol_bps,
        drawdown_bps: vol.drawdown_bps,
        regime: after.regime as u8,
        timestamp: now,
    });
    if after.regime != before.regime {
        emit!(RegimeChanged {
            from: before.regime as u8,
            to: after.regime as u8,
            annual_vol_bps: vol.annual_vol_bps,
            drawdown_bps: vol.drawdown_bps,
            emission_rate_per_sec: settings.emission_rate_per_sec,
            buyback_budget_bps: settings.buyback_budget_bps,
            premium_cap_bps: settings.premium_cap_bps,
            exit_penalty_bps: settings.exit_penalty_bps,
            timestamp: now,
        });
    }
    Ok(())
}
