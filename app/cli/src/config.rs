//! The deployment config file (migrations/deploy.example.json), shared with
//! migrations/deploy.ts: snake_case keys, unknown keys refused, u64 caps as strings or
//! integers (JavaScript cannot hold every u64 as a number).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use ballast::MarketConfig;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// JSON-RPC URL of the cluster.
    pub cluster: String,
    /// Websocket URL (used by deploy.ts for confirmations; accepted here for the shared file).
    #[serde(default)]
    pub websocket: Option<String>,
    /// Keypair file of the program's upgrade authority, who becomes the protocol admin.
    pub admin_keypair: PathBuf,
    #[serde(deserialize_with = "pubkey")]
    pub native_mint: Pubkey,
    pub markets: Vec<MarketEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketEntry {
    pub name: String,
    #[serde(deserialize_with = "pubkey")]
    pub mint: Pubkey,
    #[serde(deserialize_with = "pubkey")]
    pub pyth_feed: Pubkey,
    pub config: MarketConfigFile,
}

/// `MarketConfig` as written in the file (no padding field).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfigFile {
    pub init_asset_weight_bps: u32,
    pub maint_asset_weight_bps: u32,
    pub init_liability_weight_bps: u32,
    pub maint_liability_weight_bps: u32,
    pub optimal_utilization_bps: u32,
    pub base_rate_bps: u32,
    pub optimal_rate_bps: u32,
    pub max_rate_bps: u32,
    pub protocol_fee_bps: u32,
    pub oracle_max_age_secs: u32,
    pub oracle_liquidation_max_age_secs: u32,
    pub oracle_max_conf_bps: u32,
    pub oracle_liquidation_max_conf_bps: u32,
    pub oracle_max_ema_deviation_bps: u32,
    pub oracle_conf_multiplier_bps: u32,
    pub liquidation_bonus_bps: u32,
    pub liquidation_insurance_fee_bps: u32,
    #[serde(deserialize_with = "u64_str")]
    pub deposit_cap: u64,
    #[serde(deserialize_with = "u64_str")]
    pub borrow_cap: u64,
}

impl From<MarketConfigFile> for MarketConfig {
    fn from(f: MarketConfigFile) -> MarketConfig {
        MarketConfig {
            init_asset_weight_bps: f.init_asset_weight_bps,
            maint_asset_weight_bps: f.maint_asset_weight_bps,
            init_liability_weight_bps: f.init_liability_weight_bps,
            maint_liability_weight_bps: f.maint_liability_weight_bps,
            optimal_utilization_bps: f.optimal_utilization_bps,
            base_rate_bps: f.base_rate_bps,
            optimal_rate_bps: f.optimal_rate_bps,
            max_rate_bps: f.max_rate_bps,
            protocol_fee_bps: f.protocol_fee_bps,
            oracle_max_age_secs: f.oracle_max_age_secs,
            oracle_liquidation_max_age_secs: f.oracle_liquidation_max_age_secs,
            oracle_max_conf_bps: f.oracle_max_conf_bps,
            oracle_liquidation_max_conf_bps: f.oracle_liquidation_max_conf_bps,
            oracle_max_ema_deviation_bps: f.oracle_max_ema_deviation_bps,
            oracle_conf_multiplier_bps: f.oracle_conf_multiplier_bps,
            liquidation_bonus_bps: f.liquidation_bonus_bps,
            liquidation_insurance_fee_bps: f.liquidation_insurance_fee_bps,
            _padding: 0,
            deposit_cap: f.deposit_cap,
            borrow_cap: f.borrow_cap,
        }
    }
}

impl DeployConfig {
    pub fn parse(text: &str) -> Result<DeployConfig, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<DeployConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        DeployConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The admin keypair path with a leading `~/` expanded.
    pub fn admin_keypair_path(&self) -> PathBuf {
        match (self.admin_keypair.strip_prefix("~"), std::env::var_os("HOME")) {
            (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => self.admin_keypair.clone(),
        }
    }
}

fn pubkey<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
    let s = String::deserialize(d)?;
    Pubkey::from_str(&s).map_err(|e| serde::de::Error::custom(format!("invalid pubkey {s:?}: {e}")))
}

fn u64_str<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum U64 {
        Number(u64),
        Text(String),
    }
    match U64::deserialize(d)? {
        U64::Number(n) => Ok(n),
        U64::Text(s) => s.parse().map_err(|e| serde::de::Error::custom(format!("invalid u64 {s:?}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = include_str!("../../../migrations/deploy.example.json");

    #[test]
    fn the_example_parses() {
        let c = DeployConfig::parse(EXAMPLE).unwrap();
        assert_eq!(c.cluster, "https://api.devnet.solana.com");
        assert_eq!(c.markets.len(), 2);
        assert_eq!(c.markets[0].name, "USDC");
        let usdc = MarketConfig::from(c.markets[0].config);
        assert_eq!((usdc.init_asset_weight_bps, usdc.deposit_cap), (9_000, 10_000_000_000_000));
        assert_eq!(
            MarketConfig::from(c.markets[1].config),
            MarketConfig::conservative(100_000_000_000_000, 80_000_000_000_000)
        );
    }

    #[test]
    fn caps_may_be_numbers_and_mistakes_are_named() {
        let with = |from: &str, to: &str| DeployConfig::parse(&EXAMPLE.replacen(from, to, 1));
        let c = with(r#""deposit_cap": "10000000000000""#, r#""deposit_cap": 7"#).unwrap();
        assert_eq!(c.markets[0].config.deposit_cap, 7);
        let err = with(r#""base_rate_bps""#, r#""base_rate_bsp""#).unwrap_err();
        assert!(err.contains("base_rate_bsp"), "{err}");
        let err = with("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", "not-a-key").unwrap_err();
        assert!(err.contains("invalid pubkey"), "{err}");
        let err = with(r#""deposit_cap": "10000000000000""#, r#""deposit_cap": "-1""#).unwrap_err();
        assert!(err.contains("invalid u64"), "{err}");
    }
}
