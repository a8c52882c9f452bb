//! The deployment config file (migrations/deploy.example.json), shared with
//! migrations/deploy.ts: snake_case keys, unknown keys refused, u64 caps as strings or
//! integers (JavaScript cannot hold every u64 as a number). A market's `config` has the
//! fields of `MarketConfig` in idl/ballast.json (nested structs such as `breakers` as
//! objects), so new fields need no change here.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use ballast::{MarketConfig, OracleSource, ProtocolConfig};
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
    /// The native token's Pyth feed (see [`FeedSpec`]).
    #[serde(deserialize_with = "oracle")]
    pub native_oracle: OracleSource,
    #[serde(deserialize_with = "config_struct")]
    pub protocol_config: ProtocolConfig,
    pub markets: Vec<MarketEntry>,
    /// Launch (end the setup phase, for good) once every market is listed. Default false.
    #[serde(default)]
    pub launch: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketEntry {
    pub name: String,
    #[serde(deserialize_with = "pubkey")]
    pub mint: Pubkey,
    /// The asset's Pyth feed (see [`FeedSpec`]).
    #[serde(deserialize_with = "oracle")]
    pub oracle: OracleSource,
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

/// A Pyth feed as config and change files write it:
/// `{ "kind": "price_update_v2", "feed_id": "0x<64 hex digits>", "shard_id": 0 }` (the
/// push feed Pyth's price pushers keep fresh; its address is derived, `shard_id` defaults
/// to 0, where Pyth sponsors the common feeds) or `{ "kind": "legacy", "address": "<base58>" }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeedSpec {
    PriceUpdateV2 {
        feed_id: String,
        #[serde(default)]
        shard_id: u16,
    },
    Legacy {
        address: String,
    },
}

impl FeedSpec {
    pub fn source(&self) -> Result<OracleSource, String> {
        match self {
            FeedSpec::PriceUpdateV2 { feed_id, shard_id } => {
                Ok(OracleSource::push_feed(*shard_id, parse_feed_id(feed_id)?))
            }
            FeedSpec::Legacy { address } => Pubkey::from_str(address)
                .map(OracleSource::legacy)
                .map_err(|e| format!("invalid pubkey {address:?}: {e}")),
        }
    }
}

/// A Pyth feed id: 64 hex digits, with or without `0x`.
pub fn parse_feed_id(hex: &str) -> Result<[u8; 32], String> {
    let digits = hex.strip_prefix("0x").unwrap_or(hex);
    let bad = || format!("feed id {hex:?}: expected 64 hex digits");
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut id = [0u8; 32];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(id)
}

fn oracle<'de, D: Deserializer<'de>>(d: D) -> Result<OracleSource, D::Error> {
    FeedSpec::deserialize(d)?.source().map_err(serde::de::Error::custom)
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

/// The struct `type_name` of the IDL from named JSON fields: integers (numbers or
/// strings), nested structs as objects, arrays as lists; every field required, unknown
/// and padding fields refused. Errors name the field's path (`regimes[3].premium_cap_bps`).
pub fn from_idl_fields<T: AnchorDeserialize>(type_name: &str, fields: &Map<String, Value>) -> Result<T, String> {
    let idl: Value = serde_json::from_str(IDL).expect("idl/ballast.json is JSON");
    let mut bytes = Vec::new();
    encode_struct(&idl, type_name, fields, "", &mut bytes)?;
    T::try_from_slice(&bytes).map_err(|e| format!("{type_name} layout: {e}"))
}

/// The fields of the struct `type_name` in the IDL, in order.
fn idl_layout<'a>(idl: &'a Value, type_name: &str) -> Result<&'a Vec<Value>, String> {
    idl["types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == type_name))
        .and_then(|t| t["type"]["fields"].as_array())
        .ok_or(format!("{type_name} not in idl/ballast.json"))
}

fn encode_struct(
    idl: &Value,
    type_name: &str,
    fields: &Map<String, Value>,
    path: &str,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let layout = idl_layout(idl, type_name)?;
    for field in layout {
        let name = field["name"].as_str().unwrap_or_default();
        let at = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        if name.starts_with('_') {
            // Padding is not configuration: always zero, never in the file.
            encode(idl, &field["type"], &Value::from(0), &at, out)?;
            continue;
        }
        let value = fields.get(name).ok_or(format!("missing config field `{at}`"))?;
        encode(idl, &field["type"], value, &at, out)?;
    }
    let known: Vec<&str> = layout.iter().filter_map(|f| f["name"].as_str()).collect();
    if let Some(extra) = fields.keys().find(|k| !known.contains(&k.as_str()) || k.starts_with('_')) {
        let at = if path.is_empty() { extra.clone() } else { format!("{path}.{extra}") };
        return Err(format!("unknown config field `{at}`"));
    }
    Ok(())
}

