//! Parameter sweeps: `--sweep NAME=V1,V2,...` over the integer fields of `MarketConfig`
//! and `ProtocolConfig`, named as in idl/ballast.json, so a field the program adds can
//! be swept without a change here.
//!
//! Names: `market.F` sets field `F` of every market's config, `USDC.F`, `SOL.F` or
//! `BAL.F` one market's; `protocol.F` the protocol's. A bare `F` is accepted when only
//! one of the two configs has it. Nested fields and arrays as in the IDL:
//! `breakers.outflow_max_bps`, `regime_weights.asset_multiplier_bps[3]`,
//! `protocol.regimes[2].premium_cap_bps`.
//!
//! A value is written into the config's borsh bytes (the IDL's layout) at the field's
//! offset; the program still validates the result when the protocol is initialised
//! and the markets listed.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use anchor_lang::{AnchorDeserialize, AnchorSerialize};
use ballast::{MarketConfig, ProtocolConfig};
use serde_json::Value;

use crate::agents::MARKET_NAMES;

const IDL: &str = include_str!("../../../idl/ballast.json");

/// Fields the simulation sets itself after the set-up, which a sweep would not change.
const SET_BY_THE_SIM: [(&str, &str); 1] = [(
    "breakers.small_outflow_threshold",
    "the simulation sets it to $10,000 of each market's token once the opening positions stand",
)];

/// Which config a parameter is in: the protocol's, every market's, or one market's
/// (by its slot in [`MARKET_NAMES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Protocol,
    AllMarkets,
    Market(usize),
}

/// One integer field of a config, located in its borsh bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Qualified, as reports show it: `protocol.fee_insurance_bps`,
    /// `market.liquidation_bonus_bps`, `SOL.maint_asset_weight_bps`.
    pub name: String,
    pub scope: Scope,
    field: Field,
}

/// An integer leaf of a config struct in the IDL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    /// `breakers.outflow_max_bps`, `regimes[2].premium_cap_bps`.
    path: String,
    offset: usize,
    /// Bytes: 1, 2, 4 or 8 (u8 to u64).
    width: usize,
}

impl Field {
    fn max(&self) -> u64 {
        if self.width == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.width)) - 1
        }
    }

    fn type_name(&self) -> String {
        format!("u{}", 8 * self.width)
    }
}

/// A parameter and the values it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub param: Param,
    pub values: Vec<u64>,
}

/// Config changes for one run: each parameter set to one value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges(pub Vec<(Param, u64)>);

impl ConfigChanges {
    pub fn none() -> ConfigChanges {
        ConfigChanges::default()
    }

    /// Applies the protocol's changes to `config`.
    pub fn protocol(&self, config: &mut ProtocolConfig) -> Result<(), String> {
        let changes = self.0.iter().filter(|(p, _)| p.scope == Scope::Protocol);
        set_fields(config, changes.map(|(p, v)| (&p.field, *v)))
    }

    /// Applies the changes of the market in `slot` to `config`.
    pub fn market(&self, slot: usize, config: &mut MarketConfig) -> Result<(), String> {
        let changes = self.0.iter().filter(|(p, _)| p.scope == Scope::AllMarkets || p.scope == Scope::Market(slot));
        set_fields(config, changes.map(|(p, v)| (&p.field, *v)))
    }

    /// Each parameter's qualified name with its value.
    pub fn named(&self) -> Vec<(String, u64)> {
        self.0.iter().map(|(p, v)| (p.name.clone(), *v)).collect()
    }

    pub fn label(&self) -> String {
        label(&self.named())
    }
}

/// `name=value` pairs joined by commas, as reports and directory names show a point of
/// a sweep (empty without one).
pub fn label(point: &[(String, u64)]) -> String {
    point.iter().map(|(name, v)| format!("{name}={v}")).collect::<Vec<_>>().join(",")
}

