//! Keeper agents on the embedded runtime (liquidations, buybacks, fee sweeps and the
//! volatility crank), deciding with the keeper library (`ballast-keeper`) exactly
//! as the bot does against a cluster.

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::health::PricedMarket;
use ballast::MarginAccount;
use ballast_client::decode;
use ballast_keeper::buyback::{self, BuybackPlan, BuybackPolicy, Skip};
use ballast_keeper::scan::{self, LiquidationPlan, LiquidatorSide, MarketSnapshot, Payout};
use ballast_keeper::volatility::{self, Wait};
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
    /// The keeper's margin account, if it has one: seized collateral a vault cannot pay
    /// out in tokens is taken there as a deposit.
    pub margin_account: Option<Pubkey>,
}

impl Liquidator {
    /// A keeper funded with `funds[i]` tokens of the runtime's i-th market.
    pub async fn new(rt: &mut Runtime, funds: &[u64]) -> Liquidator {
        let key = rt.new_user().await;
        let mut tokens = HashMap::new();
        for (market, &amount) in rt.markets.clone().iter().zip(funds.iter().chain(std::iter::repeat(&0))) {
            tokens.insert(market.key, rt.funded_token_account(&market.mint, &key.pubkey(), amount).await);
        }
        Liquidator { key, tokens, margin_account: None }
    }

    /// The keeper with a margin account of its own (see `margin_account`).
    pub async fn with_margin_account(mut self, rt: &mut Runtime) -> Liquidator {
        let owner = self.key.pubkey();
        rt.send(&[ix::create_margin_account(owner, 0)], &[&self.key]).await.expect("margin account created");
        self.margin_account = Some(ix::margin_account_pda(&owner, 0));
        self
    }
}

