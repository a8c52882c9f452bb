//! The age of every feed the protocol depends on (each market's and the native token's),
//! against the oldest price a liquidation accepts: a feed past it stops liquidations in
//! its market, so the keeper reports it in its metrics and turns `/healthz` unhealthy.
//! No network here: the bot fetches the accounts, this judges them.

use anchor_lang::prelude::Pubkey;
use ballast::{Market, Protocol};
use ballast_risk::oracle::OracleReading;

/// One feed as the last scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    /// `native`, or the market's address.
    pub label: String,
    pub address: Pubkey,
    /// Seconds since the price was published; `None` when the account is missing or
    /// does not read as its kind (for the program, as good as dead).
    pub age_secs: Option<i64>,
    /// The oldest price a liquidation (for the native feed: any action) accepts.
    pub max_age_secs: i64,
}

impl FeedStatus {
    /// A market's feed, read as `reading` (`None`: it does not read), at `now`.
    pub fn of_market(key: &Pubkey, market: &Market, reading: Option<&OracleReading>, now: i64) -> Self {
        let max_age = market.config.oracle_liquidation_max_age_secs;
        FeedStatus::new(key.to_string(), market.oracle.address, reading, max_age, now)
    }

    /// The native token's feed, against its (only) age limit.
    pub fn of_native(protocol: &Protocol, reading: Option<&OracleReading>, now: i64) -> Self {
        let max_age = protocol.config.native_oracle_max_age_secs;
        FeedStatus::new("native".to_string(), protocol.native_oracle.address, reading, max_age, now)
    }

    fn new(label: String, address: Pubkey, reading: Option<&OracleReading>, max_age: u32, now: i64) -> Self {
        FeedStatus {
            label,
            address,
            // A publish time ahead of the clock counts as fresh, as in the program.
            age_secs: reading.map(|r| now.saturating_sub(r.publish_time).max(0)),
            max_age_secs: i64::from(max_age),
        }
    }

    /// Too old for a liquidation, or unreadable.
    pub fn is_stale(&self) -> bool {
        self.age_secs.is_none_or(|age| age > self.max_age_secs)
    }

    /// Why `/healthz` fails, for a stale feed.
    pub fn describe(&self) -> String {
        match self.age_secs {
            Some(age) => {
                format!("feed {} ({}) is {age} s old, limit {} s", self.label, self.address, self.max_age_secs)
            }
            None => format!("feed {} ({}) does not read", self.label, self.address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(age_secs: Option<i64>) -> FeedStatus {
        FeedStatus { label: "m".into(), address: Pubkey::new_unique(), age_secs, max_age_secs: 600 }
    }

    #[test]
    fn a_feed_is_stale_past_its_limit_or_when_it_does_not_read() {
        assert!(!status(Some(0)).is_stale());
        assert!(!status(Some(600)).is_stale());
        assert!(status(Some(601)).is_stale());
        assert!(status(None).is_stale());
        assert!(status(None).describe().ends_with("does not read"));
        assert!(status(Some(601)).describe().ends_with("is 601 s old, limit 600 s"));
    }

    #[test]
    fn age_is_measured_from_the_publish_time_and_never_negative() {
        let r = |publish_time| OracleReading { price: 1, conf: 0, ema_price: 1, expo: 0, publish_time };
        let market: Market = bytemuck::Zeroable::zeroed();
        let key = Pubkey::new_unique();
        assert_eq!(FeedStatus::of_market(&key, &market, Some(&r(900)), 1_000).age_secs, Some(100));
        assert_eq!(FeedStatus::of_market(&key, &market, Some(&r(1_005)), 1_000).age_secs, Some(0));
        let dead = FeedStatus::of_market(&key, &market, None, 1_000);
        assert_eq!((dead.age_secs, dead.label), (None, key.to_string()));
    }
}