/// Writes each value at its field's offset in `config`'s borsh bytes.
fn set_fields<'a, T: AnchorSerialize + AnchorDeserialize>(
    config: &mut T,
    changes: impl Iterator<Item = (&'a Field, u64)>,
) -> Result<(), String> {
    let mut bytes = Vec::new();
    config.serialize(&mut bytes).map_err(|e| e.to_string())?;
    for (field, value) in changes {
        let slot = bytes
            .get_mut(field.offset..field.offset + field.width)
            .ok_or(format!("`{}` lies outside the config: idl/ballast.json is out of date", field.path))?;
        slot.copy_from_slice(&value.to_le_bytes()[..field.width]);
    }
    *config = T::try_from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok(())
}

/// The integer fields of the IDL struct `type_name`, with their offsets.
struct Layout {
    fields: Vec<Field>,
    size: usize,
}

fn idl() -> &'static Value {
    static IDL_JSON: OnceLock<Value> = OnceLock::new();
    IDL_JSON.get_or_init(|| serde_json::from_str(IDL).expect("idl/ballast.json is JSON"))
}

fn layout(type_name: &str) -> Result<Layout, String> {
    let mut fields = Vec::new();
    let size = walk_struct(type_name, "", 0, &mut fields)?;
    Ok(Layout { fields, size })
}

/// Adds the integer leaves of struct `type_name` at `offset` under `path`; returns its size.
fn walk_struct(type_name: &str, path: &str, offset: usize, out: &mut Vec<Field>) -> Result<usize, String> {
    let layout = idl()["types"]
        .as_array()
        .and_then(|types| types.iter().find(|t| t["name"] == type_name))
        .and_then(|t| t["type"]["fields"].as_array())
        .ok_or(format!("{type_name} is not in idl/ballast.json"))?;
    let mut at = offset;
    for field in layout {
        let name = field["name"].as_str().unwrap_or_default();
        let path = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        // Padding is laid out but never configured.
        let mut padding = Vec::new();
        let leaves = if name.starts_with('_') { &mut padding } else { &mut *out };
        at += walk(&field["type"], &path, at, leaves)?;
    }
    Ok(at - offset)
}

fn walk(ty: &Value, path: &str, offset: usize, out: &mut Vec<Field>) -> Result<usize, String> {
    if let Some(array) = ty.get("array").and_then(Value::as_array) {
        let len = array.get(1).and_then(Value::as_u64).unwrap_or_default() as usize;
        let mut size = 0;
        for i in 0..len {
            size += walk(&array[0], &format!("{path}[{i}]"), offset + size, out)?;
        }
        return Ok(size);
    }
    if let Some(name) = ty.get("defined").and_then(|d| d["name"].as_str()) {
        return walk_struct(name, path, offset, out);
    }
    let width = match ty.as_str().unwrap_or_default() {
        "u8" => 1,
        "u16" => 2,
        "u32" => 4,
        "u64" => 8,
        other => return Err(format!("`{path}`: type {other} in idl/ballast.json is not supported")),
    };
    out.push(Field { path: path.to_string(), offset, width });
    Ok(width)
}

/// The market and protocol layouts, checked against the program's own types: a stale
/// IDL would write values into the wrong fields.
fn layouts() -> Result<(Layout, Layout), String> {
    let market = layout("MarketConfig")?;
    let protocol = layout("ProtocolConfig")?;
    for (name, idl_size, size) in [
        ("MarketConfig", market.size, borsh_len(&MarketConfig::default())),
        ("ProtocolConfig", protocol.size, borsh_len(&ProtocolConfig::default())),
    ] {
        if idl_size != size {
            return Err(format!(
                "idl/ballast.json lays out {name} in {idl_size} bytes, the program in {size}: run scripts/idl.sh"
            ));
        }
    }
    Ok((market, protocol))
}

fn borsh_len<T: AnchorSerialize>(value: &T) -> usize {
    let mut bytes = Vec::new();
    value.serialize(&mut bytes).map(|_| bytes.len()).unwrap_or(0)
}

