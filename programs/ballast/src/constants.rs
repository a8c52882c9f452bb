//! Seeds, program ids and fixed limits.

use anchor_lang::prelude::*;

/// Legacy Pyth push-oracle program (mainnet-beta): price accounts must be owned by it.
pub const PYTH_PROGRAM_ID: Pubkey = pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");

#[constant]
pub const PROTOCOL_SEED: &[u8] = b"protocol";
#[constant]
pub const MARKET_SEED: &[u8] = b"market";
#[constant]
pub const VAULT_SEED: &[u8] = b"vault";
#[constant]
pub const MARGIN_ACCOUNT_SEED: &[u8] = b"margin";

/// Balances one margin account can hold (one per market). Not an IDL `#[constant]`:
/// the IDL has no `usize`; the length shows in `MarginAccount.balances`.
pub const MAX_BALANCES: usize = 8;

/// Debt worth less than this after a liquidation (WAD quote value, $1) may be closed
/// out in full, so that no account is left owing dust nobody will liquidate.
pub const LIQUIDATION_DUST_VALUE: u128 = 1_000_000_000_000_000_000;
