//! idl/ballast.json against the compiled program: a cheap staleness check that runs with
//! `cargo test` (the full one, `scripts/idl.sh --check`, rebuilds the IDL). It fails when
//! an instruction or account is added, removed or changed without regenerating the IDL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anchor_lang::prelude::{AccountInfo, ProgramError};
use anchor_lang::Discriminator;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn idl() -> Value {
    let path = root().join("idl/ballast.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("idl/ballast.json is JSON")
}

fn items<'a>(idl: &'a Value, field: &str) -> BTreeMap<String, &'a Value> {
    idl[field].as_array().unwrap().iter().map(|item| (item["name"].as_str().unwrap().to_string(), item)).collect()
}

fn discriminator(item: &Value) -> Vec<u8> {
    item["discriminator"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect()
}

const STALE: &str = "idl/ballast.json is out of date with the program: run scripts/idl.sh";

/// Every `.rs` file of the program, concatenated.
fn program_source() -> String {
    fn walk(dir: &Path, out: &mut String) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = String::new();
    walk(&root().join("programs/ballast/src"), &mut out);
    out
}

/// Names of the handlers in the `#[program]` module: the instructions the program has.
fn program_instructions(source: &str) -> BTreeSet<String> {
    let module = source.split("#[program]").nth(1).expect("a #[program] module");
    let mut depth = 0i32;
    let mut body = String::new();
    for c in module.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 1 {
            body.push(c);
        }
        if depth == 0 && !body.is_empty() {
            break;
        }
    }
    // Handlers sit directly in the module (depth 1); their bodies were skipped above.
    body.split("pub fn ")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .collect()
}