/// Resolves a parameter name (see the module docs).
pub fn param(name: &str) -> Result<Param, String> {
    let (market, protocol) = layouts()?;
    let find = |layout: &Layout, path: &str| layout.fields.iter().find(|f| f.path == path).cloned();
    let qualified = name.split_once('.').and_then(|(prefix, path)| {
        let scope = match prefix {
            "protocol" => Scope::Protocol,
            "market" => Scope::AllMarkets,
            _ => Scope::Market(MARKET_NAMES.iter().position(|m| m.eq_ignore_ascii_case(prefix))?),
        };
        Some((scope, path))
    });
    let (scope, field) = match qualified {
        Some((Scope::Protocol, path)) => (Scope::Protocol, find(&protocol, path)),
        Some((scope, path)) => (scope, find(&market, path)),
        None => match (find(&market, name), find(&protocol, name)) {
            (Some(_), Some(_)) => {
                return Err(format!(
                "`{name}` is a field of both MarketConfig and ProtocolConfig: write market.{name} or protocol.{name}"
            ))
            }
            (Some(f), None) => (Scope::AllMarkets, Some(f)),
            (None, found) => (Scope::Protocol, found),
        },
    };
    let Some(field) = field else {
        return Err(unknown_name(name, &market, &protocol));
    };
    if let Some((_, why)) = SET_BY_THE_SIM.iter().find(|(path, _)| *path == field.path) {
        return Err(format!("`{name}` cannot be swept: {why}"));
    }
    let qualified_name = match scope {
        Scope::Protocol => format!("protocol.{}", field.path),
        Scope::AllMarkets => format!("market.{}", field.path),
        Scope::Market(slot) => format!("{}.{}", MARKET_NAMES[slot], field.path),
    };
    Ok(Param { name: qualified_name, scope, field })
}

/// The error for a name no config has: the nearest valid name, then every one.
fn unknown_name(name: &str, market: &Layout, protocol: &Layout) -> String {
    let field = name.split_once('.').filter(|(p, _)| is_prefix(p)).map_or(name, |(_, f)| f);
    let distance = |candidate: &String| edit_distance(field, candidate.split_once('.').map_or("", |(_, f)| f));
    let nearest = market
        .fields
        .iter()
        .map(|f| format!("market.{}", f.path))
        .chain(protocol.fields.iter().map(|f| format!("protocol.{}", f.path)))
        .min_by_key(distance)
        // Only a near miss (a typo, a dropped suffix) is worth suggesting.
        .filter(|n| distance(n) <= (field.len() / 3).max(2));
    let hint = nearest.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
    format!(
        "unknown sweep parameter `{name}`{hint}. Market fields (write `market.F` for every market, or {} for one): \
         {}. Protocol fields (`protocol.F`): {}. `[i]` is an index into a list.",
        MARKET_NAMES.map(|m| format!("`{m}.F`")).join(", "),
        field_names(market),
        field_names(protocol)
    )
}

fn is_prefix(prefix: &str) -> bool {
    prefix == "protocol" || prefix == "market" || MARKET_NAMES.iter().any(|m| m.eq_ignore_ascii_case(prefix))
}

/// A layout's field paths with list indices written `[i]`, each once.
fn field_names(layout: &Layout) -> String {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for f in &layout.fields {
        let mut generic = String::new();
        let mut in_index = false;
        for c in f.path.chars() {
            match c {
                '[' => {
                    in_index = true;
                    generic.push_str("[i");
                }
                ']' => {
                    in_index = false;
                    generic.push(']');
                }
                _ if in_index => {}
                _ => generic.push(c),
            }
        }
        if seen.insert(generic.clone()) {
            names.push(generic);
        }
    }
    names.join(", ")
}

/// Levenshtein distance, for the "did you mean" hint.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Parses `NAME=V1,V2,...`.
pub fn parse_sweep(arg: &str) -> Result<Sweep, String> {
    let Some((name, values)) = arg.split_once('=') else {
        return Err(format!("--sweep {arg:?}: expected NAME=V1,V2,... (e.g. SOL.maint_asset_weight_bps=8500,9500)"));
    };
    let param = param(name.trim())?;
    let mut parsed = Vec::new();
    for text in values.split(',').map(str::trim) {
        let value = parse_value(&param, text)?;
        if parsed.contains(&value) {
            return Err(format!("`{}`: the value {value} is listed twice", param.name));
        }
        parsed.push(value);
    }
    Ok(Sweep { param, values: parsed })
}

