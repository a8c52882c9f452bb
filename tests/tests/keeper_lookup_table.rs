//! The keeper's largest liquidation, of an account holding a balance in every one of its
//! eight slots, as a legacy transaction and as a v0 transaction looking the protocol's
//! accounts up in an address lookup table; then sent as v0 through the real address
//! lookup table program (solana-program-test bundles it as a core BPF program), in a
//! table the CLI's extend instructions filled. Prints both sizes:
//!
//!   cargo test --locked -p ballast-tests --test keeper_lookup_table -- --nocapture

use std::collections::HashSet;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::{Market, MAX_BALANCES};
use ballast_cli::lookup_table::{addresses_to_add, extend_instructions};
use ballast_client::lookup_table::{self, AddressLookupTableAccount, PACKET_DATA_SIZE};
use ballast_keeper::bot::signed_transaction;
use ballast_keeper::config::DEFAULT_COMPUTE_UNIT_LIMIT;
use ballast_keeper::scan::{self, LiquidatorSide, MarketSnapshot, Payout};
use ballast_sim::ix::{self, MarketTransfer};
use ballast_sim::keeper::{snapshot_markets, Liquidator};
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, Runtime};
use ballast_tests::*;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Hash;

/// A borrower holding SOL, USDC debt and a deposit in six more markets (every slot
/// taken), and a keeper with USDC to repay with and a token account in every market.
struct EightBalances {
    fx: Fixture,
    borrower: Trader,
    keeper: Liquidator,
}

async fn eight_balances() -> EightBalances {
    let mut fx = Fixture::new().await;
    while fx.rt.markets.len() < MAX_BALANCES {
        let (mint, now) = (fx.rt.create_mint(6).await, fx.rt.now);
        let config = standard_config(1_000_000 * USDC, 500_000 * USDC);
        fx.rt.list_market(mint, PythPrice::steady(USD, EXPO, now), config).await;
    }
    let (lender, borrower) = fx.lender_and_borrower(100_000 * USDC, 10 * SOL, 600 * USDC).await;
    drop(lender);
    let owner = borrower.key.insecure_clone();
    for side in fx.rt.markets.clone().into_iter().skip(2) {
        let user_token = fx.rt.funded_token_account(&side.mint, &owner.pubkey(), USDC).await;
        let on_side = MarketTransfer { user_token, ..borrower.on(&side) };
        fx.rt.send(&[ix::deposit(&on_side, USDC)], &[&owner]).await.unwrap();
    }
    let account = fx.rt.margin_account(&borrower.margin_account).await;
    assert!(account.balances.iter().all(|b| b.active != 0), "every slot holds a balance");
    let keeper = Liquidator::new(&mut fx.rt, &[10_000 * USDC]).await;
    EightBalances { fx, borrower, keeper }
}

impl EightBalances {
    /// SOL falls to $55: the borrower is under maintenance.
    async fn crash(&mut self) {
        self.fx.rt.advance(1);
        self.fx.refresh_prices(55 * USD).await;
    }

    /// The keeper library's liquidation of the borrower, as the bot builds it.
    async fn liquidation(&mut self) -> Instruction {
        let markets = snapshot_markets(&mut self.fx.rt).await;
        let priced = scan::price_markets(&markets, self.fx.rt.now);
        let account = self.fx.rt.margin_account(&self.borrower.margin_account).await;
        let plan = scan::plan_liquidation(&account, &priced, &markets, u64::MAX, 0).expect("unhealthy");
        let token_account = |m: &MarketSnapshot| self.keeper.tokens[&m.key];
        let by = LiquidatorSide {
            key: self.keeper.key.pubkey(),
            token_account: &token_account,
            max_repay: 10_000 * USDC,
            payout: Payout::Tokens,
        };
        let instruction =
            scan::liquidation_instruction(&by, self.borrower.margin_account, &account, &plan, &markets).unwrap();
        // Eleven named accounts, then a (market, oracle) pair per balance.
        assert_eq!(instruction.accounts.len(), 11 + 2 * MAX_BALANCES);
        instruction
    }

    /// The keeper's transaction of `instruction`, against `table` if given.
    fn transaction(
        &self,
        instruction: &Instruction,
        table: Option<&AddressLookupTableAccount>,
        blockhash: Hash,
    ) -> VersionedTransaction {
        let ixs = std::slice::from_ref(instruction);
        signed_transaction(&self.keeper.key, ixs, DEFAULT_COMPUTE_UNIT_LIMIT, 1, table, blockhash).unwrap()
    }
}

/// Every protocol address, as `ballast-cli lookup-table create` collects them.
async fn protocol_addresses(rt: &mut Runtime) -> Vec<Pubkey> {
    let protocol = rt.protocol().await;
    let mut markets: Vec<(Pubkey, Market)> = Vec::new();
    for handle in rt.markets.clone() {
        markets.push((handle.key, rt.market(&handle.key).await));
    }
    lookup_table::protocol_addresses(&protocol, &markets)
}

