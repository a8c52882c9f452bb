//! `lookup-table create` and `lookup-table extend`: the address lookup table the keeper
//! compiles its v0 transactions against, holding every protocol address
//! (`ballast_client::lookup_table::protocol_addresses`). Created and extended by the
//! CLI's payer, who stays its authority; each extend carries at most
//! `MAX_ADDRESSES_PER_EXTEND` addresses so its transaction fits a packet. Pure: `main.rs`
//! reads the chain and sends.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast_client::lookup_table::{self, LookupTable, MAX_ADDRESSES_PER_EXTEND};

/// Most addresses one table holds (a message indexes them with a byte).
pub const MAX_TABLE_ADDRESSES: usize = 256;

/// The `extend_lookup_table` instructions adding `addresses` to `table`, in order, each
/// paid (the table's added rent) and signed by `authority`.
pub fn extend_instructions(table: Pubkey, authority: Pubkey, addresses: &[Pubkey]) -> Vec<Instruction> {
    addresses
        .chunks(MAX_ADDRESSES_PER_EXTEND)
        .map(|chunk| lookup_table::extend_lookup_table(table, authority, Some(authority), chunk.to_vec()))
        .collect()
}

/// The addresses of `wanted` that `table` lacks, once each, for `authority` to add; an
/// error if `authority` may not extend the table or they would overflow it.
pub fn addresses_to_add(table: &LookupTable, authority: Pubkey, wanted: &[Pubkey]) -> Result<Vec<Pubkey>, String> {
    let key = table.account.key;
    match table.authority {
        None => return Err(format!("lookup table {key} is frozen: create a new one")),
        Some(a) if a != authority => {
            return Err(format!("lookup table {key} is extended by its authority {a}, not {authority}"))
        }
        Some(_) => {}
    }
    if table.deactivated {
        return Err(format!("lookup table {key} is deactivated: create a new one"));
    }
    let missing = lookup_table::missing(wanted, &table.account.addresses);
    let total = table.account.addresses.len() + missing.len();
    if total > MAX_TABLE_ADDRESSES {
        return Err(format!(
            "lookup table {key} would hold {total} addresses, over the {MAX_TABLE_ADDRESSES} a table can: \
             create a second table"
        ));
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast::{Market, Protocol};
    use ballast_client::lookup_table::{protocol_addresses, AddressLookupTableAccount, PACKET_DATA_SIZE, PROGRAM_ID};
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use solana_transaction::{Hash, Transaction};

    fn protocol_and_markets(n: u16) -> (Protocol, Vec<(Pubkey, Market)>) {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.native_mint = Pubkey::new_unique();
        p.native_oracle.address = Pubkey::new_unique();
        p.stake_vault = Pubkey::new_unique();
        p.reward_vault = Pubkey::new_unique();
        let markets = (0..n)
            .map(|i| {
                let mut m: Market = bytemuck::Zeroable::zeroed();
                m.market_index = i;
                m.vault = Pubkey::new_unique();
                m.oracle.address = Pubkey::new_unique();
                m.mint = Pubkey::new_unique();
                (Pubkey::new_unique(), m)
            })
            .collect();
        (p, markets)
    }

    fn table(authority: Option<Pubkey>, addresses: Vec<Pubkey>) -> LookupTable {
        LookupTable {
            account: AddressLookupTableAccount { key: Pubkey::new_unique(), addresses },
            authority,
            deactivated: false,
        }
    }

    /// The addresses every extend of `ixs` carries (bincode: u32 variant 2, u64 count,
    /// then the keys).
    fn extended(ixs: &[Instruction]) -> Vec<Pubkey> {
        ixs.iter()
            .flat_map(|ix| {
                assert_eq!((ix.program_id, &ix.data[..4]), (PROGRAM_ID, &2u32.to_le_bytes()[..]));
                ix.data[12..].chunks(32).map(|k| Pubkey::try_from(k).unwrap()).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_new_table_gets_every_protocol_address_once_in_chunks() {
        let (p, markets) = protocol_and_markets(8);
        let wanted = protocol_addresses(&p, &markets);
        // 7 protocol-wide addresses, 4 per market.
        assert_eq!(wanted.len(), 7 + 8 * 4);
        let unique: std::collections::HashSet<_> = wanted.iter().collect();
        assert_eq!(unique.len(), wanted.len(), "no duplicates");
        for (key, m) in &markets {
            assert!([*key, m.vault, m.oracle.address, m.mint].iter().all(|k| wanted.contains(k)));
        }
        let authority = Pubkey::new_unique();
        let empty = table(Some(authority), vec![]);
        let added = addresses_to_add(&empty, authority, &wanted).unwrap();
        assert_eq!(added, wanted);
        let ixs = extend_instructions(empty.account.key, authority, &added);
        assert_eq!(ixs.len(), wanted.len().div_ceil(MAX_ADDRESSES_PER_EXTEND));
        assert!(ixs.iter().all(|ix| ix.accounts[0].pubkey == empty.account.key));
        assert_eq!(extended(&ixs), wanted);
        // Authority signs, and pays for the table's growth.
        assert!(ixs.iter().all(|ix| ix.accounts[1].pubkey == authority && ix.accounts[2].pubkey == authority));
    }

    #[test]
    fn extend_adds_only_what_the_table_lacks() {
        let (p, markets) = protocol_and_markets(3);
        let authority = Pubkey::new_unique();
        // The table was filled before market 2 was listed: only its four addresses go in.
        let t = table(Some(authority), protocol_addresses(&p, &markets[..2]));
        let added = addresses_to_add(&t, authority, &protocol_addresses(&p, &markets)).unwrap();
        let (key, listed) = markets[2];
        assert_eq!(added, vec![key, listed.vault, listed.oracle.address, listed.mint]);
        // Nothing to add: no transaction.
        assert!(addresses_to_add(&t, authority, &protocol_addresses(&p, &markets[..2])).unwrap().is_empty());
        assert!(extend_instructions(t.account.key, authority, &[]).is_empty());
    }

    #[test]
    fn only_the_authority_extends_a_live_table_with_room() {
        let (me, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        let wanted = vec![Pubkey::new_unique()];
        assert!(addresses_to_add(&table(Some(other), vec![]), me, &wanted).unwrap_err().contains("authority"));
        assert!(addresses_to_add(&table(None, vec![]), me, &wanted).unwrap_err().contains("frozen"));
        let dead = LookupTable { deactivated: true, ..table(Some(me), vec![]) };
        assert!(addresses_to_add(&dead, me, &wanted).unwrap_err().contains("deactivated"));
        let full = table(Some(me), (0..MAX_TABLE_ADDRESSES).map(|_| Pubkey::new_unique()).collect());
        assert!(addresses_to_add(&full, me, &wanted).unwrap_err().contains("over the 256"));
        assert!(addresses_to_add(&full, me, &[]).unwrap().is_empty());
    }

    #[test]
    fn a_full_extend_fits_a_packet() {
        let payer = Keypair::new();
        let addresses: Vec<Pubkey> = (0..MAX_ADDRESSES_PER_EXTEND).map(|_| Pubkey::new_unique()).collect();
        let ixs = extend_instructions(Pubkey::new_unique(), payer.pubkey(), &addresses);
        assert_eq!(ixs.len(), 1);
        let tx = Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), &[&payer], Hash::default());
        let size = bincode::serialize(&tx).unwrap().len();
        // Signature (1 + 64), header (3), keys (1 + 4 * 32), blockhash (32), one
        // instruction (1 + program 1 + accounts 1 + 4 + data length 2 + data 4 + 8 + 32 n).
        let expected = 65 + 3 + 129 + 32 + 1 + 1 + 1 + 4 + 2 + 12 + 32 * MAX_ADDRESSES_PER_EXTEND;
        assert_eq!(size, expected);
        assert!(size <= PACKET_DATA_SIZE, "{size} bytes");
    }
}
