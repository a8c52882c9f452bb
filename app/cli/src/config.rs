//! The deployment config file (migrations/deploy.example.json), shared with
//! migrations/deploy.ts: snake_case keys, unknown keys refused, u64 caps as strings or
//! integers (JavaScript cannot hold every u64 as a number). A market's `config` has the
//! fields of `MarketConfig` in idl/ballast.json (nested structs such as `breakers` as
//! objects), so new fields need no change here.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use ballast::{MarketConfig, ProtocolConfig};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

const IDL: &str = include_str!("../../../idl/ballast.json");

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
    /// Pyth price account of the native token.
    #[serde(deserialize_with = "pubkey")]
    pub native_oracle: Pubkey,
    #[serde(deserialize_with = "config_struct")]
    pub protocol_config: ProtocolConfig,
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
    #[serde(deserialize_with = "config_struct")]
    pub config: MarketConfig,
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
    let s = <String as Deserialize>::deserialize(d)?;
    Pubkey::from_str(&s).map_err(|e| serde::de::Error::custom(format!("invalid pubkey {s:?}: {e}")))
}

fn config_struct<'de, D: Deserializer<'de>, T: FromFields>(d: D) -> Result<T, D::Error> {
    T::from_fields(&<Map<String, Value> as Deserialize>::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Building a config struct from named fields, in the IDL's (= borsh) order.
pub trait FromFields: Sized {
    fn from_fields(fields: &Map<String, Value>) -> Result<Self, String>;
}

impl FromFields for MarketConfig {
    fn from_fields(fields: &Map<String, Value>) -> Result<MarketConfig, String> {
        from_idl_fields("MarketConfig", fields)
    }
}

impl FromFields for ProtocolConfig {
    fn from_fields(fields: &Map<String, Value>) -> Result<ProtocolConfig, String> {
        from_idl_fields("ProtocolConfig", fields)
    }
}

/// The struct `type_name` of the IDL (integer fields and nested structs) from named JSON
/// fields: every field required, unknown and padding fields refused.
fn from_idl_fields<T: AnchorDeserialize>(type_name: &str, fields: &Map<String, Value>) -> Result<T, String> {
    let idl: Value = serde_json::from_str(IDL).expect("idl/ballast.json is JSON");
    let mut bytes = Vec::new();
    write_idl_fields(&idl, type_name, fields, "", &mut bytes)?;
    T::try_from_slice(&bytes).map_err(|e| format!("{type_name} layout: {e}"))
}

/// Appends the borsh bytes of the IDL struct `type_name` read from `fields`; `prefix`
/// names where a nested struct sits (`breakers.`) in error messages.
fn write_idl_fields(
    idl: &Value,
    type_name: &str,
    fields: &Map<String, Value>,
    prefix: &str,
    bytes: &mut Vec<u8>,
) -> Result<(), String> {
    let layout = idl["types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == type_name))
        .and_then(|t| t["type"]["fields"].as_array())
        .ok_or(format!("{type_name} not in idl/ballast.json"))?;
    for field in layout {
        let (field_name, ty) = (field["name"].as_str().unwrap_or_default(), &field["type"]);
        let name = format!("{prefix}{field_name}");
        if let Some(nested) = ty["defined"]["name"].as_str() {
            match fields.get(field_name) {
                Some(Value::Object(inner)) => write_idl_fields(idl, nested, inner, &format!("{name}."), bytes)?,
                None => return Err(format!("missing config field `{name}`")),
                Some(other) => return Err(format!("`{name}`: expected an object of {nested} fields, got {other}")),
            }
            continue;
        }
        // Padding is not configuration: always zero, never in the file.
        let value = match fields.get(field_name) {
            _ if field_name.starts_with('_') => 0,
            None => return Err(format!("missing config field `{name}`")),
            Some(Value::Number(n)) => n.as_u64().ok_or(format!("`{name}`: not an unsigned integer: {n}"))?,
            Some(Value::String(s)) => s.parse().map_err(|e| format!("`{name}`: invalid integer {s:?}: {e}"))?,
            Some(other) => return Err(format!("`{name}`: expected an integer, got {other}")),
        };
        match ty.as_str() {
            Some("u32") => {
                bytes.extend(u32::try_from(value).map_err(|_| format!("`{name}`: {value} exceeds u32"))?.to_le_bytes())
            }
            Some("u64") => bytes.extend(value.to_le_bytes()),
            _ => return Err(format!("`{name}`: unsupported type {ty} in the IDL")),
        }
    }
    let known: Vec<&str> = layout.iter().filter_map(|f| f["name"].as_str()).collect();
    if let Some(extra) = fields.keys().find(|k| !known.contains(&k.as_str()) || k.starts_with('_')) {
        return Err(format!("unknown config field `{prefix}{extra}`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../migrations/deploy.example.json");

    #[test]
    fn the_example_parses() {
        let c = DeployConfig::parse(EXAMPLE).unwrap();
        assert_eq!(c.cluster, "https://api.devnet.solana.com");
        assert_eq!(c.markets.len(), 2);
        assert_eq!(c.markets[0].name, "USDC");
        let usdc = c.markets[0].config;
        assert_eq!((usdc.init_asset_weight_bps, usdc.deposit_cap), (9_000, 10_000_000_000_000));
        assert_eq!((usdc.borrow_cap, usdc.liquidation_insurance_fee_bps), (8_000_000_000_000, 100));
        assert_eq!(usdc.breakers, ballast::BreakerConfig::standard(10_000_000_000_000));
        assert_eq!(c.markets[1].config, MarketConfig::conservative(100_000_000_000_000, 80_000_000_000_000));
        assert_eq!(c.protocol_config, ProtocolConfig::standard());
    }

    #[test]
    fn caps_may_be_numbers_and_mistakes_are_named() {
        let with = |from: &str, to: &str| DeployConfig::parse(&EXAMPLE.replacen(from, to, 1));
        let c = with(r#""deposit_cap": "10000000000000""#, r#""deposit_cap": 7"#).unwrap();
        assert_eq!(c.markets[0].config.deposit_cap, 7);
        let err = with(r#""max_rate_bps""#, r#""max_rate_bsp""#).unwrap_err();
        assert!(err.contains("max_rate_bps"), "{err}");
        let err =
            with(r#""borrow_cap": "8000000000000""#, r#""borrow_cap": "8000000000000", "_padding": 1"#).unwrap_err();
        assert!(err.contains("unknown config field `_padding`"), "{err}");
        let err = with("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", "not-a-key").unwrap_err();
        assert!(err.contains("invalid pubkey"), "{err}");
        let err = with(r#""deposit_cap": "10000000000000""#, r#""deposit_cap": "-1""#).unwrap_err();
        assert!(err.contains("`deposit_cap`: invalid integer"), "{err}");
        let err = with(r#""max_rate_bps": 10000"#, r#""max_rate_bps": 4294967296"#).unwrap_err();
        assert!(err.contains("exceeds u32"), "{err}");
        let err = with(r#""base_rate_bps": 0,"#, "").unwrap_err();
        assert!(err.contains("missing config field `base_rate_bps`"), "{err}");
        let err = with(r#""outflow_max_bps": 2500"#, r#""outflow_max_bsp": 2500"#).unwrap_err();
        assert!(err.contains("missing config field `breakers.outflow_max_bps`"), "{err}");
        let err = with(r#""max_per_day": 3"#, r#""max_per_day": 3, "_padding": 0"#).unwrap_err();
        assert!(err.contains("unknown config field `guardian._padding`"), "{err}");
        let err = with(r#""max_trip_secs": 1800,"#, "").unwrap_err();
        assert!(err.contains("missing config field `guardian.max_trip_secs`"), "{err}");
    }
}
