//! The keeper against a real cluster: loads Ballast accounts with getProgramAccounts
//! (memcmp filters on the fixed offsets), decides with [`crate::scan`] and
//! [`crate::buyback`], simulates every transaction before sending it with a
//! compute-unit limit and a capped priority fee, and retries transient RPC errors with
//! backoff. With a lookup table configured, transactions are v0 messages looking the
//! protocol's accounts up in it (a liquidation of eight balances fits a packet with room
//! to spare); without one, legacy transactions.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use anchor_lang::prelude::{pubkey, Pubkey};
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};

use anchor_lang::Discriminator;
use anchor_spl::token::spl_token;
use ballast::{MarginAccount, Market, OracleSource, StakeEscrow, MARGIN_ACCOUNT_SIZE, MARKET_SIZE, STAKE_ESCROW_SIZE};
use ballast_client::lookup_table::{self, AddressLookupTableAccount};
use ballast_client::{decode, ix};
use ballast_risk::oracle::OracleReading;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind};
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Hash;

use crate::buyback::{self, BuybackPlan, BuybackPolicy, Skip};
use crate::config::Config;
use crate::feeds::FeedStatus;
use crate::fees::{backoff_ms, compute_unit_limit, is_transient, priority_fee};
use crate::metrics::{unix_now, Metrics};
use crate::poke::{self, POKES_PER_TRANSACTION};
use crate::scan::{self, LiquidatorSide, MarketSnapshot, Payout};
use crate::{sweep, volatility};

/// SPL associated-token-account program: the keeper keeps one token account per mint.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey = pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
const RETRIES: u32 = 5;
/// Least seconds between two fetches of the lookup table while it lacks protocol
/// addresses (a market listed since it was extended).
pub const LOOKUP_TABLE_REFETCH_SECS: i64 = 60;

pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[owner.as_ref(), spl_token::ID.as_ref(), mint.as_ref()], &ASSOCIATED_TOKEN_PROGRAM_ID)
        .0
}

/// Creates `owner`'s associated token account for `mint` unless it exists (the ATA
/// program's `CreateIdempotent`, instruction 1), so a fill never fails for want of it.
pub fn create_associated_token_account_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction {
    let accounts = vec![
        AccountMeta::new(payer, true),
        AccountMeta::new(associated_token_address(&owner, &mint), false),
        AccountMeta::new_readonly(owner, false),
        AccountMeta::new_readonly(mint, false),
        AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
        AccountMeta::new_readonly(spl_token::ID, false),
    ];
    Instruction { program_id: ASSOCIATED_TOKEN_PROGRAM_ID, accounts, data: vec![1] }
}

/// getProgramAccounts filters for Ballast accounts of type `T` in the protocol:
/// exact size, discriminator at byte 0, protocol key at `protocol_offset`.
pub fn program_account_filters<T: Discriminator>(size: usize, protocol_offset: usize) -> Vec<RpcFilterType> {
    vec![
        RpcFilterType::DataSize(size as u64),
        RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, T::DISCRIMINATOR.to_vec())),
        RpcFilterType::Memcmp(Memcmp::new_raw_bytes(protocol_offset, ix::protocol_pda().to_bytes().to_vec())),
    ]
}

/// Margin accounts put `protocol` at byte 40, markets at byte 8.
pub fn margin_account_filters() -> Vec<RpcFilterType> {
    program_account_filters::<MarginAccount>(MARGIN_ACCOUNT_SIZE, 40)
}

pub fn market_filters() -> Vec<RpcFilterType> {
    program_account_filters::<Market>(MARKET_SIZE, 8)
}

/// Stake escrows put `protocol` at byte 40.
pub fn stake_escrow_filters() -> Vec<RpcFilterType> {
    program_account_filters::<StakeEscrow>(STAKE_ESCROW_SIZE, 40)
}

/// What one scan found.
pub struct Snapshot {
    pub markets: Vec<MarketSnapshot>,
    pub accounts: Vec<(Pubkey, MarginAccount)>,
}

