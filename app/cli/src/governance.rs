//! Governance commands: admin transactions built unsigned for a multisig vault (the signer
//! and fee payer), with a human-readable diff of every parameter they change.
//!
//! The classification is the program's own (`ballast::governance`, which uses
//! `ballast_risk::governance`'s directions): nothing here decides what loosens. This module
//! is pure (no network): `main.rs` fetches the accounts and the blockhash.
//!
//! A change file is a JSON object with exactly one key, in deploy.example.json's field names:
//!
//! ```json
//! { "set_market_config": { "mint": "<MINT>", "config": { "borrow_cap": "9000000000000" } } }
//! { "set_protocol_config": { "timelock": { "delay_secs": 259200 } } }
//! { "set_guardian": "<KEY>" }
//! { "transfer_admin": "<NEW ADMIN, e.g. a Squads vault>" }
//! { "list_market": { "name": "JUP", "mint": "<MINT>", "oracle": <FEED>, "config": { ...every field... } } }
//! { "set_market_oracle": { "mint": "<MINT>", "oracle": <FEED> } }
//! { "set_native_oracle": <FEED> }
//! ```
//!
//! where `<FEED>` is `{ "kind": "price_update_v2", "feed_id": "0x…", "shard_id": 0 }` or
//! `{ "kind": "legacy", "address": "<ACCOUNT>" }` (`crate::config::FeedSpec`). A feed
//! replacement always waits in the timelock; its transactions carry the new feed's
//! account, which the program reads before accepting it.
//!
//! Config fields left out keep their current on-chain value (a listing has none, so it
//! needs every field); unknown fields are refused.

use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::governance::{FieldDiff, FieldValue};
use ballast::{GovernanceAction, Market, MarketConfig, OracleSource, Proposal, ProposalStatus, Protocol};
use ballast_risk::governance::{ChangeKind, Looser};
use serde_json::{Map, Value};
use solana_transaction::Hash;
use solana_transaction::Transaction;

use crate::config::{field_values, from_idl_fields, to_idl_fields, FeedSpec, MarketEntry};

/// A change file, before the current on-chain values fill in what it leaves out.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeFile {
    MarketConfig { mint: Pubkey, fields: Map<String, Value> },
    ProtocolConfig { fields: Map<String, Value> },
    Guardian(Pubkey),
    Admin(Pubkey),
    ListMarket(Box<MarketEntry>),
    MarketOracle { mint: Pubkey, oracle: OracleSource },
    NativeOracle(OracleSource),
}

