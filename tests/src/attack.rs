//! Helpers for the security suite: forged accounts, non-canonical PDAs, Token-2022 and
//! freeze-authority mints, and the accounting invariants the action fuzzer checks.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_option::COption;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::solana_program::system_instruction;
use anchor_lang::Discriminator;
use anchor_spl::token::spl_token;
use ballast_keeper::scan;
use ballast_sim::runtime::{Runtime, NATIVE_GENESIS_SUPPLY};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

use crate::InstructionError;

/// The Token-2022 program: its accounts must never pass for classic SPL ones.
pub const TOKEN_2022_ID: Pubkey = anchor_spl::token_2022::ID;

/// Bytes of a zero-copy Ballast account: discriminator, then the value.
pub fn zero_copy_bytes<T: bytemuck::Pod + Discriminator>(value: &T) -> Vec<u8> {
    let mut data = T::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(value));
    data
}

/// An address on the curve-free side of `seeds` with a valid but non-canonical bump
/// (lower than the one `find_program_address` returns), and that bump.
pub fn non_canonical_pda(seeds: &[&[u8]], program: &Pubkey) -> (Pubkey, u8) {
    let (_, canonical) = Pubkey::find_program_address(seeds, program);
    (0..canonical)
        .rev()
        .find_map(|bump| {
            let mut with_bump = seeds.to_vec();
            let bump_seed = [bump];
            with_bump.push(&bump_seed);
            Pubkey::create_program_address(&with_bump, program).ok().map(|key| (key, bump))
        })
        .expect("some lower bump is off the curve")
}

/// Classic SPL mint bytes (82 bytes) with `decimals` and the given authorities.
pub fn mint_bytes(decimals: u8, mint_authority: Option<Pubkey>, freeze_authority: Option<Pubkey>) -> Vec<u8> {
    let mint = spl_token::state::Mint {
        mint_authority: mint_authority.into(),
        supply: 0,
        decimals,
        is_initialized: true,
        freeze_authority: freeze_authority.into(),
    };
    let mut data = vec![0; spl_token::state::Mint::LEN];
    mint.pack_into_slice(&mut data);
    data
}

/// Classic SPL token account bytes (165 bytes).
pub fn token_account_bytes(mint: &Pubkey, owner: &Pubkey, amount: u64) -> Vec<u8> {
    let account = spl_token::state::Account {
        mint: *mint,
        owner: *owner,
        amount,
        delegate: COption::None,
        state: spl_token::state::AccountState::Initialized,
        is_native: COption::None,
        delegated_amount: 0,
        close_authority: COption::None,
    };
    let mut data = vec![0; spl_token::state::Account::LEN];
    account.pack_into_slice(&mut data);
    data
}

/// A Token-2022 mint as the Token-2022 program lays it out: the classic 82 bytes,
/// padding to 165, the account-type byte (1 = mint) and, with `transfer_fee_bps`, a
/// TransferFeeConfig extension (type 1, 108 bytes) charging that fee.
pub fn token_2022_mint_bytes(decimals: u8, authority: &Pubkey, transfer_fee_bps: Option<u16>) -> Vec<u8> {
    let mut data = mint_bytes(decimals, Some(*authority), None);
    data.resize(spl_token::state::Account::LEN, 0);
    data.push(1);
    if let Some(bps) = transfer_fee_bps {
        let mut ext = Vec::with_capacity(108);
        ext.extend_from_slice(authority.as_ref()); // transfer fee config authority
        ext.extend_from_slice(authority.as_ref()); // withdraw withheld authority
        ext.extend_from_slice(&0u64.to_le_bytes()); // withheld amount
        for _ in 0..2 {
            // older and newer fee: epoch, maximum fee, basis points
            ext.extend_from_slice(&0u64.to_le_bytes());
            ext.extend_from_slice(&u64::MAX.to_le_bytes());
            ext.extend_from_slice(&bps.to_le_bytes());
        }
        data.extend_from_slice(&1u16.to_le_bytes());
        data.extend_from_slice(&(ext.len() as u16).to_le_bytes());
        data.extend_from_slice(&ext);
    }
    data
}

