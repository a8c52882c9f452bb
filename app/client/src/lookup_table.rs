//! Address lookup tables for Ballast transactions. A liquidation of an account with
//! eight balances names about 26 accounts; a v0 message compiled against a table holding
//! the protocol's accounts names each of those by a one-byte index instead of 32 bytes.
//! Here: which protocol addresses go in the table (the CLI creates and extends it), what
//! a table account holds, and the message a transaction is signed over (the keeper).

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::system_program;
use anchor_spl::token::spl_token;
use ballast::{Market, Protocol};
use solana_address_lookup_table_interface::state::AddressLookupTable;
use solana_message::{v0, CompileError, Hash, Message, VersionedMessage};

pub use solana_address_lookup_table_interface::instruction::{create_lookup_table, extend_lookup_table};
pub use solana_address_lookup_table_interface::program::ID as PROGRAM_ID;
pub use solana_message::AddressLookupTableAccount;
/// Most bytes a serialized transaction may take (an IPv6 packet's payload).
pub use solana_packet::PACKET_DATA_SIZE;

/// Addresses one `extend_lookup_table` carries: its transaction (payer and authority
/// alike, table, system and lookup-table programs) then takes 1,146 bytes, under
/// [`PACKET_DATA_SIZE`] with room for a compute-budget instruction.
pub const MAX_ADDRESSES_PER_EXTEND: usize = 28;

/// Every protocol address Ballast instructions name again and again, once each, in a
/// fixed order: the protocol PDA, the token and system programs, the native token (mint,
/// feed, staking vaults), then per market (by index) the market, its vault, its feed and
/// its mint. Program ids a transaction invokes (Ballast's, compute budget) are left out:
/// a v0 message must name those itself.
pub fn protocol_addresses(protocol: &Protocol, markets: &[(Pubkey, Market)]) -> Vec<Pubkey> {
    let mut markets: Vec<&(Pubkey, Market)> = markets.iter().collect();
    markets.sort_by_key(|(_, m)| m.market_index);
    let fixed = [
        crate::ix::protocol_pda(),
        spl_token::ID,
        system_program::ID,
        protocol.native_mint,
        protocol.native_oracle.address,
        protocol.stake_vault,
        protocol.reward_vault,
    ];
    let per_market = markets.iter().flat_map(|(key, m)| [*key, m.vault, m.oracle.address, m.mint]);
    let all: Vec<Pubkey> = fixed.into_iter().chain(per_market).collect();
    missing(&all, &[])
}

/// The addresses of `wanted` not in `present`, once each, in `wanted`'s order.
pub fn missing(wanted: &[Pubkey], present: &[Pubkey]) -> Vec<Pubkey> {
    let mut out: Vec<Pubkey> = Vec::new();
    for key in wanted {
        if !present.contains(key) && !out.contains(key) {
            out.push(*key);
        }
    }
    out
}

/// A lookup table account as read from the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTable {
    /// Its address and the addresses it holds, as messages are compiled against.
    pub account: AddressLookupTableAccount,
    /// Who may extend it; `None` once frozen.
    pub authority: Option<Pubkey>,
    /// Deactivated (or deactivating): transactions cannot use it much longer.
    pub deactivated: bool,
}

/// The lookup table stored at `key` with `data` owned by `owner`; an error naming what
/// is wrong if it is not one.
pub fn decode_table(key: Pubkey, owner: &Pubkey, data: &[u8]) -> Result<LookupTable, String> {
    if *owner != PROGRAM_ID {
        return Err(format!("{key} is not an address lookup table (owner {owner}, not {PROGRAM_ID})"));
    }
    let table =
        AddressLookupTable::deserialize(data).map_err(|e| format!("{key} does not read as a lookup table: {e}"))?;
    Ok(LookupTable {
        account: AddressLookupTableAccount { key, addresses: table.addresses.to_vec() },
        authority: table.meta.authority,
        deactivated: table.meta.deactivation_slot != u64::MAX,
    })
}