/// One value of IDL type `ty` (padding arrays are zero-filled from a 0).
fn encode(idl: &Value, ty: &Value, value: &Value, at: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if let Some(array) = ty.get("array").and_then(Value::as_array) {
        let (inner, len) = (&array[0], array[1].as_u64().unwrap_or_default() as usize);
        return match value {
            Value::Array(items) if items.len() == len => {
                items.iter().enumerate().try_for_each(|(i, v)| encode(idl, inner, v, &format!("{at}[{i}]"), out))
            }
            Value::Number(n) if n.as_u64() == Some(0) && at.rsplit('.').next().is_some_and(|n| n.starts_with('_')) => {
                (0..len).try_for_each(|i| encode(idl, inner, value, &format!("{at}[{i}]"), out))
            }
            other => Err(format!("`{at}`: expected a list of {len}, got {other}")),
        };
    }
    if let Some(name) = ty.get("defined").and_then(|d| d["name"].as_str()) {
        let fields = value.as_object().ok_or(format!("`{at}`: expected an object of {name} fields, got {value}"))?;
        return encode_struct(idl, name, fields, at, out);
    }
    let int = match value {
        Value::Number(n) => n.as_u64().ok_or(format!("`{at}`: not an unsigned integer: {n}"))?,
        Value::String(s) => s.parse().map_err(|e| format!("`{at}`: invalid integer {s:?}: {e}"))?,
        other => return Err(format!("`{at}`: expected an integer, got {other}")),
    };
    let exceeds = |bits: &str| format!("`{at}`: {int} exceeds {bits}");
    match ty.as_str().unwrap_or_default() {
        "u8" => out.push(u8::try_from(int).map_err(|_| exceeds("u8"))?),
        "u16" => out.extend(u16::try_from(int).map_err(|_| exceeds("u16"))?.to_le_bytes()),
        "u32" => out.extend(u32::try_from(int).map_err(|_| exceeds("u32"))?.to_le_bytes()),
        "u64" => out.extend(int.to_le_bytes()),
        other => return Err(format!("`{at}`: unsupported type {other} in the IDL")),
    }
    Ok(())
}

/// A config value decoded along its IDL layout.
enum Decoded {
    U32(u64),
    U64(u64),
    Group(Vec<(String, Decoded)>),
    List(Vec<Decoded>),
}

/// `value`'s fields in the IDL's order (padding left out).
fn decode<T: anchor_lang::AnchorSerialize>(type_name: &str, value: &T) -> Result<Vec<(String, Decoded)>, String> {
    let idl: Value = serde_json::from_str(IDL).expect("idl/ballast.json is JSON");
    let mut bytes = Vec::new();
    value.serialize(&mut bytes).map_err(|e| e.to_string())?;
    let mut rest = bytes.as_slice();
    let out = decode_struct(&idl, type_name, &mut rest)?;
    if !rest.is_empty() {
        return Err(format!("{type_name}: {} bytes left over", rest.len()));
    }
    Ok(out)
}

fn decode_struct(idl: &Value, type_name: &str, rest: &mut &[u8]) -> Result<Vec<(String, Decoded)>, String> {
    let layout = idl_layout(idl, type_name)?;
    let mut out = Vec::new();
    for field in layout {
        let name = field["name"].as_str().unwrap_or_default().to_string();
        let value = decode_value(idl, &field["type"], &name, rest)?;
        if !name.starts_with('_') {
            out.push((name, value));
        }
    }
    Ok(out)
}

fn decode_value(idl: &Value, ty: &Value, name: &str, rest: &mut &[u8]) -> Result<Decoded, String> {
    if let Some(array) = ty.get("array").and_then(Value::as_array) {
        let len = array[1].as_u64().unwrap_or_default();
        return (0..len).map(|_| decode_value(idl, &array[0], name, rest)).collect::<Result<_, _>>().map(Decoded::List);
    }
    if let Some(nested) = ty.get("defined").and_then(|d| d["name"].as_str()) {
        return decode_struct(idl, nested, rest).map(Decoded::Group);
    }
    let mut take = |n: usize| -> Result<u64, String> {
        let (head, tail) = rest.split_at_checked(n).ok_or(format!("too short at `{name}`"))?;
        *rest = tail;
        let mut le = [0u8; 8];
        le[..n].copy_from_slice(head);
        Ok(u64::from_le_bytes(le))
    };
    match ty.as_str().unwrap_or_default() {
        "u8" => Ok(Decoded::U32(take(1)?)),
        "u16" => Ok(Decoded::U32(take(2)?)),
        "u32" => Ok(Decoded::U32(take(4)?)),
        "u64" => Ok(Decoded::U64(take(8)?)),
        other => Err(format!("`{name}`: unsupported type {other} in the IDL")),
    }
}

