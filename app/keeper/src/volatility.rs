//! Cranking the volatility estimates: the native token's (`update_volatility`, which
//! moves emissions, buyback budgets and exit penalties) and every market's own
//! (`refresh_market`, which moves that market's weights). Once the minimum interval since
//! the last sample has passed and the feed is fit for sampling (the program's own
//! check), the keeper sends the crank. A market whose interest was last accrued
//! [`ACCRUAL_REFRESH_SECS`] ago is refreshed whatever its feed says, since one accrual
//! counts at most `MAX_ACCRUAL_SECS` of interest. No network here: the bot fetches,
//! this decides.

use anchor_lang::solana_program::instruction::Instruction;
use ballast::Protocol;
use ballast_client::ix;
use ballast_risk::interest::MAX_ACCRUAL_SECS;
use ballast_risk::oracle::{self, OracleAction, OracleReading};
use ballast_risk::RiskError;

use crate::scan::MarketSnapshot;

/// Why no crank is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Too soon after the last sample: the crank is due at this time.
    Until(i64),
    /// The native feed is stale or uncertain: the program would refuse the sample.
    NativeOracle(RiskError),
}

/// When the native token's next sample may land (the program's rule,
/// `VolatilityRecord::next_sample_at`).
pub fn next_sample_at(protocol: &Protocol) -> i64 {
    protocol.volatility.next_sample_at(&protocol.config.volatility)
}

/// The crank to send at `now` for the native feed `reading`, or why not.
pub fn plan_update(protocol: &Protocol, reading: &OracleReading, now: i64) -> Result<Instruction, Wait> {
    let due = next_sample_at(protocol);
    if now < due {
        return Err(Wait::Until(due));
    }
    oracle::validate(reading, &protocol.config.native_oracle_limits(), OracleAction::VolatilitySample, now)
        .map_err(Wait::NativeOracle)?;
    Ok(ix::update_volatility(protocol.native_mint, protocol.native_oracle.address))
}

/// A market is refreshed at least this often to accrue its interest, with half an
/// accrual's cap to spare.
pub const ACCRUAL_REFRESH_SECS: i64 = MAX_ACCRUAL_SECS as i64 / 2;

/// `refresh_market` for every market whose own volatility sample is due at `now` and
/// whose feed the program would sample, or whose interest is due to be accrued (see
/// [`ACCRUAL_REFRESH_SECS`]); and the earliest time another one falls due.
pub fn plan_market_samples(markets: &[MarketSnapshot], now: i64) -> (Vec<Instruction>, Option<i64>) {
    let mut next: Option<i64> = None;
    let mut cranks = Vec::new();
    for m in markets {
        let accrual_due = m.market.last_accrual_ts.saturating_add(ACCRUAL_REFRESH_SECS);
        let sample_due = m.market.volatility.next_sample_at(&m.market.config.volatility);
        let limits = m.market.config.oracle_limits();
        let sample =
            now >= sample_due && oracle::validate(&m.reading, &limits, OracleAction::VolatilitySample, now).is_ok();
        if sample || now >= accrual_due {
            cranks.push(ix::refresh_market(m.key, m.market.oracle.address));
            continue;
        }
        let due = if now < sample_due { sample_due.min(accrual_due) } else { accrual_due };
        next = Some(next.map_or(due, |n| n.min(due)));
    }
    (cranks, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;
    use ballast::{Market, MarketConfig, ProtocolConfig};

    const NOW: i64 = 1_750_000_000;

    /// A record last sampled at `ts` (0: never sampled).
    fn sampled_at(record: &mut ballast::VolatilityRecord, ts: i64) {
        if ts != 0 {
            record.last_sample_ts = ts;
            record.last_price_wad.set(2 * ballast_risk::WAD);
        }
    }

    fn protocol(last_sample_ts: i64) -> Protocol {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.config = ProtocolConfig::standard();
        p.native_mint = Pubkey::new_unique();
        p.native_oracle = ballast::OracleSource::legacy(Pubkey::new_unique());
        sampled_at(&mut p.volatility, last_sample_ts);
        p
    }

    fn reading(publish_time: i64) -> OracleReading {
        OracleReading { price: 200_000_000, conf: 200_000, ema_price: 200_000_000, expo: -8, publish_time }
    }

    fn market(last_sample_ts: i64, publish_time: i64) -> MarketSnapshot {
        let mut market: Market = bytemuck::Zeroable::zeroed();
        market.config = MarketConfig::conservative(1_000_000, 800_000);
        market.oracle = ballast::OracleSource::legacy(Pubkey::new_unique());
        sampled_at(&mut market.volatility, last_sample_ts);
        market.last_accrual_ts = NOW;
        MarketSnapshot { key: Pubkey::new_unique(), market, reading: reading(publish_time) }
    }

    #[test]
    fn waits_for_the_interval_and_a_fit_feed() {
        let p = protocol(NOW - 30);
        assert_eq!(plan_update(&p, &reading(NOW), NOW).unwrap_err(), Wait::Until(NOW + 30));
        assert!(plan_update(&p, &reading(NOW + 30), NOW + 30).is_ok());
        assert_eq!(
            plan_update(&p, &reading(NOW - 61), NOW + 30).unwrap_err(),
            Wait::NativeOracle(RiskError::OracleStale)
        );
        let wide = OracleReading { conf: 20_000_000, ..reading(NOW + 30) };
        assert_eq!(plan_update(&p, &wide, NOW + 30).unwrap_err(), Wait::NativeOracle(RiskError::OracleTooUncertain));
    }

    #[test]
    fn the_first_sample_is_due_at_once() {
        let p = protocol(0);
        assert_eq!(next_sample_at(&p), i64::MIN);
        assert!(plan_update(&p, &reading(NOW), NOW).is_ok());
    }

    #[test]
    fn markets_are_sampled_when_due_and_fit() {
        // Due and fresh; due but stale; not due for 30 s.
        let markets = [market(NOW - 60, NOW), market(0, NOW - 3_600), market(NOW - 30, NOW)];
        let (cranks, next) = plan_market_samples(&markets, NOW);
        assert_eq!(cranks.len(), 1);
        assert!(cranks[0].accounts.iter().any(|a| a.pubkey == markets[0].key && a.is_writable));
        assert_eq!(next, Some(NOW + 30));
    }

    #[test]
    fn a_market_is_refreshed_for_its_interest_whatever_its_feed() {
        // Stale feed, sample due: nothing until the interest is due half an hour on.
        let mut stale = market(0, NOW - 3_600);
        assert_eq!(plan_market_samples(&[stale], NOW), (vec![], Some(NOW + ACCRUAL_REFRESH_SECS)));
        stale.market.last_accrual_ts = NOW - ACCRUAL_REFRESH_SECS;
        let (cranks, next) = plan_market_samples(&[stale], NOW);
        assert_eq!((cranks.len(), next), (1, None));
    }
}
