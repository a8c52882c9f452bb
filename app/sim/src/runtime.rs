//! The Ballast program running natively inside solana-program-test, with the real SPL
//! token program, plus the helpers every test and scenario needs.

use anchor_lang::prelude::{AccountInfo, Clock, Pubkey, Rent};
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::Discriminator;
use anchor_spl::token::spl_token;
use ballast::{MarginAccount, Market, MarketConfig, OracleKind, OracleSource, Protocol, ProtocolConfig, StakeEscrow};
use solana_account::{Account, AccountSharedData};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::Transaction;
use std::collections::HashMap;

pub use ballast_client::health_accounts::BalanceChange;
use ballast_client::health_accounts::{self, MarketKeys};

use crate::ix::{self, health_metas};
use crate::pyth::{feed_account, PythPrice};

/// Start of simulated time (2025-06-15).
pub const GENESIS_TIME: i64 = 1_750_000_000;

/// Anchor's `entry` takes `&'info [AccountInfo<'info>]`, `processor!` wants
/// `for<'a, 'b, 'c> fn(&'a Pubkey, &'b [AccountInfo<'c>], &[u8])`. `AccountInfo` is
/// invariant in its lifetime, so shorten it with a lifetime-only transmute (same
/// layout); nothing escapes the call.
fn ballast_entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let accounts: &[AccountInfo] = unsafe { std::mem::transmute::<&[AccountInfo<'_>], &[AccountInfo<'_>]>(accounts) };
    ballast::entry(program_id, accounts, data)
}

/// A listed market as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketHandle {
    pub key: Pubkey,
    pub mint: Pubkey,
    pub oracle: Pubkey,
    pub vault: Pubkey,
    pub index: u16,
    pub decimals: u8,
}

/// The native token: its mint (whose authority is the protocol once initialised), its
/// Pyth feed, and the treasury token account (owned by the payer) that holds the
/// genesis supply users are funded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeToken {
    pub mint: Pubkey,
    pub oracle: Pubkey,
    pub treasury: Pubkey,
    pub decimals: u8,
}

/// Native tokens minted at genesis into the treasury (before the protocol takes the
/// mint authority): 10^18 base units.
pub const NATIVE_GENESIS_SUPPLY: u64 = 1_000_000_000_000_000_000;
/// The native token's starting price: $2.00 with exponent -8.
pub const NATIVE_PRICE: i64 = 200_000_000;

pub struct Runtime {
    pub ctx: ProgramTestContext,
    /// The program's upgrade authority, who initialises the protocol and lists markets.
    pub admin: Keypair,
    pub now: i64,
    pub markets: Vec<MarketHandle>,
    /// Set by `initialize_protocol`.
    pub native: Option<NativeToken>,
    rent: Rent,
    /// Makes otherwise identical transactions distinct (a compute-unit price of 0..n).
    nonce: u64,
    /// Transactions sent so far, whether the program accepted them or not.
    pub transactions: u64,
    /// Format of the feeds [`Runtime::new_feed`] makes: PriceUpdateV2 push feeds (what
    /// Pyth publishes on Solana today) unless set to legacy.
    pub oracle_kind: OracleKind,
    /// Every feed made so far, by address.
    feeds: HashMap<Pubkey, OracleSource>,
}

impl Runtime {
    /// Boots a fresh bank with Ballast (native) and the SPL programs (BPF).
    pub async fn start() -> Runtime {
        quiet_logs();
        let mut pt = ProgramTest::new("ballast", ballast::ID, processor!(ballast_entry));
        pt.prefer_bpf(false);
        let admin = Keypair::new();
        pt.add_account(admin.pubkey(), Account { lamports: 100_000_000_000, ..Account::default() });
        pt.add_account(
            ix::program_data_address(),
            Account {
                lamports: 1_000_000_000,
                data: program_data_bytes(&admin.pubkey()),
                owner: bpf_loader_upgradeable::ID,
                executable: false,
                rent_epoch: 0,
            },
        );
        let ctx = pt.start_with_context().await;
        let rent = ctx.banks_client.get_rent().await.expect("rent sysvar");
        let mut rt = Runtime {
            ctx,
            admin,
            now: GENESIS_TIME,
            markets: Vec::new(),
            native: None,
            rent,
            nonce: 0,
            transactions: 0,
            oracle_kind: OracleKind::PythPriceUpdateV2,
            feeds: HashMap::new(),
        };
        rt.set_time(GENESIS_TIME);
        rt
    }

