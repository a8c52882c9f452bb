//! Cranking `update_volatility`: once the minimum interval since the last sample has
//! passed and the native feed is fit for sampling (the program's own check), the keeper
//! sends the crank. No network here: the bot fetches, this decides.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::Protocol;
use ballast_client::ix;
use ballast_risk::oracle::{self, OracleAction, OracleReading};
use ballast_risk::RiskError;

/// Why no crank is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Too soon after the last sample: the crank is due at this time.
    Until(i64),
    /// The native feed is stale or uncertain: the program would refuse the sample.
    NativeOracle(RiskError),
}

/// When the next sample may land (at once before the first one).
pub fn next_sample_at(protocol: &Protocol) -> i64 {
    let last = protocol.volatility.last_sample_ts;
    if last == 0 {
        return i64::MIN;
    }
    last.saturating_add(i64::from(protocol.config.volatility.min_sample_interval_secs))
}

/// The crank to send at `now` for the native feed `reading`, or why not.
pub fn plan_update(protocol: &Protocol, reading: &OracleReading, now: i64) -> Result<Instruction, Wait> {
    let due = next_sample_at(protocol);
    if now < due {
        return Err(Wait::Until(due));
    }
    oracle::validate(reading, &protocol.config.native_oracle_limits(), OracleAction::VolatilitySample, now)
        .map_err(Wait::NativeOracle)?;
    let native_market = (protocol.native_market != Pubkey::default()).then_some(protocol.native_market);
    Ok(ix::update_volatility(protocol.native_mint, protocol.native_oracle.address, native_market))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast::ProtocolConfig;

    const NOW: i64 = 1_750_000_000;

    fn protocol(last_sample_ts: i64, native_market: Pubkey) -> Protocol {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.config = ProtocolConfig::standard();
        p.native_mint = Pubkey::new_unique();
        p.native_oracle = ballast::OracleSource::legacy(Pubkey::new_unique());
        p.native_market = native_market;
        p.volatility.last_sample_ts = last_sample_ts;
        p
    }

    fn reading(publish_time: i64) -> OracleReading {
        OracleReading { price: 200_000_000, conf: 200_000, ema_price: 200_000_000, expo: -8, publish_time }
    }

    #[test]
    fn waits_for_the_interval_and_a_fit_feed() {
        let p = protocol(NOW - 30, Pubkey::default());
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
        let p = protocol(0, Pubkey::default());
        assert_eq!(next_sample_at(&p), i64::MIN);
        assert!(plan_update(&p, &reading(NOW), NOW).is_ok());
    }

    #[test]
    fn passes_the_native_market_once_listed() {
        let market = Pubkey::new_unique();
        let with = plan_update(&protocol(0, market), &reading(NOW), NOW).unwrap();
        assert!(with.accounts.iter().any(|a| a.pubkey == market && a.is_writable));
        let without = plan_update(&protocol(0, Pubkey::default()), &reading(NOW), NOW).unwrap();
        // An absent optional account is passed as the program id.
        assert!(without.accounts.iter().any(|a| a.pubkey == ballast::ID));
    }
}