/// Structs marked `#[account]` or `#[account(zero_copy...)]`: the program's account types.
fn program_accounts(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in source.match_indices("#[account") {
        let rest = &source[i..];
        let attr_end = rest.find(']').unwrap();
        let attr = &rest[..=attr_end];
        // `#[account(mut)]` etc. on Accounts fields are constraints, not account types.
        if attr != "#[account]" && !attr.starts_with("#[account(zero_copy") {
            continue;
        }
        let after = &rest[attr_end..];
        let decl = after.find("pub struct ").expect("#[account] on a struct");
        names.insert(after[decl + 11..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
    }
    names
}

#[test]
fn idl_address_is_the_program_id() {
    assert_eq!(idl()["address"].as_str().unwrap(), ballast::ID.to_string(), "{STALE}");
}

#[test]
fn idl_lists_exactly_the_program_instructions_and_accounts() {
    let idl = idl();
    let source = program_source();
    let in_idl: BTreeSet<String> = items(&idl, "instructions").into_keys().collect();
    let in_program = program_instructions(&source);
    assert!(in_program.contains("initialize_protocol") && in_program.contains("liquidate"), "{in_program:?}");
    assert_eq!(in_idl, in_program, "instructions differ. {STALE}");

    let in_idl: BTreeSet<String> = items(&idl, "accounts").into_keys().collect();
    let in_program = program_accounts(&source);
    assert!(in_program.contains("Protocol") && in_program.contains("MarginAccount"), "{in_program:?}");
    assert_eq!(in_idl, in_program, "accounts differ. {STALE}");
}

/// What the compiled dispatcher says to `data` with no accounts.
fn dispatch(data: &[u8]) -> ProgramError {
    let accounts: &[AccountInfo] = &[];
    ballast::entry(&ballast::ID, accounts, data).expect_err("no accounts given")
}

/// The compiled dispatcher knows each IDL discriminator (it fails on the missing accounts
/// or arguments, not with InstructionFallbackNotFound), and a neighbouring one it does not.
#[test]
fn idl_instruction_discriminators_are_the_compiled_ones() {
    let fallback = ProgramError::Custom(anchor_lang::error::ErrorCode::InstructionFallbackNotFound as u32);
    let idl = idl();
    let ixs = items(&idl, "instructions");
    for (name, ix) in &ixs {
        let disc = discriminator(ix);
        assert_ne!(dispatch(&disc), fallback, "{name}: the program has no instruction {disc:?}. {STALE}");
        let mut other = disc.clone();
        other[7] ^= 0xff;
        assert_eq!(dispatch(&other), fallback, "{name}: the probe must be able to fail");
    }
    // The typed constants, for a few instructions named here.
    assert_eq!(discriminator(ixs["initialize_protocol"]), ballast::instruction::InitializeProtocol::DISCRIMINATOR);
    assert_eq!(discriminator(ixs["add_market"]), ballast::instruction::AddMarket::DISCRIMINATOR);
    assert_eq!(discriminator(ixs["liquidate"]), ballast::instruction::Liquidate::DISCRIMINATOR);
}

/// Byte size of an IDL type with bytemuck (repr C, no implicit padding) layout.
fn size_of(ty: &Value, types: &BTreeMap<String, &Value>) -> usize {
    if let Some(name) = ty.as_str() {
        return match name {
            "u8" | "i8" | "bool" => 1,
            "u16" | "i16" => 2,
            "u32" | "i32" | "f32" => 4,
            "u64" | "i64" | "f64" => 8,
            "u128" | "i128" => 16,
            "pubkey" => 32,
            other => panic!("no fixed size for {other}"),
        };
    }
    if let Some(array) = ty.get("array") {
        return size_of(&array[0], types) * array[1].as_u64().unwrap() as usize;
    }
    let name = ty["defined"]["name"].as_str().expect("a defined type");
    let def = &types[name]["type"];
    let fields = |fields: &Value| -> usize {
        // Named fields have a "type"; tuple fields are types.
        let fields = fields.as_array().map(Vec::as_slice).unwrap_or_default();
        fields.iter().map(|f| size_of(f.get("type").unwrap_or(f), types)).sum()
    };
    if def["kind"] == "enum" {
        // Borsh: the variant byte and the largest variant (what an account must make room for).
        return 1 + def["variants"].as_array().unwrap().iter().map(|v| fields(&v["fields"])).max().unwrap();
    }
    fields(&def["fields"])
}

macro_rules! check_accounts {
    ($idl:expr, $($ty:ident = $size:expr),+ $(,)?) => {{
        let idl = $idl;
        let accounts = items(&idl, "accounts");
        let types = items(&idl, "types");
        $(
            let name = stringify!($ty);
            let account = accounts.get(name).unwrap_or_else(|| panic!("{name} missing. {STALE}"));
            assert_eq!(discriminator(account), ballast::$ty::DISCRIMINATOR, "{name} discriminator. {STALE}");
            assert_eq!(8 + std::mem::size_of::<ballast::$ty>(), $size);
            let idl_size = 8 + size_of(&serde_json::json!({ "defined": { "name": name } }), &types);
            assert_eq!(idl_size, $size, "{name}: IDL layout is {idl_size} bytes. {STALE}");
        )+
    }};
}

/// Discriminators and byte layouts of the zero-copy accounts against the compiled types.
#[test]
fn idl_accounts_match_the_compiled_layouts() {
    check_accounts!(
        idl(),
        Protocol = ballast::PROTOCOL_SIZE,
        Market = ballast::MARKET_SIZE,
        MarginAccount = ballast::MARGIN_ACCOUNT_SIZE,
        StakeEscrow = ballast::STAKE_ESCROW_SIZE,
    );
}

/// Borsh accounts (the `Proposal`): discriminator, and the space the program allocates is
/// the IDL layout's largest encoding (every variant of its enums fits).
#[test]
fn idl_borsh_accounts_fit_their_space() {
    let idl = idl();
    let accounts = items(&idl, "accounts");
    let types = items(&idl, "types");
    let proposal = accounts.get("Proposal").unwrap_or_else(|| panic!("Proposal missing. {STALE}"));
    assert_eq!(discriminator(proposal), ballast::Proposal::DISCRIMINATOR, "Proposal discriminator. {STALE}");
    let largest = 8 + size_of(&serde_json::json!({ "defined": { "name": "Proposal" } }), &types);
    assert_eq!(largest, ballast::PROPOSAL_SIZE, "Proposal: IDL layout needs {largest} bytes. {STALE}");
}