impl ChangeFile {
    pub fn parse(text: &str) -> Result<ChangeFile, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let object = value.as_object().filter(|o| o.len() == 1).ok_or(
            "a change file is an object with one key: set_market_config, set_protocol_config, set_guardian, \
             transfer_admin, list_market, set_market_oracle or set_native_oracle",
        )?;
        let (kind, body) = object.iter().next().unwrap();
        let key = |v: &Value, what: &str| -> Result<Pubkey, String> {
            let s = v.as_str().ok_or(format!("{kind}: `{what}` must be a base58 key"))?;
            Pubkey::from_str(s).map_err(|e| format!("{kind}: invalid pubkey {s:?}: {e}"))
        };
        let feed = |v: &Value| -> Result<OracleSource, String> {
            let spec: FeedSpec = serde_json::from_value(v.clone()).map_err(|e| format!("{kind}: {e}"))?;
            spec.source().map_err(|e| format!("{kind}: {e}"))
        };
        let fields = |v: Option<&Value>, what: &str| -> Result<Map<String, Value>, String> {
            v.and_then(Value::as_object).cloned().ok_or(format!("{kind}: `{what}` must be an object of config fields"))
        };
        Ok(match kind.as_str() {
            "set_market_config" => {
                let body = body.as_object().ok_or("set_market_config: expected { \"mint\", \"config\" }")?;
                if let Some(extra) = body.keys().find(|k| *k != "mint" && *k != "config") {
                    return Err(format!("set_market_config: unknown key `{extra}`"));
                }
                let mint = key(body.get("mint").unwrap_or(&Value::Null), "mint")?;
                ChangeFile::MarketConfig { mint, fields: fields(body.get("config"), "config")? }
            }
            "set_protocol_config" => ChangeFile::ProtocolConfig { fields: fields(Some(body), "set_protocol_config")? },
            "set_guardian" => ChangeFile::Guardian(key(body, "set_guardian")?),
            "transfer_admin" => ChangeFile::Admin(key(body, "transfer_admin")?),
            "list_market" => ChangeFile::ListMarket(Box::new(
                serde_json::from_value(body.clone()).map_err(|e| format!("list_market: {e}"))?,
            )),
            "set_market_oracle" => {
                let body = body.as_object().ok_or("set_market_oracle: expected { \"mint\", \"oracle\" }")?;
                if let Some(extra) = body.keys().find(|k| *k != "mint" && *k != "oracle") {
                    return Err(format!("set_market_oracle: unknown key `{extra}`"));
                }
                let mint = key(body.get("mint").unwrap_or(&Value::Null), "mint")?;
                ChangeFile::MarketOracle { mint, oracle: feed(body.get("oracle").unwrap_or(&Value::Null))? }
            }
            "set_native_oracle" => ChangeFile::NativeOracle(feed(body)?),
            other => return Err(format!("unknown change `{other}`")),
        })
    }

    /// The market account whose current values the change needs.
    pub fn market(&self) -> Option<Pubkey> {
        match self {
            ChangeFile::MarketConfig { mint, .. } | ChangeFile::MarketOracle { mint, .. } => {
                Some(ballast_client::ix::market_pda(mint))
            }
            _ => None,
        }
    }

    /// The action, with fields the file leaves out at their current values.
    pub fn resolve(&self, protocol: &Protocol, market: Option<&Market>) -> Result<GovernanceAction, String> {
        Ok(match self {
            ChangeFile::MarketConfig { mint, fields } => {
                let market = market.ok_or(format!("no market is listed for mint {mint}"))?;
                let config: MarketConfig = merged("MarketConfig", &market.config, fields)?;
                GovernanceAction::SetMarketConfig { market: ballast_client::ix::market_pda(mint), config }
            }
            ChangeFile::ProtocolConfig { fields } => {
                GovernanceAction::SetProtocolConfig { config: merged("ProtocolConfig", &protocol.config, fields)? }
            }
            ChangeFile::Guardian(guardian) => GovernanceAction::SetGuardian { guardian: *guardian },
            ChangeFile::Admin(new_admin) => GovernanceAction::TransferAdmin { new_admin: *new_admin },
            ChangeFile::ListMarket(m) => {
                GovernanceAction::ListMarket { mint: m.mint, oracle: m.oracle, config: m.config }
            }
            ChangeFile::MarketOracle { mint, oracle } => {
                market.ok_or(format!("no market is listed for mint {mint}"))?;
                GovernanceAction::SetMarketOracle { market: ballast_client::ix::market_pda(mint), oracle: *oracle }
            }
            ChangeFile::NativeOracle(oracle) => GovernanceAction::SetNativeOracle { oracle: *oracle },
        })
    }
}

/// `current` with the fields of `changes` (nested groups merged field by field).
fn merged<T: anchor_lang::AnchorSerialize + anchor_lang::AnchorDeserialize>(
    type_name: &str,
    current: &T,
    changes: &Map<String, Value>,
) -> Result<T, String> {
    fn overlay(base: &mut Map<String, Value>, changes: &Map<String, Value>, path: &str) -> Result<(), String> {
        for (name, value) in changes {
            match (base.get_mut(name), value) {
                (Some(Value::Object(group)), Value::Object(nested)) => {
                    overlay(group, nested, &format!("{path}{name}."))?
                }
                (Some(slot), _) if !slot.is_object() => *slot = value.clone(),
                (Some(_), _) => return Err(format!("`{path}{name}`: expected an object of its fields")),
                (None, _) => return Err(format!("unknown config field `{path}{name}`")),
            }
        }
        Ok(())
    }
    let mut fields = to_idl_fields(type_name, current)?;
    overlay(&mut fields, changes, "")?;
    from_idl_fields(type_name, &fields)
}

/// The classification of `action` against `base` by the program's own rules.
pub fn classify(action: &GovernanceAction, base: &GovernanceAction) -> Result<(Vec<FieldDiff>, ChangeKind), String> {
    let diffs = action.changes(base).map_err(|e| e.to_string())?;
    let kind = ballast::governance::classify_diffs(&diffs);
    Ok((diffs, kind))
}

fn direction(d: &FieldDiff) -> &'static str {
    match (d.kind(), d.looser) {
        (ChangeKind::Tightening, _) => "tighten",
        (ChangeKind::Loosening, Looser::EitherWay) => "LOOSEN (any change)",
        (ChangeKind::Loosening, _) => "LOOSEN",
        (ChangeKind::NoChange, _) => "same",
    }
}