/// What one buyback pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BuybackPass {
    /// Fills sent (or simulated, in a dry run).
    pub filled: usize,
    /// When the next market's curve reaches the profit threshold, if one will this epoch.
    pub wake_at: Option<i64>,
}

/// How a transaction fared.
enum Outcome {
    /// Simulation failed: the program would reject it.
    Refused(String),
    /// Simulation passed; a dry run stops there.
    Simulated,
    Confirmed(String),
}

fn custom_error(message: String) -> ClientError {
    ErrorKind::Custom(message).into()
}

/// The configured lookup table as last fetched.
#[derive(Debug, Default)]
struct TableCache {
    table: Option<AddressLookupTableAccount>,
    fetched_at: i64,
    /// How many protocol addresses it lacked when the keeper last said so.
    missing_reported: usize,
}

/// `instructions` after a compute-unit limit and price, paid and signed by `payer`: a v0
/// transaction looking addresses up in `table` if there is one, a legacy one otherwise.
pub fn signed_transaction(
    payer: &Keypair,
    instructions: &[Instruction],
    compute_unit_limit: u32,
    fee: u64,
    table: Option<&AddressLookupTableAccount>,
    blockhash: Hash,
) -> Result<VersionedTransaction, String> {
    let mut ixs = vec![
        ComputeBudgetInstruction::set_compute_unit_limit(compute_unit_limit),
        ComputeBudgetInstruction::set_compute_unit_price(fee),
    ];
    ixs.extend_from_slice(instructions);
    let message = lookup_table::message(&payer.pubkey(), &ixs, table, blockhash)
        .map_err(|e| format!("compiling the transaction: {e}"))?;
    VersionedTransaction::try_new(message, &[payer]).map_err(|e| format!("signing the transaction: {e}"))
}

pub struct Bot {
    pub rpc: RpcClient,
    pub payer: Keypair,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    /// When this bot last swept fees (`None`: not yet).
    last_sweep: Mutex<Option<i64>>,
    last_poke: Mutex<Option<i64>>,
    lookup_table: Mutex<TableCache>,
}

impl Bot {
    pub fn new(config: Config, payer: Keypair, metrics: Arc<Metrics>) -> Bot {
        let rpc = RpcClient::new_with_commitment(config.rpc_url.clone(), CommitmentConfig::confirmed());
        Bot {
            rpc,
            payer,
            config,
            metrics,
            last_sweep: Mutex::new(None),
            last_poke: Mutex::new(None),
            lookup_table: Mutex::default(),
        }
    }

    /// Fetches the configured lookup table, once at start: an error if it is not a usable
    /// table. Without one, says once that transactions go out in the legacy format.
    pub async fn load_lookup_table(&self) -> Result<(), ClientError> {
        let Some(key) = self.config.lookup_table else {
            println!("no lookup_table configured: sending legacy transactions");
            return Ok(());
        };
        let table = self.fetch_lookup_table(key).await?;
        println!("lookup table {key}: {} addresses; sending v0 transactions", table.addresses.len());
        self.store_lookup_table(table);
        Ok(())
    }

    async fn fetch_lookup_table(&self, key: Pubkey) -> Result<AddressLookupTableAccount, ClientError> {
        let account = self.retry(|| self.rpc.get_account(&key)).await?;
        let table = lookup_table::decode_table(key, &account.owner, &account.data).map_err(custom_error)?;
        if table.deactivated {
            return Err(custom_error(format!("lookup table {key} is deactivated: create a new one")));
        }
        Ok(table.account)
    }

    fn store_lookup_table(&self, table: AddressLookupTableAccount) {
        let mut cache = self.lookup_table.lock().expect("not poisoned");
        cache.table = Some(table);
        cache.fetched_at = unix_now();
    }

