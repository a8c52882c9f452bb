//! The keeper against a real cluster: loads Ballast accounts with getProgramAccounts
//! (memcmp filters on the fixed offsets), decides with [`crate::scan`], simulates every
//! liquidation before sending it with a compute-unit limit and a capped priority fee,
//! and retries transient RPC errors with backoff.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anchor_lang::prelude::{pubkey, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;

use anchor_lang::Discriminator;
use anchor_spl::token::spl_token;
use ballast::{MarginAccount, Market, MARGIN_ACCOUNT_SIZE, MARKET_SIZE};
use ballast_client::{decode, ix};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::config::Config;
use crate::fees::{backoff_ms, is_transient, priority_fee};
use crate::metrics::{unix_now, Metrics};
use crate::scan::{self, MarketSnapshot};

/// SPL associated-token-account program: the keeper keeps one token account per mint.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey = pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
const RETRIES: u32 = 5;

pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[owner.as_ref(), spl_token::ID.as_ref(), mint.as_ref()], &ASSOCIATED_TOKEN_PROGRAM_ID)
        .0
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

/// What one scan found.
pub struct Snapshot {
    pub markets: Vec<MarketSnapshot>,
    pub accounts: Vec<(Pubkey, MarginAccount)>,
}

pub struct Bot {
    pub rpc: RpcClient,
    pub payer: Keypair,
    pub config: Config,
    pub metrics: Arc<Metrics>,
}

impl Bot {
    pub fn new(config: Config, payer: Keypair, metrics: Arc<Metrics>) -> Bot {
        let rpc = RpcClient::new_with_commitment(config.rpc_url.clone(), CommitmentConfig::confirmed());
        Bot { rpc, payer, config, metrics }
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

    /// Every market with its oracle reading, and every margin account of the protocol.
    pub async fn snapshot(&self) -> Result<Snapshot, ClientError> {
        let mut markets = Vec::new();
        let raw_markets = self.program_accounts(market_filters()).await?;
        let decoded: Vec<(Pubkey, Market)> =
            raw_markets.iter().filter_map(|(k, data)| Some((*k, *decode::market(data)?))).collect();
        let oracle_keys: Vec<Pubkey> = decoded.iter().map(|(_, m)| m.oracle).collect();
        let oracles = self.retry(|| self.rpc.get_multiple_accounts(&oracle_keys)).await?;
        for ((key, market), oracle) in decoded.into_iter().zip(oracles) {
            let Some(oracle) = oracle else { continue };
            if let Ok(reading) = ballast::oracle::parse_pyth(&market.oracle, &oracle.owner, &oracle.data) {
                markets.push(MarketSnapshot { key, market, reading });
            }
        }
        let accounts = self
            .program_accounts(margin_account_filters())
            .await?
            .into_iter()
            .filter_map(|(k, data)| Some((k, decode::margin_account(&data)?.into_owned())))
            .collect();
        Ok(Snapshot { markets, accounts })
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
        let Some(instruction) =
            scan::liquidation_instruction(keeper, liquidatee, account, &plan, markets, token_account, budget)
        else {
            return Ok(false);
        };
        let fee_accounts = [liquidatee, liability.key, asset.key];
        let recent = self.retry(|| self.rpc.get_recent_prioritization_fees(&fee_accounts)).await?;
        let fees: Vec<u64> = recent.iter().map(|f| f.prioritization_fee).collect();
        let tx = self.transaction(instruction, priority_fee(&fees, self.config.max_priority_fee)).await?;
        let simulation = self.retry(|| self.rpc.simulate_transaction(&tx)).await?;
        if let Some(err) = simulation.value.err {
            self.metrics.liquidation_failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("simulation of {liquidatee} refused: {err:?}");
            return Ok(false);
        }
        if self.config.dry_run {
            self.metrics.liquidations_simulated_only.fetch_add(1, Ordering::Relaxed);
            println!("dry run: would liquidate {liquidatee} ({plan:?})");
            return Ok(true);
        }
        let signature = self.retry(|| self.rpc.send_and_confirm_transaction(&tx)).await?;
        self.metrics.liquidations_sent.fetch_add(1, Ordering::Relaxed);
        println!("liquidated {liquidatee}: {signature}");
        Ok(true)
    }

    async fn transaction(&self, instruction: Instruction, fee: u64) -> Result<Transaction, ClientError> {
        let blockhash = self.retry(|| self.rpc.get_latest_blockhash()).await?;
        let ixs = [
            ComputeBudgetInstruction::set_compute_unit_limit(self.config.compute_unit_limit),
            ComputeBudgetInstruction::set_compute_unit_price(fee),
            instruction,
        ];
        Ok(Transaction::new_signed_with_payer(&ixs, Some(&self.payer.pubkey()), &[&self.payer], blockhash))
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
    fn associated_token_addresses_are_deterministic_per_owner_and_mint() {
        let (a, b, m) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        assert_eq!(associated_token_address(&a, &m), associated_token_address(&a, &m));
        assert_ne!(associated_token_address(&a, &m), associated_token_address(&b, &m));
    }
}