/// `value` as named JSON fields, the inverse of [`from_idl_fields`] (u64s as strings, as
/// in deploy.example.json; padding left out).
pub fn to_idl_fields<T: anchor_lang::AnchorSerialize>(
    type_name: &str,
    value: &T,
) -> Result<Map<String, Value>, String> {
    fn json(d: Decoded) -> Value {
        match d {
            Decoded::U32(v) => Value::from(v),
            Decoded::U64(v) => Value::from(v.to_string()),
            Decoded::Group(fields) => Value::Object(fields.into_iter().map(|(n, d)| (n, json(d))).collect()),
            Decoded::List(items) => Value::Array(items.into_iter().map(json).collect()),
        }
    }
    Ok(decode(type_name, value)?.into_iter().map(|(n, d)| (n, json(d))).collect())
}

/// Every integer of `value` with its path (`timelock.delay_secs`, `regimes[2].premium_cap_bps`).
pub fn field_values<T: anchor_lang::AnchorSerialize>(type_name: &str, value: &T) -> Result<Vec<(String, u64)>, String> {
    fn flatten(path: String, d: Decoded, out: &mut Vec<(String, u64)>) {
        match d {
            Decoded::U32(v) | Decoded::U64(v) => out.push((path, v)),
            Decoded::Group(fields) => fields.into_iter().for_each(|(n, d)| flatten(format!("{path}.{n}"), d, out)),
            Decoded::List(items) => {
                items.into_iter().enumerate().for_each(|(i, d)| flatten(format!("{path}[{i}]"), d, out))
            }
        }
    }
    let mut out = Vec::new();
    for (name, d) in decode(type_name, value)? {
        flatten(name, d, &mut out);
    }
    Ok(out)
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
        assert!(!c.launch);
    }

    #[test]
    fn nested_groups_are_objects_of_their_fields() {
        let with = |from: &str, to: &str| DeployConfig::parse(&EXAMPLE.replacen(from, to, 1));
        let c = with(r#""delay_secs": 172800"#, r#""delay_secs": 3600"#).unwrap();
        assert_eq!(c.protocol_config.timelock.delay_secs, 3_600);
        let err = with(r#""grace_secs""#, r#""grace_sec""#).unwrap_err();
        assert!(err.contains("missing config field `timelock.grace_secs`"), "{err}");
        let err = with(r#""launch": false,"#, r#""launch": true, "timelock": 1,"#).unwrap_err();
        assert!(err.contains("unknown field `timelock`"), "{err}");
        let start = EXAMPLE.find(r#""timelock": {"#).unwrap();
        let end = start + EXAMPLE[start..].find('}').unwrap() + 1;
        let err = DeployConfig::parse(&EXAMPLE.replacen(&EXAMPLE[start..end], r#""timelock": 7"#, 1)).unwrap_err();
        assert!(err.contains("`timelock`: expected an object of TimelockConfig fields"), "{err}");
        assert!(with(r#""launch": false"#, r#""launch": true"#).unwrap().launch);
    }

    #[test]
    fn configs_round_trip_through_named_fields() {
        let c = DeployConfig::parse(EXAMPLE).unwrap();
        let fields = to_idl_fields("ProtocolConfig", &c.protocol_config).unwrap();
        assert_eq!(fields["volatility"]["enter_vol_bps"][2], 20_000);
        assert_eq!(fields["timelock"]["grace_secs"], 604_800);
        assert_eq!(fields["regimes"][0]["emission_rate_per_sec"], "0");
        assert_eq!(from_idl_fields::<ProtocolConfig>("ProtocolConfig", &fields).unwrap(), c.protocol_config);
        let fields = to_idl_fields("MarketConfig", &c.markets[0].config).unwrap();
        assert!(!fields.contains_key("_padding"));
        let values = field_values("ProtocolConfig", &c.protocol_config).unwrap();
        assert_eq!(values[0], ("fee_insurance_bps".to_string(), 3_000));
        assert_eq!(values.last().unwrap(), &("timelock.grace_secs".to_string(), 604_800));
        assert_eq!(from_idl_fields::<MarketConfig>("MarketConfig", &fields).unwrap(), c.markets[0].config);
    }

    #[test]
    fn nested_structs_and_lists_are_checked_by_path() {
        let with = |from: &str, to: &str| DeployConfig::parse(&EXAMPLE.replacen(from, to, 1));
        let err = with(r#""enter_vol_bps": [8000, 12000, 20000]"#, r#""enter_vol_bps": [8000, 12000]"#).unwrap_err();
        assert!(err.contains("`volatility.enter_vol_bps`: expected a list of 3"), "{err}");
        let err = with(r#""premium_cap_bps": 300"#, r#""premium_cap_bps": -3"#).unwrap_err();
        assert!(err.contains("`regimes[0].premium_cap_bps`: not an unsigned integer"), "{err}");
        let err = with(r#""min_dwell_secs": 21600"#, r#""min_dwell_secs": 21600, "dwell": 1"#).unwrap_err();
        assert!(err.contains("unknown config field `volatility.dwell`"), "{err}");
        let c = with(r#""emission_rate_per_sec": "0""#, r#""emission_rate_per_sec": "5""#).unwrap();
        assert_eq!(c.protocol_config.regimes[0].emission_rate_per_sec, 5);
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