fn parse_value(param: &Param, text: &str) -> Result<u64, String> {
    let field = &param.field;
    let range = format!("{} takes integers from 0 to {}", field.type_name(), field.max());
    let digits = text.replace('_', "");
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{}`: {text:?} is not a value of the field ({range})", param.name));
    }
    match digits.parse::<u64>() {
        Ok(v) if v <= field.max() => Ok(v),
        _ => Err(format!("`{}`: {text} is out of range ({range})", param.name)),
    }
}

/// Every combination of the axes' values, in order (the last axis varies fastest);
/// one empty point without axes. The axes are sweeps' parameters, or their names.
pub fn grid<T: Clone>(axes: &[(T, &[u64])]) -> Vec<Vec<(T, u64)>> {
    let mut points = vec![Vec::new()];
    for (axis, values) in axes {
        points = points
            .into_iter()
            .flat_map(|point: Vec<(T, u64)>| {
                values.iter().map(move |&v| {
                    let mut next = point.clone();
                    next.push((axis.clone(), v));
                    next
                })
            })
            .collect();
    }
    points
}

/// Every point of the sweeps' grid, as config changes.
pub fn changes_grid(sweeps: &[Sweep]) -> Vec<ConfigChanges> {
    let axes: Vec<(Param, &[u64])> = sweeps.iter().map(|s| (s.param.clone(), s.values.as_slice())).collect();
    grid(&axes).into_iter().map(ConfigChanges).collect()
}

/// Refuses the same parameter swept twice (the grid would hold contradictory points).
pub fn check_distinct(sweeps: &[Sweep]) -> Result<(), String> {
    for (i, s) in sweeps.iter().enumerate() {
        let overlaps = |other: &Sweep| {
            other.param.field == s.param.field
                && (other.param.scope == s.param.scope
                    || matches!((other.param.scope, s.param.scope), (Scope::AllMarkets, Scope::Market(_)))
                    || matches!((other.param.scope, s.param.scope), (Scope::Market(_), Scope::AllMarkets)))
        };
        if let Some(other) = sweeps[..i].iter().find(|o| overlaps(o)) {
            return Err(format!("`{}` and `{}` set the same field: sweep it once", other.param.name, s.param.name));
        }
    }
    Ok(())
}

/// The name of the program's error `code`, from the IDL.
pub fn error_name(code: u32) -> Option<&'static str> {
    idl()["errors"].as_array()?.iter().find(|e| e["code"].as_u64() == Some(u64::from(code)))?["name"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_their_config() {
        let p = param("liquidation_bonus_bps").unwrap();
        assert_eq!((p.name.as_str(), p.scope), ("market.liquidation_bonus_bps", Scope::AllMarkets));
        let p = param("SOL.maint_asset_weight_bps").unwrap();
        assert_eq!(p.scope, Scope::Market(1));
        let p = param("sol.breakers.outflow_max_bps").unwrap();
        assert_eq!(p.name, "SOL.breakers.outflow_max_bps");
        let p = param("fee_insurance_bps").unwrap();
        assert_eq!((p.name.as_str(), p.scope), ("protocol.fee_insurance_bps", Scope::Protocol));
        assert_eq!(param("protocol.regimes[2].premium_cap_bps").unwrap().scope, Scope::Protocol);
    }

    #[test]
    fn values_land_in_the_named_fields() {
        let changes = ConfigChanges(vec![
            (param("SOL.maint_asset_weight_bps").unwrap(), 9_500),
            (param("market.breakers.outflow_max_bps").unwrap(), 1_234),
            (param("market.regime_weights.asset_multiplier_bps[3]").unwrap(), 4_321),
            (param("market.deposit_cap").unwrap(), u64::MAX - 1),
            (param("protocol.regimes[2].emission_rate_per_sec").unwrap(), 77),
            (param("protocol.timelock.delay_secs").unwrap(), 3_600),
        ]);
        let standard = MarketConfig::conservative(1_000, 500);
        let (mut usdc, mut sol) = (standard, standard);
        changes.market(0, &mut usdc).unwrap();
        changes.market(1, &mut sol).unwrap();
        assert_eq!((usdc.maint_asset_weight_bps, sol.maint_asset_weight_bps), (9_000, 9_500));
        for c in [usdc, sol] {
            assert_eq!(c.breakers.outflow_max_bps, 1_234);
            assert_eq!(c.regime_weights.asset_multiplier_bps[3], 4_321);
            assert_eq!(c.deposit_cap, u64::MAX - 1);
            assert_eq!(c.borrow_cap, 500);
        }
        let mut protocol = ProtocolConfig::standard();
        changes.protocol(&mut protocol).unwrap();
        assert_eq!(protocol.regimes[2].emission_rate_per_sec, 77);
        assert_eq!(protocol.timelock.delay_secs, 3_600);
        assert_eq!(protocol.regimes[1], ProtocolConfig::standard().regimes[1]);
    }

    #[test]
    fn bad_names_and_values_are_named() {
        let err = parse_sweep("liquidation_bonus=1,2").unwrap_err();
        assert!(err.contains("unknown sweep parameter `liquidation_bonus`"), "{err}");
        assert!(err.contains("did you mean `market.liquidation_bonus_bps`"), "{err}");
        assert!(err.contains("maint_asset_weight_bps") && err.contains("protocol.F"), "{err}");
        assert!(err.contains("regimes[i].premium_cap_bps"), "{err}");
        assert!(!parse_sweep("bogus=1").unwrap_err().contains("did you mean"));
        let err = parse_sweep("ETH.maint_asset_weight_bps=1").unwrap_err();
        assert!(err.contains("unknown sweep parameter `ETH.maint_asset_weight_bps`"), "{err}");
        let err = parse_sweep("volatility.min_dwell_secs=1").unwrap_err();
        assert!(err.contains("both MarketConfig and ProtocolConfig"), "{err}");
        let err = parse_sweep("SOL.maint_asset_weight_bps=9000,4294967296").unwrap_err();
        assert!(err.contains("`SOL.maint_asset_weight_bps`: 4294967296 is out of range (u32"), "{err}");
        let err = parse_sweep("SOL.maint_asset_weight_bps=9000,-1").unwrap_err();
        assert!(err.contains("\"-1\" is not a value of the field"), "{err}");
        let err = parse_sweep("SOL.maint_asset_weight_bps=9000,,1").unwrap_err();
        assert!(err.contains("\"\" is not a value"), "{err}");
        let err = parse_sweep("SOL.maint_asset_weight_bps=9000,9_000").unwrap_err();
        assert!(err.contains("listed twice"), "{err}");
        let err = parse_sweep("SOL.maint_asset_weight_bps").unwrap_err();
        assert!(err.contains("expected NAME=V1,V2"), "{err}");
        let err = parse_sweep("market._padding=1").unwrap_err();
        assert!(err.contains("unknown sweep parameter"), "{err}");
        let err = parse_sweep("breakers.small_outflow_threshold=1").unwrap_err();
        assert!(err.contains("cannot be swept"), "{err}");
        let sweeps = [
            parse_sweep("market.liquidation_bonus_bps=1").unwrap(),
            parse_sweep("SOL.liquidation_bonus_bps=2").unwrap(),
        ];
        assert!(check_distinct(&sweeps).unwrap_err().contains("set the same field"));
    }

    #[test]
    fn the_grid_is_the_cartesian_product_in_flag_order() {
        let sweeps = [
            parse_sweep("market.liquidation_bonus_bps=300,500").unwrap(),
            parse_sweep("SOL.maint_asset_weight_bps=8500,9000,9500").unwrap(),
        ];
        let labels: Vec<String> = changes_grid(&sweeps).iter().map(ConfigChanges::label).collect();
        assert_eq!(labels.len(), 6);
        assert_eq!(labels[0], "market.liquidation_bonus_bps=300,SOL.maint_asset_weight_bps=8500");
        assert_eq!(labels[1], "market.liquidation_bonus_bps=300,SOL.maint_asset_weight_bps=9000");
        assert_eq!(labels[5], "market.liquidation_bonus_bps=500,SOL.maint_asset_weight_bps=9500");
        assert_eq!(changes_grid(&[]), vec![ConfigChanges::none()]);
    }

    #[test]
    fn program_errors_are_named_from_the_idl() {
        assert_eq!(error_name(6000), Some("Unauthorized"));
        assert_eq!(error_name(1), None);
    }
}