    pub fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// Signs with the payer and `signers`, and processes the transaction.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        self.transactions += 1;
        let tx = self.transaction(ixs, signers).await?;
        self.ctx.banks_client.process_transaction(tx).await
    }

    /// Runs the transaction without committing it (not counted in `transactions`):
    /// whether the program would accept it now, and its error if not.
    pub async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), BanksClientError> {
        let tx = self.transaction(ixs, signers).await?;
        match self.ctx.banks_client.simulate_transaction(tx).await?.result {
            Some(result) => result.map_err(BanksClientError::TransactionError),
            None => Err(BanksClientError::ClientError("the simulation returned no result")),
        }
    }

    /// `ixs` after a distinct compute-unit price, signed by the payer and `signers`.
    async fn transaction(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Transaction, BanksClientError> {
        self.nonce += 1;
        let mut all = Vec::with_capacity(ixs.len() + 1);
        all.push(ComputeBudgetInstruction::set_compute_unit_price(self.nonce));
        all.extend_from_slice(ixs);
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let mut keys: Vec<&Keypair> = vec![&self.ctx.payer];
        keys.extend_from_slice(signers);
        Ok(Transaction::new_signed_with_payer(&all, Some(&self.ctx.payer.pubkey()), &keys, blockhash))
    }

    /// Sets the validator clock's unix time.
    pub fn set_time(&mut self, unix_timestamp: i64) {
        self.now = unix_timestamp;
        let clock = Clock { unix_timestamp, epoch_start_timestamp: GENESIS_TIME, ..Clock::default() };
        self.ctx.set_sysvar(&clock);
    }

    pub fn advance(&mut self, secs: i64) {
        self.set_time(self.now + secs);
    }

    pub async fn fund(&mut self, to: &Pubkey, lamports: u64) {
        let payer = self.payer();
        self.send(&[system_instruction::transfer(&payer, to, lamports)], &[]).await.unwrap();
    }

    /// A new keypair holding 10 SOL for fees and rent.
    pub async fn new_user(&mut self) -> Keypair {
        let user = Keypair::new();
        self.fund(&user.pubkey(), 10_000_000_000).await;
        user
    }

    /// A classic SPL mint whose authority is the payer.
    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let mint = Keypair::new();
        let key = mint.pubkey();
        let payer = self.payer();
        let init = spl_token::instruction::initialize_mint2(&spl_token::ID, &key, &payer, None, decimals).unwrap();
        let ixs = [self.create_spl_account_instruction(&key, spl_token::state::Mint::LEN), init];
        self.send(&ixs, &[&mint]).await.unwrap();
        key
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let ixs = self.token_account_instructions(&account.pubkey(), mint, owner);
        self.send(&ixs, &[&account]).await.unwrap();
        account.pubkey()
    }

    /// The instructions that create a token account of `mint` for `owner` at `account`
    /// (whose keypair must sign), rent paid by the payer: for batching several set-up
    /// steps into one transaction.
    pub fn token_account_instructions(&self, account: &Pubkey, mint: &Pubkey, owner: &Pubkey) -> [Instruction; 2] {
        let init = spl_token::instruction::initialize_account3(&spl_token::ID, account, mint, owner).unwrap();
        [self.create_spl_account_instruction(account, spl_token::state::Account::LEN), init]
    }

    /// Creates a rent-exempt account of `len` bytes at `account`, owned by the token program.
    fn create_spl_account_instruction(&self, account: &Pubkey, len: usize) -> Instruction {
        let rent = self.rent.minimum_balance(len);
        system_instruction::create_account(&self.payer(), account, rent, len as u64, &spl_token::ID)
    }

    /// Gives `to` new tokens of `mint`: minted by the payer, or for the native token
    /// (whose mint authority is the protocol) transferred from the treasury.
    pub async fn mint_to(&mut self, mint: &Pubkey, to: &Pubkey, amount: u64) {
        let ix = self.fund_instruction(mint, to, amount);
        self.send(&[ix], &[]).await.unwrap();
    }

    /// The instruction behind [`Self::mint_to`], signed by the payer alone.
    pub fn fund_instruction(&self, mint: &Pubkey, to: &Pubkey, amount: u64) -> Instruction {
        let payer = self.payer();
        match self.native {
            Some(native) if native.mint == *mint => {
                spl_token::instruction::transfer(&spl_token::ID, &native.treasury, to, &payer, &[], amount)
            }
            _ => spl_token::instruction::mint_to(&spl_token::ID, mint, to, &payer, &[], amount),
        }
        .unwrap()
    }

    /// A token account of `mint` for `owner`, funded with `amount`.
    pub async fn funded_token_account(&mut self, mint: &Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        let account = self.create_token_account(mint, owner).await;
        if amount > 0 {
            self.mint_to(mint, &account, amount).await;
        }
        account
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let acc = self.ctx.banks_client.get_account(*account).await.unwrap().expect("token account exists");
        spl_token::state::Account::unpack(&acc.data).unwrap().amount
    }

    pub async fn mint_supply(&mut self, mint: &Pubkey) -> u64 {
        let acc = self.ctx.banks_client.get_account(*mint).await.unwrap().expect("mint exists");
        spl_token::state::Mint::unpack(&acc.data).unwrap().supply
    }

    /// Makes a feed of `self.oracle_kind` publishing `price`: a push-feed PDA (shard 0)
    /// of a fresh feed id, or a fresh legacy price account. Returns its address.
    pub fn new_feed(&mut self, price: &PythPrice) -> Pubkey {
        let unique = Pubkey::new_unique();
        let source = match self.oracle_kind {
            OracleKind::PythPriceUpdateV2 => OracleSource::push_feed(0, unique.to_bytes()),
            OracleKind::PythLegacy => OracleSource::legacy(unique),
        };
        self.add_feed(source, price)
    }

    /// Makes the feed `source` publishing `price` (any kind, whatever `oracle_kind` says).
    pub fn add_feed(&mut self, source: OracleSource, price: &PythPrice) -> Pubkey {
        self.feeds.insert(source.address, source);
        self.set_price(&source.address, price);
        source.address
    }

    /// The feed made at `address`.
    pub fn feed(&self, address: &Pubkey) -> OracleSource {
        *self.feeds.get(address).unwrap_or_else(|| panic!("no feed at {address}: make it with new_feed"))
    }

    /// Publishes `price` on the feed at `key`, in its own format and owned by its program.
    pub fn set_price(&mut self, key: &Pubkey, price: &PythPrice) {
        let (owner, data) = feed_account(&self.feed(key), price);
        self.set_raw_account(key, owner, data);
    }

    /// Writes any account, as a test fixture or an attacker's forgery.
    pub fn set_raw_account(&mut self, key: &Pubkey, owner: Pubkey, data: Vec<u8>) {
        let mut account = AccountSharedData::new(1_000_000_000, data.len(), &owner);
        account.set_data_from_slice(&data);
        self.ctx.set_account(key, &account);
    }

    pub async fn raw_account(&mut self, key: &Pubkey) -> Option<Account> {
        self.ctx.banks_client.get_account(*key).await.unwrap()
    }

    /// Decodes a zero-copy Ballast account after checking owner and discriminator.
    pub async fn load<T: bytemuck::Pod + Discriminator>(&mut self, key: &Pubkey) -> T {
        let acc = self.raw_account(key).await.expect("account exists");
        assert_eq!(acc.owner, ballast::ID, "owned by Ballast");
        assert_eq!(&acc.data[..8], T::DISCRIMINATOR, "discriminator");
        *bytemuck::from_bytes::<T>(&acc.data[8..8 + std::mem::size_of::<T>()])
    }

    pub async fn protocol(&mut self) -> Protocol {
        self.load(&ix::protocol_pda()).await
    }

    pub async fn market(&mut self, key: &Pubkey) -> Market {
        self.load(key).await
    }

    pub async fn margin_account(&mut self, key: &Pubkey) -> MarginAccount {
        self.load(key).await
    }

    pub async fn stake_escrow(&mut self, owner: &Pubkey) -> StakeEscrow {
        self.load(&ix::stake_escrow_pda(owner)).await
    }

    /// Creates the native token (genesis supply in the treasury, then the mint
    /// authority handed to the protocol) and initialises the protocol with `admin`
    /// and the standard configuration.
    pub async fn initialize_protocol(&mut self, native_decimals: u8) -> Pubkey {
        self.initialize_protocol_with(native_decimals, ProtocolConfig::standard()).await
    }

    pub async fn initialize_protocol_with(&mut self, native_decimals: u8, config: ProtocolConfig) -> Pubkey {
        self.try_initialize_protocol_with(native_decimals, config).await.unwrap()
    }

    /// [`Self::initialize_protocol_with`], returning the program's refusal (a config it
    /// does not accept) instead of panicking.
    pub async fn try_initialize_protocol_with(
        &mut self,
        native_decimals: u8,
        config: ProtocolConfig,
    ) -> Result<Pubkey, BanksClientError> {
        let native = self.create_native_token(native_decimals).await;
        let ix = ix::initialize_protocol(self.admin.pubkey(), native.mint, self.feed(&native.oracle), config);
        let admin = self.admin.insecure_clone();
        self.send(&[ix], &[&admin]).await?;
        Ok(native.mint)
    }

    /// The native mint with its genesis supply and a $2 Pyth feed, its mint authority
    /// already handed to the protocol PDA.
    pub async fn create_native_token(&mut self, decimals: u8) -> NativeToken {
        let payer = self.payer();
        let mint = self.create_mint(decimals).await;
        let treasury = self.funded_token_account(&mint, &payer, NATIVE_GENESIS_SUPPLY).await;
        let to_protocol = spl_token::instruction::set_authority(
            &spl_token::ID,
            &mint,
            Some(&ix::protocol_pda()),
            spl_token::instruction::AuthorityType::MintTokens,
            &payer,
            &[],
        )
        .unwrap();
        self.send(&[to_protocol], &[]).await.unwrap();
        let oracle = self.new_feed(&PythPrice::steady(NATIVE_PRICE, -8, self.now));
        let native = NativeToken { mint, oracle, treasury, decimals };
        self.native = Some(native);
        native
    }

    pub fn native(&self) -> NativeToken {
        self.native.expect("protocol initialised")
    }

    /// Lists a market for `mint` with a fresh Pyth feed publishing `price`.
    pub async fn list_market(&mut self, mint: Pubkey, price: PythPrice, config: MarketConfig) -> MarketHandle {
        self.try_list_market(mint, price, config).await.unwrap()
    }

    /// [`Self::list_market`], returning the program's refusal (a config it does not
    /// accept) instead of panicking.
    pub async fn try_list_market(
        &mut self,
        mint: Pubkey,
        price: PythPrice,
        config: MarketConfig,
    ) -> Result<MarketHandle, BanksClientError> {
        let oracle = self.new_feed(&price);
        let ix = ix::add_market(self.admin.pubkey(), mint, self.feed(&oracle), config);
        let admin = self.admin.insecure_clone();
        self.send(&[ix], &[&admin]).await?;
        let key = ix::market_pda(&mint);
        let market = self.market(&key).await;
        let handle = MarketHandle {
            key,
            mint,
            oracle,
            vault: market.vault,
            index: market.market_index,
            decimals: market.decimals,
        };
        self.markets.push(handle);
        Ok(handle)
    }

    /// The (market, oracle) metas a health check of `margin_account` needs after `change`,
    /// in slot order: new balances take the first free slot, freed ones drop out.
    pub async fn health_accounts(&mut self, margin_account: &Pubkey, change: BalanceChange) -> Vec<AccountMeta> {
        let account = self.margin_account(margin_account).await;
        health_pairs(&account, &self.markets, change)
    }
}

