//! A liquidator agent on the embedded runtime, deciding with the keeper library
//! (`ballast-keeper`) exactly as the bot does against a cluster.

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use ballast_client::decode;
use ballast_keeper::scan::{self, LiquidationPlan, MarketSnapshot};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

use crate::ix;
use crate::runtime::{MarketHandle, Runtime};

/// A buyback keeper: native tokens to pay with, an account of one market's token to
/// receive into, and the accounts of a fill on that market.
pub struct BuybackKeeper {
    pub key: Keypair,
    pub native: Pubkey,
    pub pool_token: Pubkey,
    pub fill: ix::BuybackFill,
}

impl BuybackKeeper {
    /// A new keeper holding `native` base units of the native token, filling on `market`.
    pub async fn new(rt: &mut Runtime, market: &MarketHandle, native: u64) -> BuybackKeeper {
        let key = rt.new_user().await;
        let n = rt.native();
        let native_account = rt.funded_token_account(&n.mint, &key.pubkey(), native).await;
        let pool_token = rt.create_token_account(&market.mint, &key.pubkey()).await;
        let fill = ix::BuybackFill {
            keeper: key.pubkey(),
            market: market.key,
            oracle: market.oracle,
            native_mint: n.mint,
            native_oracle: n.oracle,
            keeper_native: native_account,
            keeper_pool_token: pool_token,
        };
        BuybackKeeper { key, native: native_account, pool_token, fill }
    }
}

/// A keeper with a token account in every market.
pub struct Liquidator {
    pub key: Keypair,
    /// Token account per market key.
    pub tokens: HashMap<Pubkey, Pubkey>,
}

impl Liquidator {
    /// A keeper funded with `funds[i]` tokens of the runtime's i-th market.
    pub async fn new(rt: &mut Runtime, funds: &[u64]) -> Liquidator {
        let key = rt.new_user().await;
        let mut tokens = HashMap::new();
        for (market, &amount) in rt.markets.clone().iter().zip(funds.iter().chain(std::iter::repeat(&0))) {
            tokens.insert(market.key, rt.funded_token_account(&market.mint, &key.pubkey(), amount).await);
        }
        Liquidator { key, tokens }
    }
}

/// Every market with its current oracle reading, from raw account bytes.
pub async fn snapshot_markets(rt: &mut Runtime) -> Vec<MarketSnapshot> {
    let mut out = Vec::new();
    for handle in rt.markets.clone() {
        let market_bytes = rt.raw_account(&handle.key).await.expect("market exists").data;
        let market = *decode::market(&market_bytes).expect("decodes");
        let oracle = rt.raw_account(&handle.oracle).await.expect("oracle exists");
        if let Ok(reading) = ballast::oracle::parse_pyth(&handle.oracle, &oracle.owner, &oracle.data) {
            out.push(MarketSnapshot { key: handle.key, market, reading });
        }
    }
    out
}

/// One keeper pass over `accounts`: liquidates every account below maintenance health,
/// the deepest first, while each liquidation is worth `min_profit` (WAD quote).
/// Returns the plans it executed.
pub async fn liquidate_unhealthy(
    rt: &mut Runtime,
    keeper: &Liquidator,
    accounts: &[Pubkey],
    min_profit: i128,
) -> Result<Vec<LiquidationPlan>, BanksClientError> {
    let markets = snapshot_markets(rt).await;
    let priced = scan::price_markets(&markets, rt.now);
    let mut decoded = Vec::new();
    for key in accounts {
        if let Some(raw) = rt.raw_account(key).await {
            if let Some(account) = decode::margin_account(&raw.data) {
                decoded.push((*key, account.into_owned()));
            }
        }
    }
    let unhealthy = scan::find_unhealthy(decoded.iter().map(|(k, a)| (*k, a)), &priced);
    let mut done = Vec::new();
    for u in unhealthy {
        let account = &decoded.iter().find(|(k, _)| *k == u.key).expect("scanned").1;
        let Some(plan) = scan::plan_liquidation(account, &priced, &markets, u64::MAX, min_profit) else { continue };
        let Some(liability) = scan::market_of(&markets, plan.liability_market) else { continue };
        let max_repay = rt.token_balance(&keeper.tokens[&liability.key]).await;
        let token_account = |m: &MarketSnapshot| keeper.tokens[&m.key];
        let liquidator = keeper.key.pubkey();
        let Some(instruction) =
            scan::liquidation_instruction(liquidator, u.key, account, &plan, &markets, token_account, max_repay)
        else {
            continue;
        };
        rt.send(&[instruction], &[&keeper.key]).await?;
        done.push(plan);
    }
    Ok(done)
}