    /// Refetches the lookup table when it lacks some of the protocol's addresses (a
    /// market listed since it was extended), at most every `LOOKUP_TABLE_REFETCH_SECS`,
    /// and says so while it still does. Transactions work either way: an address not in
    /// the table stays in the message.
    async fn refresh_lookup_table(&self, protocol: &ballast::Protocol, markets: &[(Pubkey, Market)]) {
        let Some(key) = self.config.lookup_table else { return };
        let wanted = lookup_table::protocol_addresses(protocol, markets);
        let lacking = |cache: &TableCache| {
            cache.table.as_ref().map_or(wanted.len(), |t| lookup_table::missing(&wanted, &t.addresses).len())
        };
        let due = {
            let cache = self.lookup_table.lock().expect("not poisoned");
            lacking(&cache) > 0 && unix_now() - cache.fetched_at >= LOOKUP_TABLE_REFETCH_SECS
        };
        if due {
            match self.fetch_lookup_table(key).await {
                Ok(table) => self.store_lookup_table(table),
                Err(e) => eprintln!("lookup table {key}: refetch failed ({e}); keeping the last copy"),
            }
        }
        let mut cache = self.lookup_table.lock().expect("not poisoned");
        let missing = lacking(&cache);
        if missing != cache.missing_reported {
            if missing > 0 {
                eprintln!(
                    "lookup table {key} lacks {missing} protocol addresses: run `ballast-cli lookup-table extend {key}`"
                );
            }
            cache.missing_reported = missing;
        }
    }