fn size(tx: &VersionedTransaction) -> usize {
    bincode::serialize(tx).unwrap().len()
}

#[tokio::test]
async fn the_lookup_table_shrinks_the_largest_liquidation_well_under_a_packet() {
    let mut e = eight_balances().await;
    e.crash().await;
    let instruction = e.liquidation().await;
    let table =
        AddressLookupTableAccount { key: Pubkey::new_unique(), addresses: protocol_addresses(&mut e.fx.rt).await };
    let blockhash = Hash::new_from_array([7; 32]);
    let legacy = e.transaction(&instruction, None, blockhash);
    let v0 = e.transaction(&instruction, Some(&table), blockhash);
    let (legacy_size, v0_size) = (size(&legacy), size(&v0));

    // What the table takes out of the message: the protocol, the eight markets and their
    // feeds, the two vaults and the token program. The keeper (signer), the liquidatee,
    // the keeper's token accounts and the programs invoked stay.
    let accounts: HashSet<Pubkey> = instruction.accounts.iter().map(|m| m.pubkey).collect();
    let looked_up: HashSet<Pubkey> =
        accounts.iter().filter(|k| table.addresses.contains(k) && **k != e.keeper.key.pubkey()).copied().collect();
    assert_eq!(looked_up.len(), 1 + 2 * MAX_BALANCES + 2 + 1);
    let moved = legacy.message.static_account_keys().len() - v0.message.static_account_keys().len();
    assert_eq!(moved, looked_up.len());
    // Each looked-up key shrinks from 32 bytes to a one-byte index; the v0 message adds
    // its version byte, the lookup count, the table's key and two index-list lengths.
    assert_eq!(legacy_size - v0_size, 31 * moved - (1 + 1 + 32 + 1 + 1));
    println!(
        "largest liquidation ({} account metas, {} distinct accounts in the transaction): legacy {legacy_size} \
         bytes, v0 with the lookup table {v0_size} bytes ({moved} accounts looked up); packet limit \
         {PACKET_DATA_SIZE}",
        instruction.accounts.len(),
        legacy.message.static_account_keys().len(),
    );
    assert!(v0_size <= PACKET_DATA_SIZE);
    assert!(v0_size * 3 < legacy_size * 2, "v0 is under two thirds of legacy");
}

#[tokio::test]
async fn the_keeper_liquidates_with_a_v0_transaction_through_a_real_lookup_table() {
    let mut e = eight_balances().await;
    let authority = e.fx.rt.payer();
    // A table derives from a recent slot the runtime knows: move past genesis first.
    let slot = e.fx.rt.ctx.banks_client.get_root_slot().await.unwrap();
    e.fx.rt.ctx.warp_to_slot(slot + 2).unwrap();
    e.fx.rt.set_time(e.fx.rt.now);
    let (create, table_key) = lookup_table::create_lookup_table(authority, authority, slot + 1);
    e.fx.rt.send(&[create], &[]).await.unwrap();

    // Filled as `ballast-cli lookup-table create` fills it, several extends.
    let wanted = protocol_addresses(&mut e.fx.rt).await;
    let extends = extend_instructions(table_key, authority, &wanted);
    assert!(extends.len() > 1);
    for extend in extends {
        e.fx.rt.send(&[extend], &[]).await.unwrap();
    }
    let account = e.fx.rt.raw_account(&table_key).await.expect("the table exists");
    let table = lookup_table::decode_table(table_key, &account.owner, &account.data).unwrap();
    assert_eq!(table.account.addresses, wanted);
    assert_eq!(table.authority, Some(authority));
    assert!(addresses_to_add(&table, authority, &wanted).unwrap().is_empty(), "extend finds nothing to add");

    // Addresses extended in a slot are looked up from the next one.
    e.fx.rt.ctx.warp_to_slot(slot + 3).unwrap();
    e.fx.rt.set_time(e.fx.rt.now);
    e.crash().await;
    let instruction = e.liquidation().await;
    let blockhash = e.fx.rt.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let tx = e.transaction(&instruction, Some(&table.account), blockhash);
    assert_eq!(tx.message.address_table_lookups().map(<[_]>::len), Some(1));

    // Simulated, then sent, as the bot does.
    let simulation = e.fx.rt.ctx.banks_client.simulate_transaction(tx.clone()).await.unwrap();
    assert_eq!(simulation.result, Some(Ok(())), "{:?}", simulation.simulation_details.map(|d| d.logs));
    let usdc = e.fx.usdc;
    let debt_before = e.fx.rt.market(&usdc.key).await.total_borrow_shares.get();
    let paid_from = e.keeper.tokens[&usdc.key];
    let keeper_usdc = e.fx.rt.token_balance(&paid_from).await;
    e.fx.rt.ctx.banks_client.process_transaction(tx).await.unwrap();
    assert!(e.fx.rt.market(&usdc.key).await.total_borrow_shares.get() < debt_before, "debt repaid");
    assert!(e.fx.rt.token_balance(&paid_from).await < keeper_usdc, "the keeper paid");
}
