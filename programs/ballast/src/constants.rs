//! Seeds, program ids and fixed limits.

use anchor_lang::prelude::*;

/// Legacy Pyth oracle program (mainnet-beta): legacy price accounts are owned by it.
pub const PYTH_PROGRAM_ID: Pubkey = pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");
/// Pyth Solana Receiver program: owns every `PriceUpdateV2` account (push feeds and
/// posted updates alike).
pub const PYTH_RECEIVER_PROGRAM_ID: Pubkey = pyth_solana_receiver_sdk::ID;
/// Pyth push-oracle program: a push feed is its PDA `[shard_id (u16 LE), feed_id]`.
pub const PYTH_PUSH_ORACLE_PROGRAM_ID: Pubkey = pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID;

#[constant]
pub const PROTOCOL_SEED: &[u8] = b"protocol";
#[constant]
pub const MARKET_SEED: &[u8] = b"market";
#[constant]
pub const VAULT_SEED: &[u8] = b"vault";
#[constant]
pub const MARGIN_ACCOUNT_SEED: &[u8] = b"margin";
#[constant]
pub const STAKE_ESCROW_SEED: &[u8] = b"stake";
#[constant]
pub const STAKE_VAULT_SEED: &[u8] = b"stake_vault";
#[constant]
pub const REWARD_VAULT_SEED: &[u8] = b"reward_vault";
#[constant]
pub const PROPOSAL_SEED: &[u8] = b"proposal";

/// Markets the protocol can list: each has its own staker reward stream. (`usize`
/// constants stay out of the IDL, which has no such type; the array lengths show them.)
pub const MAX_MARKETS: usize = 16;
/// Stream 0 pays native tokens; stream 1 + i pays market i's token.
pub const REWARD_STREAMS: usize = 1 + MAX_MARKETS;
pub const NATIVE_STREAM: usize = 0;

/// Balances one margin account can hold (one per market). Not an IDL `#[constant]`:
/// the IDL has no `usize`; the length shows in `MarginAccount.balances`.
pub const MAX_BALANCES: usize = 8;

/// Debt worth less than this after a liquidation (WAD quote value, $1) may be closed
/// out in full, so that no account is left owing dust nobody will liquidate.
pub const LIQUIDATION_DUST_VALUE: u128 = 1_000_000_000_000_000_000;