/// Every market with its current oracle reading, from raw account bytes.
pub async fn snapshot_markets(rt: &mut Runtime) -> Vec<MarketSnapshot> {
    let mut out = Vec::new();
    for handle in rt.markets.clone() {
        let market_bytes = rt.raw_account(&handle.key).await.expect("market exists").data;
        let market = *decode::market(&market_bytes).expect("decodes");
        let oracle = rt.raw_account(&handle.oracle).await.expect("oracle exists");
        if let Ok(reading) = ballast::oracle::parse_oracle(&market.oracle, &oracle.owner, &oracle.data) {
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
        if let Some(plan) = liquidate_account(rt, keeper, u.key, account, &markets, &priced, min_profit).await? {
            done.push(plan);
        }
    }
    Ok(done)
}

/// Plans the liquidation of `account` (at `key`) with the keeper library and sends it,
/// repaying from the keeper's whole balance of the debt's token. `None` if the plan
/// says there is nothing worth doing.
pub async fn liquidate_account(
    rt: &mut Runtime,
    keeper: &Liquidator,
    key: Pubkey,
    account: &MarginAccount,
    markets: &[MarketSnapshot],
    priced: &[PricedMarket],
    min_profit: i128,
) -> Result<Option<LiquidationPlan>, BanksClientError> {
    let Some(plan) = scan::plan_liquidation(account, priced, markets, u64::MAX, min_profit) else { return Ok(None) };
    Ok(send_liquidation(rt, keeper, key, account, markets, &plan).await?.then_some(plan))
}

/// Sends `keeper`'s liquidation of `key` (holding `account`) as `plan` sizes it, capped
/// at the keeper's balance of the debt; the collateral comes as tokens, or as a deposit
/// in the keeper's margin account when the asset vault cannot pay it out (and the keeper
/// has one). Returns whether an instruction was sent.
pub async fn send_liquidation(
    rt: &mut Runtime,
    keeper: &Liquidator,
    key: Pubkey,
    account: &MarginAccount,
    markets: &[MarketSnapshot],
    plan: &LiquidationPlan,
) -> Result<bool, BanksClientError> {
    let (Some(liability), Some(asset)) =
        (scan::market_of(markets, plan.liability_market), scan::market_of(markets, plan.asset_market))
    else {
        return Ok(false);
    };
    let max_repay = rt.token_balance(&keeper.tokens[&liability.key]).await;
    let vault_amount = rt.token_balance(&asset.market.vault).await;
    let own = match keeper.margin_account {
        Some(own) if !scan::vault_can_pay(&asset.market, vault_amount, plan) => {
            Some((own, rt.margin_account(&own).await))
        }
        _ => None,
    };
    let payout = match &own {
        Some((key, account)) => Payout::Deposit { key: *key, account },
        None => Payout::Tokens,
    };
    let token_account = |m: &MarketSnapshot| keeper.tokens[&m.key];
    let by = LiquidatorSide { key: keeper.key.pubkey(), token_account: &token_account, max_repay, payout };
    let Some(instruction) = scan::liquidation_instruction(&by, key, account, plan, markets) else {
        return Ok(false);
    };
    rt.send(&[instruction], &[&keeper.key]).await?;
    Ok(true)
}

/// What one buyback pass did (as the bot's `run_buybacks_once`).
#[derive(Debug, Default)]
pub struct BuybackPass {
    pub filled: Vec<BuybackPlan>,
    /// Planned fills the program refused, with its error.
    pub failed: Vec<(Pubkey, BanksClientError)>,
    /// When the next market's curve reaches the profit threshold, if one will this epoch.
    pub wake_at: Option<i64>,
}

/// One buyback pass by `keeper` (which needs a token account in every market, the
/// native market's being where it pays from): plans a fill on every non-native market
/// with the keeper library's planner, exactly as the bot does, and sends those worth
/// `policy`.
pub async fn buyback_pass(rt: &mut Runtime, keeper: &Liquidator, policy: &BuybackPolicy) -> BuybackPass {
    let mut pass = BuybackPass::default();
    let protocol = rt.protocol().await;
    let markets = snapshot_markets(rt).await;
    let (Some(oracle), Some(mint)) =
        (rt.raw_account(&protocol.native_oracle.address).await, rt.raw_account(&protocol.native_mint).await)
    else {
        return pass;
    };
    let Some(native) = buyback::native_feed(&protocol, &oracle.owner, &oracle.data, &mint.data) else { return pass };
    let Some(&keeper_native) =
        markets.iter().find(|m| m.market.mint == protocol.native_mint).map(|m| &keeper.tokens[&m.key])
    else {
        return pass;
    };
    let mut balance = rt.token_balance(&keeper_native).await;
    for market in markets.iter().filter(|m| m.market.mint != protocol.native_mint) {
        let plan = match buyback::plan_buyback(&protocol, market, &native, balance, rt.now, policy) {
            Ok(plan) => plan,
            Err(Skip::Unprofitable { profitable_at: Some(at), .. }) => {
                pass.wake_at = Some(pass.wake_at.map_or(at, |w| w.min(at)));
                continue;
            }
            Err(_) => continue,
        };
        let pool_token = keeper.tokens[&market.key];
        let ix = buyback::buyback_instruction(keeper.key.pubkey(), &protocol, market, &plan, keeper_native, pool_token);
        match rt.send(&[ix], &[&keeper.key]).await {
            Ok(()) => {
                balance = balance.saturating_sub(plan.fill.native_in);
                pass.filled.push(plan);
            }
            Err(e) => pass.failed.push((market.key, e)),
        }
    }
    pass
}

/// The volatility crank due at `rt.now`, planned by the keeper library exactly as the
/// bot's `--volatility` loop plans it (`ballast_keeper::volatility::plan_update`), or why
/// the keeper waits: too soon after the last sample, or a native feed the program would
/// refuse to sample (old, or too uncertain or far from its EMA after a fast move).
pub async fn volatility_crank(rt: &mut Runtime) -> Result<Instruction, Wait> {
    let protocol = rt.protocol().await;
    let oracle = rt.raw_account(&protocol.native_oracle.address).await.expect("the native feed exists");
    let reading = ballast::oracle::parse_oracle(&protocol.native_oracle, &oracle.owner, &oracle.data)
        .expect("the simulator publishes a valid Pyth account");
    volatility::plan_update(&protocol, &reading, rt.now)
}
