use anchor_lang::prelude::*;
use ballast_risk::oracle::{self, OracleAction};
use ballast_risk::Rounding;

use crate::errors::{to_u64, OrBallast};
use crate::events::MarketRefreshed;
use crate::oracle::read_oracle;
use crate::state::Market;

#[derive(Accounts)]
pub struct RefreshMarket<'info> {
    #[account(mut)]
    pub market: AccountLoader<'info, Market>,
    /// CHECK: must be the market's Pyth feed; checked by `read_oracle`.
    pub oracle: UncheckedAccount<'info>,
}

/// Accrues interest (the protocol's share goes to the fee pool), records the latest
/// oracle sample and feeds it to the price move guard and the stable price; a fresh,
/// tight sample at least `min_sample_interval_secs` after the last one also goes into
/// the market's volatility estimate, which moves its regime and weight multipliers. A
/// stale or uncertain feed does not stop interest: the sample is recorded with
/// `oracle_ok = false` for keepers and UIs to see, and reaches the guard and the stable
/// price only if it is fit for a liquidation.
pub fn handler(ctx: Context<RefreshMarket>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let key = ctx.accounts.market.key();
    let mut market = ctx.accounts.market.load_mut()?;
    let elapsed = market.seconds_since_accrual(now);
    let accrual = market.accrue_interest(now)?;

    let reading = read_oracle(&ctx.accounts.oracle, &market.oracle)?;
    let limits = market.config.oracle_limits();
    let oracle_ok = oracle::validate(&reading, &limits, OracleAction::RiskIncreasing, now).is_ok();
    market.last_price = reading.price;
    market.last_conf = reading.conf;
    market.last_ema_price = reading.ema_price;
    market.last_publish_time = reading.publish_time;
    market.last_expo = reading.expo;
    if oracle::validate(&reading, &limits, OracleAction::Liquidation, now).is_ok() {
        let price = oracle::mid_price(&reading, market.decimals, Rounding::Down).or_ballast()?;
        if let Some(tripped) = market.observe_price(key, price, now)? {
            emit!(tripped);
        }
        market.observe_stable_price(price, now)?;
    }
    // Volatility in whole-token prices, like the native token's: returns do not depend
    // on the unit, and a whole token keeps small prices precise.
    let mut volatility_sampled = false;
    if oracle::validate(&reading, &limits, OracleAction::VolatilitySample, now).is_ok() {
        let price_wad = oracle::mid_price(&reading, 0, Rounding::Down).or_ballast()?;
        let (sampled, changed) = market.track_volatility(key, price_wad, now)?;
        volatility_sampled = sampled;
        if let Some(changed) = changed {
            emit!(changed);
        }
    }

    emit!(MarketRefreshed {
        market: key,
        elapsed_secs: elapsed,
        deposit_index: accrual.deposit_index,
        borrow_index: accrual.borrow_index,
        protocol_fee: to_u64(accrual.protocol_fee)?,
        oracle_ok,
        price: reading.price,
        expo: reading.expo,
        volatility_sampled,
        regime: market.volatility.regime,
        stable_price: market.stable_price.stable_price.get(),
    });
    Ok(())
}