    /// Runs `call` until it succeeds, fails for good, or runs out of retries.
    async fn retry<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if is_transient(&e) && attempt + 1 < RETRIES => {
                    self.metrics.rpc_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(backoff_ms(attempt))).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn program_accounts(&self, filters: Vec<RpcFilterType>) -> Result<Vec<(Pubkey, Vec<u8>)>, ClientError> {
        let config = RpcProgramAccountsConfig {
            filters: Some(filters),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let accounts =
            self.retry(|| self.rpc.get_program_ui_accounts_with_config(&ballast::ID, config.clone())).await?;
        Ok(accounts.into_iter().filter_map(|(key, ui)| Some((key, ui.data.decode()?))).collect())
    }

    /// The protocol account.
    async fn protocol(&self) -> Result<ballast::Protocol, ClientError> {
        let key = ix::protocol_pda();
        let raw = self.retry(|| self.rpc.get_account(&key)).await?;
        buyback::decode_protocol(&raw.data)
            .ok_or_else(|| custom_error(format!("{key} is not a Ballast protocol account")))
    }

    /// Every market with its oracle reading, and every margin account of the protocol.
    pub async fn snapshot(&self) -> Result<Snapshot, ClientError> {
        let markets = self.markets().await?;
        let accounts = self
            .program_accounts(margin_account_filters())
            .await?
            .into_iter()
            .filter_map(|(k, data)| Some((k, decode::margin_account(&data)?.into_owned())))
            .collect();
        Ok(Snapshot { markets, accounts })
    }

    /// Every market whose oracle reads, with its reading. Records every feed's age (the
    /// native token's included) in the metrics on the way.
    pub async fn markets(&self) -> Result<Vec<MarketSnapshot>, ClientError> {
        let raw_markets = self.program_accounts(market_filters()).await?;
        let decoded: Vec<(Pubkey, Market)> =
            raw_markets.iter().filter_map(|(k, data)| Some((*k, *decode::market(data)?))).collect();
        let protocol = self.protocol().await?;
        let sources: Vec<OracleSource> =
            decoded.iter().map(|(_, m)| m.oracle).chain([protocol.native_oracle]).collect();
        let keys: Vec<Pubkey> = sources.iter().map(|s| s.address).collect();
        let oracles = self.retry(|| self.rpc.get_multiple_accounts(&keys)).await?;
        let readings: Vec<Option<OracleReading>> = sources
            .iter()
            .zip(&oracles)
            .map(|(source, account)| {
                let account = account.as_ref()?;
                ballast::oracle::parse_oracle(source, &account.owner, &account.data).ok()
            })
            .collect();
        let now = unix_now();
        let mut feeds: Vec<FeedStatus> = decoded
            .iter()
            .zip(&readings)
            .map(|((key, market), reading)| FeedStatus::of_market(key, market, reading.as_ref(), now))
            .collect();
        feeds.push(FeedStatus::of_native(&protocol, readings.last().and_then(Option::as_ref), now));
        self.metrics.record_feeds(feeds);
        self.refresh_lookup_table(&protocol, &decoded).await;
        Ok(decoded
            .into_iter()
            .zip(readings)
            .filter_map(|((key, market), reading)| Some(MarketSnapshot { key, market, reading: reading? }))
            .collect())
    }

    /// One pass: scan, then liquidate every unhealthy account worth the minimum profit.
    /// Returns how many liquidations were sent (or simulated, in a dry run).
    pub async fn run_once(&self) -> Result<usize, ClientError> {
        let snapshot = self.snapshot().await?;
        let now = unix_now();
        let priced = scan::price_markets(&snapshot.markets, now);
        let unhealthy = scan::find_unhealthy(snapshot.accounts.iter().map(|(k, a)| (*k, a)), &priced);
        self.metrics.accounts_scanned.fetch_add(snapshot.accounts.len() as u64, Ordering::Relaxed);
        self.metrics.unhealthy_accounts.store(unhealthy.len() as u64, Ordering::Relaxed);
        let mut acted = 0;
        for u in &unhealthy {
            let Some((_, account)) = snapshot.accounts.iter().find(|(k, _)| *k == u.key) else { continue };
            match self.liquidate(u.key, account, &snapshot.markets, &priced).await {
                Ok(true) => acted += 1,
                Ok(false) => {}
                Err(e) => {
                    self.metrics.liquidation_failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("liquidation of {} failed: {e}", u.key);
                }
            }
        }
        self.metrics.scans.fetch_add(1, Ordering::Relaxed);
        self.metrics.last_scan_unix.store(now, Ordering::Relaxed);
        println!("scan: {} accounts, {} unhealthy, {acted} liquidated", snapshot.accounts.len(), unhealthy.len());
        Ok(acted)
    }

    async fn liquidate(
        &self,
        liquidatee: Pubkey,
        account: &MarginAccount,
        markets: &[MarketSnapshot],
        priced: &[ballast::health::PricedMarket],
    ) -> Result<bool, ClientError> {
        let Some(plan) = scan::plan_liquidation(account, priced, markets, u64::MAX, self.config.min_profit) else {
            return Ok(false);
        };
        let (Some(liability), Some(asset)) =
            (scan::market_of(markets, plan.liability_market), scan::market_of(markets, plan.asset_market))
        else {
            return Ok(false);
        };
        let keeper = self.payer.pubkey();
        let repay_from = associated_token_address(&keeper, &liability.market.mint);
        let budget = match self.retry(|| self.rpc.get_token_account_balance(&repay_from)).await {
            Ok(balance) => balance.amount.parse::<u64>().unwrap_or(0),
            Err(_) => 0,
        };
        if budget == 0 {
            eprintln!("no {} to repay with in {repay_from}: skipping {liquidatee}", liability.market.mint);
            return Ok(false);
        }
        let token_account = |m: &MarketSnapshot| associated_token_address(&keeper, &m.market.mint);
        let by =
            LiquidatorSide { key: keeper, token_account: &token_account, max_repay: budget, payout: Payout::Tokens };
        let Some(instruction) = scan::liquidation_instruction(&by, liquidatee, account, &plan, markets) else {
            return Ok(false);
        };
        match self.simulate_then_send(&[instruction], &[liquidatee, liability.key, asset.key]).await? {
            Outcome::Refused(err) => {
                self.metrics.liquidation_failures.fetch_add(1, Ordering::Relaxed);
                eprintln!("simulation of {liquidatee} refused: {err}");
                Ok(false)
            }
            Outcome::Simulated => {
                self.metrics.liquidations_simulated_only.fetch_add(1, Ordering::Relaxed);
                println!("dry run: would liquidate {liquidatee} ({plan:?})");
                Ok(true)
            }
            Outcome::Confirmed(signature) => {
                self.metrics.liquidations_sent.fetch_add(1, Ordering::Relaxed);
                println!("liquidated {liquidatee}: {signature}");
                Ok(true)
            }
        }
    }

    /// One buyback pass: plans a fill on every non-native market with the keeper's
    /// native tokens (its associated token account) and sends those worth `policy`.
    pub async fn run_buybacks_once(&self, policy: &BuybackPolicy) -> Result<BuybackPass, ClientError> {
        let protocol = self.protocol().await?;
        let markets = self.markets().await?;
        let keeper_native = associated_token_address(&self.payer.pubkey(), &protocol.native_mint);
        let keys = [protocol.native_oracle.address, protocol.native_mint, keeper_native];
        let fetched = self.retry(|| self.rpc.get_multiple_accounts(&keys)).await?;
        let account = |i: usize| fetched.get(i).and_then(Option::as_ref);
        let native = match (account(0), account(1)) {
            (Some(oracle), Some(mint)) => buyback::native_feed(&protocol, &oracle.owner, &oracle.data, &mint.data),
            _ => None,
        }
        .ok_or_else(|| custom_error("the native oracle or mint does not read".into()))?;
        let mut balance = account(2).and_then(|a| buyback::token_amount(&a.data)).unwrap_or(0);
        if balance == 0 {
            eprintln!("buyback: no native tokens in {keeper_native}");
        }
        let now = unix_now();
        let mut pass = BuybackPass::default();
        let mut skipped = 0;
        for market in markets.iter().filter(|m| m.market.mint != protocol.native_mint) {
            let plan = match buyback::plan_buyback(&protocol, market, &native, balance, now, policy) {
                Ok(plan) => plan,
                Err(skip) => {
                    skipped += 1;
                    if let Skip::Unprofitable { profitable_at: Some(at), .. } = skip {
                        pass.wake_at = Some(pass.wake_at.map_or(at, |w| w.min(at)));
                    }
                    continue;
                }
            };
            match self.buy_back(&protocol, market, &plan, keeper_native).await {
                Ok(true) => {
                    pass.filled += 1;
                    balance = balance.saturating_sub(plan.fill.native_in);
                }
                Ok(false) => {}
                Err(e) => {
                    self.metrics.buyback_failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("buyback on {} failed: {e}", market.key);
                }
            }
        }
        println!("buyback: {} filled, {skipped} skipped, next threshold at {:?}", pass.filled, pass.wake_at);
        Ok(pass)
    }

    /// Samples every volatility estimate that is due: each market's (`refresh_market`)
    /// and the native token's (`update_volatility`). Returns when the next one is due
    /// (if known).
    pub async fn run_volatility_once(&self) -> Result<Option<i64>, ClientError> {
        let markets_next = self.run_market_samples_once().await?;
        let native_next = self.run_native_volatility_once().await?;
        Ok(match (markets_next, native_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Sends `refresh_market` to every market whose own volatility sample is due.
    async fn run_market_samples_once(&self) -> Result<Option<i64>, ClientError> {
        let markets = self.markets().await?;
        let (cranks, next) = volatility::plan_market_samples(&markets, unix_now());
        for instruction in cranks {
            let market = instruction.accounts[0].pubkey;
            match self.simulate_then_send(&[instruction], &[market]).await? {
                Outcome::Refused(err) => eprintln!("simulation of refresh_market on {market} refused: {err}"),
                Outcome::Simulated => println!("dry run: would sample the volatility of {market}"),
                Outcome::Confirmed(signature) => println!("volatility of {market} sampled: {signature}"),
            }
        }
        Ok(next)
    }

    /// Sends `update_volatility` if a sample is due and the native feed is fit for it.
    async fn run_native_volatility_once(&self) -> Result<Option<i64>, ClientError> {
        let protocol_key = ix::protocol_pda();
        let protocol = self.protocol().await?;
        let feed = protocol.native_oracle;
        let oracle = self.retry(|| self.rpc.get_account(&feed.address)).await?;
        let reading = ballast::oracle::parse_oracle(&feed, &oracle.owner, &oracle.data)
            .map_err(|e| custom_error(format!("native oracle {}: {e}", feed.address)))?;
        let instruction = match volatility::plan_update(&protocol, &reading, unix_now()) {
            Ok(instruction) => instruction,
            Err(volatility::Wait::Until(at)) => return Ok(Some(at)),
            Err(volatility::Wait::NativeOracle(e)) => {
                eprintln!("volatility: native feed not fit for a sample ({e:?}); retrying next pass");
                return Ok(None);
            }
        };
        match self.simulate_then_send(&[instruction], &[protocol_key]).await? {
            Outcome::Refused(err) => eprintln!("simulation of update_volatility refused: {err}"),
            Outcome::Simulated => println!("dry run: would sample volatility"),
            Outcome::Confirmed(signature) => println!("volatility sampled: {signature}"),
        }
        let interval = i64::from(protocol.config.volatility.min_sample_interval_secs);
        Ok(Some(unix_now().saturating_add(interval)))
    }

    /// Sweeps every market with protocol fees once `every_secs` have passed since this
    /// bot's last sweep. Returns when the next sweep is due.
    pub async fn run_sweeps_once(&self, every_secs: u64) -> Result<i64, ClientError> {
        let last = *self.last_sweep.lock().expect("not poisoned");
        let now = unix_now();
        let due = sweep::next_pass_at(last, every_secs);
        if now < due {
            return Ok(due);
        }
        let markets = self.markets().await?;
        let mut swept = 0;
        for instruction in sweep::plan_sweeps(&markets, now) {
            let market = instruction.accounts[1].pubkey;
            match self.simulate_then_send(&[instruction], &[market]).await? {
                Outcome::Refused(err) => eprintln!("simulation of sweep_fees on {market} refused: {err}"),
                Outcome::Simulated => println!("dry run: would sweep fees of {market}"),
                Outcome::Confirmed(signature) => {
                    swept += 1;
                    self.metrics.sweeps_sent.fetch_add(1, Ordering::Relaxed);
                    println!("swept fees of {market}: {signature}");
                }
            }
        }
        println!("sweep: {swept} of {} markets swept", markets.len());
        *self.last_sweep.lock().expect("not poisoned") = Some(now);
        Ok(sweep::next_pass_at(Some(now), every_secs))
    }

    /// Pokes every stake escrow whose weight decayed since its checkpoint, once
    /// `every_secs` have passed since this bot's last pass (the interval that bounds each
    /// staker's reward error, see `poke`). Returns when the next pass is due.
    pub async fn run_pokes_once(&self, every_secs: u64) -> Result<i64, ClientError> {
        let last = *self.last_poke.lock().expect("not poisoned");
        let now = unix_now();
        let due = sweep::next_pass_at(last, every_secs);
        if now < due {
            return Ok(due);
        }
        let protocol = self.protocol().await?;
        let escrows: Vec<(Pubkey, StakeEscrow)> = self
            .program_accounts(stake_escrow_filters())
            .await?
            .into_iter()
            .filter_map(|(k, data)| Some((k, decode::stake_escrow(&data)?.into_owned())))
            .collect();
        let planned = poke::plan_pokes(&escrows, &protocol.config.locks(), now);
        let mut poked = 0;
        for batch in planned.chunks(POKES_PER_TRANSACTION) {
            let keys: Vec<Pubkey> = batch.iter().map(|i| i.accounts[1].pubkey).collect();
            match self.simulate_then_send(batch, &keys).await? {
                Outcome::Refused(err) => eprintln!("simulation of {} pokes refused: {err}", batch.len()),
                Outcome::Simulated => println!("dry run: would poke {} escrows", batch.len()),
                Outcome::Confirmed(signature) => {
                    poked += batch.len();
                    self.metrics.pokes_sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    println!("poked {} escrows: {signature}", batch.len());
                }
            }
        }
        println!("poke: {poked} of {} escrows checkpointed", escrows.len());
        *self.last_poke.lock().expect("not poisoned") = Some(now);
        Ok(sweep::next_pass_at(Some(now), every_secs))
    }

    async fn buy_back(
        &self,
        protocol: &ballast::Protocol,
        market: &MarketSnapshot,
        plan: &BuybackPlan,
        keeper_native: Pubkey,
    ) -> Result<bool, ClientError> {
        let keeper = self.payer.pubkey();
        let mint = market.market.mint;
        let pool_token = associated_token_address(&keeper, &mint);
        let ixs = [
            create_associated_token_account_idempotent(keeper, keeper, mint),
            buyback::buyback_instruction(keeper, protocol, market, plan, keeper_native, pool_token),
        ];
        let before = self.token_amounts([keeper_native, pool_token]).await?;
        match self.simulate_then_send(&ixs, &[market.key, ix::protocol_pda()]).await? {
            Outcome::Refused(err) => {
                self.metrics.buyback_failures.fetch_add(1, Ordering::Relaxed);
                eprintln!("simulation of buyback on {} refused: {err}", market.key);
                Ok(false)
            }
            Outcome::Simulated => {
                self.metrics.buybacks_simulated_only.fetch_add(1, Ordering::Relaxed);
                println!("dry run: would buy back on {} ({plan:?})", market.key);
                Ok(true)
            }
            Outcome::Confirmed(signature) => {
                // What actually moved; the plan's numbers if the balances do not read.
                let after = self.token_amounts([keeper_native, pool_token]).await.ok();
                let (native_in, pool_out) = match after {
                    Some(after) => (before[0].saturating_sub(after[0]), after[1].saturating_sub(before[1])),
                    None => (plan.fill.native_in, plan.fill.pool_out),
                };
                self.metrics.record_buyback(&mint.to_string(), native_in, pool_out);
                println!("bought back on {}: {native_in} native for {pool_out} of {mint}: {signature}", market.key);
                Ok(true)
            }
        }
    }

    /// Balances of SPL token accounts; 0 for one that does not exist (yet).
    async fn token_amounts<const N: usize>(&self, keys: [Pubkey; N]) -> Result<[u64; N], ClientError> {
        let accounts = self.retry(|| self.rpc.get_multiple_accounts(&keys)).await?;
        let amount = |i: usize| accounts.get(i)?.as_ref().and_then(|a| buyback::token_amount(&a.data));
        Ok(std::array::from_fn(|i| amount(i).unwrap_or(0)))
    }

    /// Simulates `instructions` under the configured compute-unit limit with a priority
    /// fee from recent fees on `fee_accounts`, then sends them unless this is a dry run,
    /// with the limit cut to the units the simulation consumed plus a margin
    /// (`fees::compute_unit_limit`).
    async fn simulate_then_send(
        &self,
        instructions: &[Instruction],
        fee_accounts: &[Pubkey],
    ) -> Result<Outcome, ClientError> {
        let recent = self.retry(|| self.rpc.get_recent_prioritization_fees(fee_accounts)).await?;
        let fees: Vec<u64> = recent.iter().map(|f| f.prioritization_fee).collect();
        let fee = priority_fee(&fees, self.config.max_priority_fee);
        let cap = self.config.compute_unit_limit;
        let tx = self.transaction(instructions, cap, fee).await?;
        let simulation = self.retry(|| self.rpc.simulate_transaction(&tx)).await?;
        if let Some(err) = simulation.value.err {
            return Ok(Outcome::Refused(format!("{err:?}")));
        }
        if self.config.dry_run {
            return Ok(Outcome::Simulated);
        }
        let limit = compute_unit_limit(simulation.value.units_consumed, cap);
        let tx = if limit == cap { tx } else { self.transaction(instructions, limit, fee).await? };
        let signature = self.retry(|| self.rpc.send_and_confirm_transaction(&tx)).await?;
        Ok(Outcome::Confirmed(signature.to_string()))
    }

    /// The transaction simulated and sent: v0 against the lookup table when one is
    /// loaded (`signed_transaction`).
    async fn transaction(
        &self,
        instructions: &[Instruction],
        compute_unit_limit: u32,
        fee: u64,
    ) -> Result<VersionedTransaction, ClientError> {
        let blockhash = self.retry(|| self.rpc.get_latest_blockhash()).await?;
        let table = self.lookup_table.lock().expect("not poisoned").table.clone();
        signed_transaction(&self.payer, instructions, compute_unit_limit, fee, table.as_ref(), blockhash)
            .map_err(custom_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_the_fixed_offsets_of_real_accounts() {
        let mut account: MarginAccount = bytemuck::Zeroable::zeroed();
        account.protocol = ix::protocol_pda();
        let mut bytes = MarginAccount::DISCRIMINATOR.to_vec();
        bytes.extend_from_slice(bytemuck::bytes_of(&account));
        for filter in margin_account_filters() {
            match filter {
                RpcFilterType::DataSize(n) => assert_eq!(n as usize, bytes.len()),
                RpcFilterType::Memcmp(m) => assert!(m.bytes_match(&bytes), "{m:?}"),
                other => panic!("unexpected filter {other:?}"),
            }
        }
        let mut market: Market = bytemuck::Zeroable::zeroed();
        market.protocol = ix::protocol_pda();
        let mut bytes = Market::DISCRIMINATOR.to_vec();
        bytes.extend_from_slice(bytemuck::bytes_of(&market));
        assert!(market_filters().iter().all(|f| match f {
            RpcFilterType::DataSize(n) => *n as usize == bytes.len(),
            RpcFilterType::Memcmp(m) => m.bytes_match(&bytes),
            _ => false,
        }));
    }

    #[test]
    fn creates_the_associated_token_account_it_then_uses() {
        let (payer, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
        let ix = create_associated_token_account_idempotent(payer, payer, mint);
        assert_eq!((ix.program_id, ix.data.as_slice()), (ASSOCIATED_TOKEN_PROGRAM_ID, &[1u8][..]));
        assert!(ix.accounts[0].is_signer && ix.accounts[0].is_writable && ix.accounts[1].is_writable);
        assert_eq!(ix.accounts[1].pubkey, associated_token_address(&payer, &mint));
        assert_eq!(ix.accounts[3].pubkey, mint);
        assert!(ix.accounts[2..].iter().all(|m| !m.is_signer && !m.is_writable));
    }

    #[test]
    fn transactions_are_v0_against_the_table_and_legacy_without_one() {
        use solana_transaction::versioned::TransactionVersion;
        let payer = Keypair::new();
        let (market, oracle, liquidatee) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let instruction = ix::refresh_market(market, oracle);
        let mut with_liquidatee = ix::refresh_market(market, oracle);
        with_liquidatee.accounts.push(AccountMeta::new(liquidatee, false));
        let table = AddressLookupTableAccount { key: Pubkey::new_unique(), addresses: vec![market, oracle] };
        let blockhash = Hash::new_from_array([9; 32]);
        let v0 = signed_transaction(&payer, &[with_liquidatee], 200_000, 5, Some(&table), blockhash).unwrap();
        assert_eq!(v0.version(), TransactionVersion::Number(0));
        assert_eq!(v0.signatures.len(), 1, "signed by the payer alone");
        // The payer, what the table lacks and the programs invoked stay in the message.
        let statics = v0.message.static_account_keys();
        assert_eq!(statics[0], payer.pubkey());
        assert!(statics.contains(&liquidatee) && statics.contains(&ballast::ID));
        assert!(!statics.contains(&market) && !statics.contains(&oracle));
        let lookups = v0.message.address_table_lookups().unwrap();
        // refresh_market writes the market and reads its feed.
        assert_eq!(lookups[0].account_key, table.key);
        assert_eq!(
            (lookups[0].writable_indexes.as_slice(), lookups[0].readonly_indexes.as_slice()),
            (&[0u8][..], &[1u8][..])
        );
        // The compute budget comes first, as simulated.
        let budget = &v0.message.instructions()[0];
        assert_eq!(statics[usize::from(budget.program_id_index)], solana_compute_budget_interface::ID);
        let legacy = signed_transaction(&payer, &[instruction], 200_000, 5, None, blockhash).unwrap();
        assert_eq!(legacy.version(), TransactionVersion::Legacy(solana_transaction::versioned::Legacy::Legacy));
        assert!(legacy.message.static_account_keys().contains(&market));
    }

    #[test]
    fn associated_token_addresses_are_deterministic_per_owner_and_mint() {
        let (a, b, m) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        assert_eq!(associated_token_address(&a, &m), associated_token_address(&a, &m));
        assert_ne!(associated_token_address(&a, &m), associated_token_address(&b, &m));
    }
}