/// One line per changed field, aligned: name, old -> new, tighten or loosen.
fn render_fields(diffs: &[FieldDiff]) -> String {
    let width = diffs.iter().map(|d| d.name.len()).max().unwrap_or(0);
    let value_width = diffs.iter().map(|d| d.old.to_string().len()).max().unwrap_or(0);
    let mut out = String::new();
    for d in diffs {
        let (old, new) = match (d.old, d.new) {
            (FieldValue::Int(0), FieldValue::Int(1)) if d.name == "listed" => ("no".to_string(), "yes".to_string()),
            (old, new) => (old.to_string(), new.to_string()),
        };
        out.push_str(&format!("  {:width$}  {old:>value_width$} -> {new}  {}\n", d.name, direction(d)));
    }
    out
}

/// What the action touches: its target, one line per changed field (old -> new, tighten
/// or loosen) and the verdict for the whole change.
pub fn render_diff(action: &GovernanceAction, base: &GovernanceAction, protocol: &Protocol) -> Result<String, String> {
    let (diffs, kind) = classify(action, base)?;
    let mut out = match action {
        GovernanceAction::SetMarketConfig { market, .. } => format!("set_market_config on market {market}\n"),
        GovernanceAction::SetMarketOracle { market, oracle } => {
            format!("set_market_oracle on market {market}: new feed {oracle}\n")
        }
        GovernanceAction::SetNativeOracle { oracle } => format!("set_native_oracle: new feed {oracle}\n"),
        GovernanceAction::ListMarket { mint, oracle, config } => {
            let mut s = format!("list_market: mint {mint}, {oracle}\n");
            for (name, value) in field_values("MarketConfig", config)? {
                s.push_str(&format!("  + {name} = {value}\n"));
            }
            s
        }
        other => format!("{}\n", other.name()),
    };
    out.push_str(&render_fields(&diffs));
    let timelock = protocol.config.timelock;
    let (apply, execute) = match action {
        GovernanceAction::ListMarket { .. } => ("add-market", "add-market"),
        _ => ("apply-change", "execute-change"),
    };
    let verdict = match kind {
        ChangeKind::NoChange => "no change: nothing to apply or propose".to_string(),
        ChangeKind::Tightening => format!("whole change: tightening, applies at once ({apply})"),
        ChangeKind::Loosening if !protocol.governance.is_launched() => format!(
            "whole change: LOOSENING; the protocol is in its setup phase, so {apply} still applies it at once \
             (after launch it needs the timelock)"
        ),
        ChangeKind::Loosening => format!(
            "whole change: LOOSENING, needs the timelock: propose-change, then {execute} after {} s, within {} s",
            timelock.delay_secs, timelock.grace_secs
        ),
    };
    out.push_str(&verdict);
    out.push('\n');
    Ok(out)
}

/// A proposal as stored: its window and status, the diff from the values it was proposed
/// against, and whether those values still hold (`current`, the target's values now).
pub fn render_proposal(key: &Pubkey, p: &Proposal, current: Option<&GovernanceAction>, now: i64) -> String {
    let state = match p.status {
        ProposalStatus::Queued if now < p.ready_at => format!("queued, ready in {} s", p.ready_at - now),
        ProposalStatus::Queued if now <= p.expires_at => format!("ready, expires in {} s", p.expires_at - now),
        ProposalStatus::Queued => "expired: propose it again".to_string(),
        ProposalStatus::Executed => format!("executed at {}", p.closed_at),
        ProposalStatus::Cancelled => format!("cancelled at {}", p.closed_at),
    };
    let mut out = format!(
        "proposal {} ({key}): {state}\n  proposed at {} by {}; executable from {} to {}\n",
        p.id, p.proposed_at, p.proposer, p.ready_at, p.expires_at
    );
    let kind = match classify(&p.action, &p.base) {
        Ok((diffs, kind)) => {
            out.push_str(&render_fields(&diffs));
            kind
        }
        Err(_) => ChangeKind::NoChange,
    };
    let name = match &p.action {
        GovernanceAction::SetMarketConfig { market, .. } => format!("set_market_config on market {market}"),
        other => other.name().to_string(),
    };
    out.insert_str(out.find('\n').map_or(0, |i| i + 1), &format!("  {name} ({kind:?})\n"));
    if current.is_some_and(|c| *c != p.base) {
        out.push_str("  STALE: the values it was proposed against have changed since; execution will fail\n");
    }
    out
}