/// The (market, oracle) metas a health check of `account` needs after `change`, in slot
/// order (`ballast_client::health_accounts`). Every market the account holds or opens
/// must be among `markets`.
pub fn health_pairs(account: &MarginAccount, markets: &[MarketHandle], change: BalanceChange) -> Vec<AccountMeta> {
    let keys: Vec<MarketKeys> =
        markets.iter().map(|m| MarketKeys { index: m.index, market: m.key, oracle: m.oracle }).collect();
    health_metas(&health_accounts::health_pairs(account, &keys, change).expect("every market is listed"))
}

/// solana-program-test logs every instruction at debug level unless RUST_LOG says
/// otherwise; keep only errors unless the user asked for more.
fn quiet_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
}

/// Bytes of an upgradeable-loader ProgramData header (bincode: variant 3, slot,
/// Some(authority)), as the real loader writes them ahead of the program's ELF.
fn program_data_bytes(authority: &Pubkey) -> Vec<u8> {
    let mut data = Vec::with_capacity(45);
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.push(1);
    data.extend_from_slice(authority.as_ref());
    data
}

/// The configuration the tests and scenarios list markets with: the conservative one
/// with its price move guard, but without an effective outflow limit (every outflow is
/// "small"), since scripted flows move most of a market in one step. The breaker tests
/// list markets with the standard limits.
pub fn standard_config(deposit_cap: u64, borrow_cap: u64) -> MarketConfig {
    let mut config = MarketConfig::conservative(deposit_cap, borrow_cap);
    config.breakers.small_outflow_threshold = u64::MAX;
    config
}