/// A Token-2022 token account (classic layout plus the account-type byte 2).
pub fn token_2022_account_bytes(mint: &Pubkey, owner: &Pubkey, amount: u64) -> Vec<u8> {
    let mut data = token_account_bytes(mint, owner, amount);
    data.push(2);
    data
}

/// A real classic SPL mint created through the token program, with a freeze authority.
pub async fn create_mint_with_freeze_authority(rt: &mut Runtime, decimals: u8, freeze: &Pubkey) -> Pubkey {
    let mint = Keypair::new();
    let payer = rt.payer();
    let len = spl_token::state::Mint::LEN;
    let rent = rt.ctx.banks_client.get_rent().await.unwrap().minimum_balance(len);
    let ixs = [
        system_instruction::create_account(&payer, &mint.pubkey(), rent, len as u64, &spl_token::ID),
        spl_token::instruction::initialize_mint2(&spl_token::ID, &mint.pubkey(), &payer, Some(freeze), decimals)
            .unwrap(),
    ];
    rt.send(&ixs, &[&mint]).await.unwrap();
    mint.pubkey()
}

/// Maintenance health of `margin_account` as a liquidator sees it now: the program's
/// own health code over the decoded accounts and live feeds, interest included. `None`
/// when a market cannot be priced for liquidation.
pub async fn maint_health(rt: &mut Runtime, margin_account: &Pubkey) -> Option<i128> {
    let markets = ballast_sim::keeper::snapshot_markets(rt).await;
    let priced = scan::price_markets(&markets, rt.now);
    let account = rt.margin_account(margin_account).await;
    scan::health(&account, &priced)?.maint().ok()
}

/// Checks the protocol-wide native token accounting: the mint's supply is the genesis
/// supply plus emissions minus burns, and the stake vault holds exactly what is staked.
pub async fn assert_native_accounting(rt: &mut Runtime) {
    let native = rt.native();
    let protocol = rt.protocol().await;
    let supply = rt.mint_supply(&native.mint).await;
    let expected = NATIVE_GENESIS_SUPPLY + protocol.total_emitted - protocol.total_burned;
    assert_eq!(
        supply, expected,
        "native supply {supply} != genesis + emitted {} - burned {}",
        protocol.total_emitted, protocol.total_burned
    );
    let staked = rt.token_balance(&protocol.stake_vault).await;
    assert_eq!(staked, protocol.total_staked, "stake vault {staked} != total staked {}", protocol.total_staked);
}

/// Asserts that `result` failed in the instruction at `index` (0 is the compute-budget
/// nonce the runtime adds) with the custom error `code`.
pub fn assert_error_at(result: Result<(), BanksClientError>, index: u8, code: impl Into<u32>) {
    let code = code.into();
    match result.expect_err("transaction should fail").unwrap() {
        TransactionError::InstructionError(i, InstructionError::Custom(c)) => {
            assert_eq!((i, c), (index, code), "expected error {code} at instruction {index}")
        }
        other => panic!("expected custom error {code} at instruction {index}, got {other:?}"),
    }
}

/// `ix` with every account meta naming `from` pointed at `to` instead.
pub fn swap_account(mut ix: Instruction, from: &Pubkey, to: &Pubkey) -> Instruction {
    let mut found = false;
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == *from) {
        meta.pubkey = *to;
        found = true;
    }
    assert!(found, "{from} is not an account of the instruction");
    ix
}

/// A copy of the account at `key` (same bytes, so the same stored addresses) at a new
/// address owned by `owner`: what an attacker's program can create.
pub async fn copy_under(rt: &mut Runtime, key: &Pubkey, owner: &Pubkey) -> Pubkey {
    let data = rt.raw_account(key).await.expect("account exists").data;
    let copy = Pubkey::new_unique();
    rt.set_raw_account(&copy, *owner, data);
    copy
}