/// `instruction` in a transaction signed and paid by `authority` alone, not signed.
pub fn unsigned_transaction(instruction: Instruction, authority: &Pubkey, blockhash: Hash) -> Transaction {
    let mut tx = Transaction::new_with_payer(&[instruction], Some(authority));
    tx.message.recent_blockhash = blockhash;
    tx
}

/// The wire bytes of `tx` in base58, as multisig UIs (Squads' "import transaction") take them.
pub fn to_base58(tx: &Transaction) -> String {
    bs58::encode(bincode::serialize(tx).expect("a transaction serializes")).into_string()
}

pub fn from_base58(text: &str) -> Result<Transaction, String> {
    let bytes = bs58::decode(text.trim()).into_vec().map_err(|e| format!("base58: {e}"))?;
    bincode::deserialize(&bytes).map_err(|e| format!("transaction: {e}"))
}

/// The cluster time from the Clock sysvar's bytes (slot, epoch start, epoch, leader
/// schedule epoch, unix timestamp).
pub fn clock_unix_timestamp(data: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(data.get(32..40)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::InstructionData;
    use ballast::{ProtocolConfig, TimelockConfig};
    use ballast_client::ix;

    fn mint() -> Pubkey {
        Pubkey::from_str("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU").unwrap()
    }

    fn protocol(launched: bool) -> Protocol {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.admin = Pubkey::new_from_array([1; 32]);
        p.config = ProtocolConfig::standard();
        p.governance.launched = u8::from(launched);
        p
    }

    fn market() -> Market {
        let mut m: Market = bytemuck::Zeroable::zeroed();
        m.mint = mint();
        m.config = MarketConfig::conservative(10_000_000_000_000, 8_000_000_000_000);
        m
    }

    fn action_of(file: &str, protocol: &Protocol, market: &Market) -> (GovernanceAction, GovernanceAction) {
        let change = ChangeFile::parse(file).unwrap();
        let action = change.resolve(protocol, Some(market)).unwrap();
        let base = action.current(protocol, Some(market)).unwrap();
        (action, base)
    }

    #[test]
    fn a_tightening_change_applies_at_once() {
        let (p, m) = (protocol(true), market());
        let file = format!(
            r#"{{ "set_market_config": {{ "mint": "{}", "config": {{ "init_asset_weight_bps": 7000, "deposit_cap": "5000000000000" }} }} }}"#,
            mint()
        );
        let (action, base) = action_of(&file, &p, &m);
        let text = render_diff(&action, &base, &p).unwrap();
        let expected = format!(
            "set_market_config on market {}\n\
             \x20 init_asset_weight_bps            8000 -> 7000  tighten\n\
             \x20 deposit_cap            10000000000000 -> 5000000000000  tighten\n\
             whole change: tightening, applies at once (apply-change)\n",
            ix::market_pda(&mint())
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_loosening_or_mixed_change_needs_the_timelock() {
        let (p, m) = (protocol(true), market());
        let file = format!(
            r#"{{ "set_market_config": {{ "mint": "{}", "config": {{ "init_asset_weight_bps": 7000, "borrow_cap": 9000000000000, "liquidation_bonus_bps": 600 }} }} }}"#,
            mint()
        );
        let (action, base) = action_of(&file, &p, &m);
        let text = render_diff(&action, &base, &p).unwrap();
        assert!(text.contains("init_asset_weight_bps           8000 -> 7000  tighten\n"), "{text}");
        assert!(text.contains("borrow_cap             8000000000000 -> 9000000000000  LOOSEN\n"), "{text}");
        assert!(text.contains("liquidation_bonus_bps            500 -> 600  LOOSEN (any change)\n"), "{text}");
        assert!(
            text.ends_with(
                "whole change: LOOSENING, needs the timelock: propose-change, then execute-change after 172800 s, \
                 within 604800 s\n"
            ),
            "{text}"
        );
        // The same change in the setup phase applies at once.
        assert!(render_diff(&action, &base, &protocol(false)).unwrap().contains("setup phase"));
        // Nothing changed.
        let same = render_diff(&base, &base, &p).unwrap();
        assert!(same.ends_with("no change: nothing to apply or propose\n"), "{same}");
    }

    #[test]
    fn protocol_keys_and_listings() {
        let (p, m) = (protocol(true), market());
        let (action, base) = action_of(r#"{ "set_protocol_config": { "timelock": { "delay_secs": 3600 } } }"#, &p, &m);
        let GovernanceAction::SetProtocolConfig { config } = &action else { panic!() };
        let expected_timelock = TimelockConfig { delay_secs: 3_600, ..TimelockConfig::standard() };
        assert_eq!(*config, ProtocolConfig { timelock: expected_timelock, ..ProtocolConfig::standard() });
        let text = render_diff(&action, &base, &p).unwrap();
        assert!(text.contains("timelock.delay_secs  172800 -> 3600  LOOSEN\n"), "{text}");

        let new_admin = Pubkey::new_from_array([7; 32]);
        let (action, base) = action_of(&format!(r#"{{ "transfer_admin": "{new_admin}" }}"#), &p, &m);
        let text = render_diff(&action, &base, &p).unwrap();
        assert!(text.contains(&format!("admin  {} -> {new_admin}  LOOSEN (any change)", p.admin)), "{text}");

        let example: Value = serde_json::from_str(include_str!("../../../migrations/deploy.example.json")).unwrap();
        let listing = serde_json::json!({ "list_market": example["markets"][1] }).to_string();
        let (action, base) = action_of(&listing, &p, &m);
        let text = render_diff(&action, &base, &p).unwrap();
        assert!(text.starts_with("list_market: mint So11111111111111111111111111111111111111112"), "{text}");
        assert!(text.contains("  + deposit_cap = 100000000000000\n"), "{text}");
        assert!(text.contains("  + init_asset_weight_bps = 8000\n  + maint_asset_weight_bps = 9000\n"), "{text}");
        assert!(text.contains("  listed  no -> yes  LOOSEN (any change)\n"), "{text}");
        assert!(text.contains("propose-change, then add-market after 172800 s"), "{text}");
    }

    #[test]
    fn feed_replacements_name_the_new_feed_and_always_wait() {
        let (p, mut m) = (protocol(true), market());
        m.oracle = OracleSource::legacy(Pubkey::new_from_array([5; 32]));
        let sol = "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";
        let file = format!(
            r#"{{ "set_market_oracle": {{ "mint": "{}", "oracle": {{ "kind": "price_update_v2", "feed_id": "0x{sol}" }} }} }}"#,
            mint()
        );
        let (action, base) = action_of(&file, &p, &m);
        let GovernanceAction::SetMarketOracle { oracle, .. } = &action else { panic!("{action:?}") };
        assert_eq!(oracle.address.to_string(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
        let text = render_diff(&action, &base, &p).unwrap();
        assert!(text.contains(&format!("new feed PriceUpdateV2 feed 0x{sol} (shard 0)")), "{text}");
        let kind = text.lines().find(|l| l.trim_start().starts_with("oracle.kind")).unwrap();
        assert!(kind.ends_with(" 2 -> 1  LOOSEN (any change)"), "{text}");
        assert!(text.contains(&format!("oracle.feed_id  0x{} -> 0x{sol}", "00".repeat(32))), "{text}");
        assert!(text.contains("needs the timelock"), "{text}");
        // The transaction carries the new feed's account for the program to read.
        let propose = ix::propose_change(p.admin, 0, action.clone());
        assert_eq!(propose.accounts.last().map(|a| a.pubkey), Some(oracle.address));

        let legacy = Pubkey::new_from_array([9; 32]);
        let file = format!(r#"{{ "set_native_oracle": {{ "kind": "legacy", "address": "{legacy}" }} }}"#);
        let (action, _) = action_of(&file, &p, &m);
        assert_eq!(action, GovernanceAction::SetNativeOracle { oracle: OracleSource::legacy(legacy) });
        let bad = |file: &str| ChangeFile::parse(file).unwrap_err();
        assert!(bad(r#"{ "set_native_oracle": { "kind": "pull" } }"#).contains("unknown variant `pull`"));
        assert!(bad(r#"{ "set_native_oracle": { "kind": "price_update_v2", "feed_id": "0x1" } }"#).contains("64 hex"));
        let extra = format!(r#"{{ "set_market_oracle": {{ "mint": "{}", "feed": 1 }} }}"#, mint());
        assert!(bad(&extra).contains("unknown key `feed`"));
    }

    #[test]
    fn change_file_mistakes_are_named() {
        let (p, m) = (protocol(true), market());
        let err = |file: &str| match ChangeFile::parse(file) {
            Err(e) => e,
            Ok(c) => c.resolve(&p, Some(&m)).unwrap_err(),
        };
        assert!(err(r#"{ "set_guardian": "x", "transfer_admin": "y" }"#).contains("one key"));
        assert!(err(r#"{ "set_gates": 1 }"#).contains("unknown change `set_gates`"));
        let typo = format!(r#"{{ "set_market_config": {{ "mint": "{}", "config": {{ "borow_cap": 1 }} }} }}"#, mint());
        assert!(err(&typo).contains("unknown config field `borow_cap`"));
        assert!(err(r#"{ "set_protocol_config": { "timelock": { "delay": 1 } } }"#)
            .contains("unknown config field `timelock.delay`"));
        assert!(err(r#"{ "set_protocol_config": { "timelock": 5 } }"#).contains("`timelock`: expected an object"));
        assert!(err(r#"{ "transfer_admin": "not-a-key" }"#).contains("invalid pubkey"));
        let no_market = ChangeFile::parse(&typo).unwrap().resolve(&p, None).unwrap_err();
        assert!(no_market.contains("no market is listed"), "{no_market}");
    }

    #[test]
    fn base58_round_trip_has_the_vault_as_the_only_signer() {
        let vault = Pubkey::new_from_array([42; 32]);
        let action = GovernanceAction::SetGuardian { guardian: Pubkey::new_from_array([3; 32]) };
        let instruction = ix::propose_change(vault, 5, action.clone());
        let blockhash = Hash::new_from_array([9; 32]);
        let text = to_base58(&unsigned_transaction(instruction.clone(), &vault, blockhash));
        let tx = from_base58(&text).unwrap();
        let message = &tx.message;
        assert_eq!(message.header.num_required_signatures, 1);
        assert_eq!(message.account_keys[0], vault);
        assert_eq!(message.recent_blockhash, blockhash);
        assert_eq!(tx.signatures.len(), 1);
        assert_eq!(tx.signatures[0], Default::default(), "unsigned");
        assert_eq!(message.instructions.len(), 1);
        let compiled = &message.instructions[0];
        assert_eq!(message.account_keys[usize::from(compiled.program_id_index)], ballast::ID);
        assert_eq!(compiled.data, ballast::instruction::ProposeChange { id: 5, action }.data());
        let keys: Vec<Pubkey> = compiled.accounts.iter().map(|&i| message.account_keys[usize::from(i)]).collect();
        assert_eq!(keys, instruction.accounts.iter().map(|m| m.pubkey).collect::<Vec<_>>());
        // Only the vault signs, though it appears as the admin account too.
        assert!((1..message.account_keys.len()).all(|i| !message.is_signer(i)));
        assert!(from_base58("0OIl").is_err());
    }

    #[test]
    fn proposals_show_their_window_and_staleness() {
        let (p, m) = (protocol(true), market());
        let config = MarketConfig { borrow_cap: 9_000_000_000_000, ..m.config };
        let action = GovernanceAction::SetMarketConfig { market: ix::market_pda(&mint()), config };
        let base = action.current(&p, Some(&m)).unwrap();
        let proposal = Proposal {
            protocol: ix::protocol_pda(),
            id: 3,
            proposer: p.admin,
            status: ProposalStatus::Queued,
            bump: 255,
            proposed_at: 1_000,
            delay_secs: 100,
            grace_secs: 50,
            ready_at: 1_100,
            expires_at: 1_150,
            closed_at: 0,
            action: action.clone(),
            base: base.clone(),
        };
        let key = ix::proposal_pda(3);
        let text = render_proposal(&key, &proposal, Some(&base), 1_050);
        assert!(text.starts_with(&format!("proposal 3 ({key}): queued, ready in 50 s\n")), "{text}");
        assert!(text.contains("  set_market_config on market"), "{text}");
        assert!(text.contains("  borrow_cap  8000000000000 -> 9000000000000  LOOSEN\n"), "{text}");
        assert!(!text.contains("STALE"));
        assert!(render_proposal(&key, &proposal, Some(&base), 1_120).contains("ready, expires in 30 s"));
        assert!(render_proposal(&key, &proposal, Some(&base), 1_151).contains("expired"));
        assert!(render_proposal(&key, &proposal, Some(&action), 1_120).contains("STALE"));
    }

    #[test]
    fn clock_time_is_read_from_the_sysvar_layout() {
        let mut data = vec![0u8; 40];
        data[32..40].copy_from_slice(&1_750_000_000i64.to_le_bytes());
        assert_eq!(clock_unix_timestamp(&data), Some(1_750_000_000));
        assert_eq!(clock_unix_timestamp(&data[..39]), None);
    }
}