/// The message a transaction of `instructions` paid by `payer` is signed over: a v0
/// message looking the table's addresses up when there is a `table`, a legacy message
/// otherwise. Signers and invoked programs stay in the message whatever the table holds.
pub fn message(
    payer: &Pubkey,
    instructions: &[Instruction],
    table: Option<&AddressLookupTableAccount>,
    blockhash: Hash,
) -> Result<VersionedMessage, CompileError> {
    Ok(match table {
        Some(table) => {
            VersionedMessage::V0(v0::Message::try_compile(payer, instructions, std::slice::from_ref(table), blockhash)?)
        }
        None => VersionedMessage::Legacy(Message::new_with_blockhash(instructions, Some(payer), &blockhash)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::solana_program::instruction::AccountMeta;

    fn market(index: u16) -> (Pubkey, Market) {
        let mut m: Market = bytemuck::Zeroable::zeroed();
        m.market_index = index;
        m.vault = Pubkey::new_unique();
        m.oracle.address = Pubkey::new_unique();
        m.mint = Pubkey::new_unique();
        (Pubkey::new_unique(), m)
    }

    fn protocol() -> Protocol {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.native_mint = Pubkey::new_unique();
        p.native_oracle.address = Pubkey::new_unique();
        p.stake_vault = Pubkey::new_unique();
        p.reward_vault = Pubkey::new_unique();
        p
    }

    #[test]
    fn the_table_holds_every_protocol_address_once_markets_by_index() {
        let p = protocol();
        let (usdc, sol) = (market(0), market(1));
        // The native token's own market shares its mint and feed with the protocol.
        let mut native = market(2);
        native.1.mint = p.native_mint;
        native.1.oracle.address = p.native_oracle.address;
        let addresses = protocol_addresses(&p, &[native, sol, usdc]);
        let expected = [
            crate::ix::protocol_pda(),
            spl_token::ID,
            system_program::ID,
            p.native_mint,
            p.native_oracle.address,
            p.stake_vault,
            p.reward_vault,
        ]
        .into_iter()
        .chain([usdc, sol].iter().flat_map(|(k, m)| [*k, m.vault, m.oracle.address, m.mint]))
        .chain([native.0, native.1.vault])
        .collect::<Vec<_>>();
        assert_eq!(addresses, expected);
        assert!(!addresses.contains(&ballast::ID), "invoked programs stay in the message");
    }

    #[test]
    fn missing_skips_present_and_repeated_addresses() {
        let (a, b, c) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        assert_eq!(missing(&[a, b, a, c, b], &[b]), vec![a, c]);
        assert!(missing(&[a, b], &[b, a, c]).is_empty());
    }

    #[test]
    fn a_table_account_reads_back_and_anything_else_is_named() {
        use solana_address_lookup_table_interface::state::LookupTableMeta;
        let (key, authority) = (Pubkey::new_unique(), Pubkey::new_unique());
        let addresses = vec![Pubkey::new_unique(), Pubkey::new_unique()];
        let table = AddressLookupTable {
            meta: LookupTableMeta::new(authority),
            addresses: std::borrow::Cow::Owned(addresses.clone()),
        };
        let data = table.serialize_for_tests().unwrap();
        let read = decode_table(key, &PROGRAM_ID, &data).unwrap();
        assert_eq!(read.account, AddressLookupTableAccount { key, addresses });
        assert_eq!((read.authority, read.deactivated), (Some(authority), false));
        assert!(decode_table(key, &spl_token::ID, &data).unwrap_err().contains("not an address lookup table"));
        assert!(decode_table(key, &PROGRAM_ID, &[1, 2, 3]).unwrap_err().contains("does not read"));
    }

    #[test]
    fn a_v0_message_names_table_addresses_by_index_but_keeps_signers_and_programs() {
        let (payer, liquidatee) = (Pubkey::new_unique(), Pubkey::new_unique());
        let in_table: Vec<Pubkey> = (0..6).map(|_| Pubkey::new_unique()).collect();
        let mut metas = vec![AccountMeta::new(payer, true), AccountMeta::new(liquidatee, false)];
        metas.extend(in_table.iter().map(|k| AccountMeta::new_readonly(*k, false)));
        let ix = Instruction { program_id: ballast::ID, accounts: metas, data: vec![7] };
        // The table also holds the program id and the payer: neither may be looked up.
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: [ballast::ID, payer].into_iter().chain(in_table.iter().copied()).collect(),
        };
        let blockhash = Hash::new_from_array([3; 32]);
        let v0 = message(&payer, std::slice::from_ref(&ix), Some(&table), blockhash).unwrap();
        assert_eq!(v0.static_account_keys(), [payer, liquidatee, ballast::ID]);
        let lookups = v0.address_table_lookups().unwrap();
        assert_eq!(lookups.len(), 1);
        assert_eq!(lookups[0].account_key, table.key);
        assert_eq!(lookups[0].readonly_indexes, (2..8).collect::<Vec<u8>>());
        let legacy = message(&payer, &[ix], None, blockhash).unwrap();
        assert!(matches!(legacy, VersionedMessage::Legacy(_)));
        assert_eq!(legacy.static_account_keys().len(), 9);
        // Six keys of 32 bytes become one-byte indexes, for the version prefix, the
        // lookup count, the table's key and its two index lists' lengths.
        let saved = 6 * 32 - (1 + 1 + 32 + 1 + 1 + 6);
        assert_eq!(legacy.serialize().len() - v0.serialize().len(), saved);
    }
}
