//! The scripted scenario the `sim` binary runs: lists three markets, lets lenders and
//! leveraged borrowers trade through a rally and a dip with daily keeper refreshes,
//! liquidations, fee sweeps and buybacks while stakers earn, then prints what the
//! program holds and checks the books and the native supply balance.

use std::fmt::Write as _;

use anchor_lang::prelude::Pubkey;
use ballast_risk::shares::{debt_amount, deposit_amount};
use ballast_risk::WAD;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::ix::{self, MarketTransfer};
use crate::keeper::{liquidate_unhealthy, BuybackKeeper, Liquidator};
use crate::pyth::PythPrice;
use crate::runtime::{standard_config, BalanceChange, MarketHandle, Runtime, NATIVE_GENESIS_SUPPLY, NATIVE_PRICE};

const EXPO: i32 = -8;
const USD: i64 = 100_000_000;
const DAY: i64 = 86_400;

/// What the scenario did and whether the books balanced at the end.
#[derive(Debug, Default)]
pub struct ScenarioOutcome {
    pub transactions: u64,
    pub failed_as_expected: u64,
    pub liquidations: u64,
    pub buybacks: u64,
    pub report: String,
    /// Every market's vault holds at least what depositors are owed minus what
    /// borrowers owe plus the fee pools; the native supply is genesis + emitted −
    /// burned and the stake vault holds what is staked.
    pub books_balance: bool,
}

struct Agent {
    key: Keypair,
    margin_account: Pubkey,
    token: Pubkey,
}

/// SOL's price on each day: a gentle rally, a 30% drawdown, a partial recovery.
fn sol_price(day: i64) -> i64 {
    let path = [100, 104, 108, 111, 109, 112, 115, 110, 101, 92, 85, 80, 78, 82, 86, 90, 93, 95, 97, 99];
    path[(day as usize).min(path.len() - 1)] * USD
}

pub async fn run(days: i64, borrowers: usize) -> Result<ScenarioOutcome, String> {
    let mut rt = Runtime::start().await;
    let mut out = ScenarioOutcome::default();
    let native_mint = rt.initialize_protocol(6).await;
    let usdc_mint = rt.create_mint(6).await;
    let sol_mint = rt.create_mint(9).await;
    let now = rt.now;
    let usdc =
        rt.list_market(usdc_mint, PythPrice::steady(USD, EXPO, now), standard_config(u64::MAX / 4, u64::MAX / 8)).await;
    let sol = rt
        .list_market(sol_mint, PythPrice::steady(sol_price(0), EXPO, now), standard_config(u64::MAX / 4, u64::MAX / 8))
        .await;
    let native = rt
        .list_market(
            native_mint,
            PythPrice::steady(NATIVE_PRICE, EXPO, now),
            standard_config(10_000_000_000_000, 1_000_000_000_000),
        )
        .await;
    out.transactions += 6;

    // Stakers lock 10k..40k native tokens for one week to one year.
    let mut stakers = Vec::new();
    for i in 0..4u64 {
        let key = rt.new_user().await;
        let amount = (10_000 + 10_000 * i) * 1_000_000;
        let owner_native = rt.funded_token_account(&native_mint, &key.pubkey(), amount).await;
        let usdc_account = rt.create_token_account(&usdc.mint, &key.pubkey()).await;
        let staker = ix::Staker { owner: key.pubkey(), native_mint, owner_native };
        let lock = [7, 30, 180, 365][i as usize] * DAY as u32;
        send_ok(&mut rt, &mut out, &[staker.stake(amount, lock)], &key).await?;
        stakers.push((key, staker, usdc_account));
    }

    // Lenders supply USDC; borrowers post SOL and borrow USDC at 20%..70% of the limit.
    let mut lenders = Vec::new();
    for i in 0..3u64 {
        let amount = (200_000 + 100_000 * i) * 1_000_000;
        let agent = agent(&mut rt, &usdc, amount).await;
        send_ok(&mut rt, &mut out, &[ix::deposit(&transfer(&agent, &usdc), amount)], &agent.key).await?;
        lenders.push(agent);
    }
    let mut debtors = Vec::new();
    for i in 0..borrowers {
        let collateral = (10 + 5 * i as u64) * 1_000_000_000;
        let agent = agent(&mut rt, &sol, collateral).await;
        let usdc_account = rt.create_token_account(&usdc.mint, &agent.key.pubkey()).await;
        send_ok(&mut rt, &mut out, &[ix::deposit(&transfer(&agent, &sol), collateral)], &agent.key).await?;
        // Init-health limit in USDC: collateral value * 0.8 / 1.2, with a conf haircut.
        let limit = collateral / 1_000 * 100 * 8 / 12;
        // From 40% to 98% of the limit: the most leveraged fall under maintenance in the dip.
        let leverage_pct = 40 + (58 * i as u64) / (borrowers as u64 - 1).max(1);
        let amount = limit * leverage_pct / 100;
        let borrow = MarketTransfer { user_token: usdc_account, ..transfer(&agent, &usdc) };
        let health = rt.health_accounts(&agent.margin_account, BalanceChange::Opens(usdc.key)).await;
        send_ok(&mut rt, &mut out, &[ix::borrow(&borrow, amount, &health)], &agent.key).await?;
        debtors.push((agent, usdc_account));
    }
    let keeper = Liquidator::new(&mut rt, &[1_000_000_000_000]).await;
    let buyer = BuybackKeeper::new(&mut rt, &usdc, 1_000_000 * 1_000_000).await;
    let debtor_keys: Vec<Pubkey> = debtors.iter().map(|(a, _)| a.margin_account).collect();

    // An over-reaching borrow is refused by the health check.
    let (greedy, greedy_usdc) = &debtors[0];
    let over = MarketTransfer { user_token: *greedy_usdc, ..transfer(greedy, &usdc) };
    let health = rt.health_accounts(&greedy.margin_account, BalanceChange::None).await;
    if rt.send(&[ix::borrow(&over, 1_000_000_000_000, &health)], &[&greedy.key]).await.is_ok() {
        return Err("an over-limit borrow was accepted".into());
    }
    out.failed_as_expected += 1;

    let _ = writeln!(
        out.report,
        "day  SOL price  USDC borrow idx  USDC deposit idx  buyback pool  staker pool  liquidations  native burned"
    );
    for day in 1..=days {
        rt.advance(DAY);
        refresh_feeds(&mut rt, &[&usdc, &sol, &native], day);
        for m in [&usdc, &sol, &native] {
            let ix = ix::refresh_market(m.key, m.oracle);
            rt.send(&[ix], &[]).await.map_err(|e| format!("refresh failed: {e}"))?;
            out.transactions += 1;
        }
        let plans = liquidate_unhealthy(&mut rt, &keeper, &debtor_keys, 0)
            .await
            .map_err(|e| format!("liquidation failed: {e}"))?;
        out.liquidations += plans.len() as u64;
        out.transactions += plans.len() as u64;
        // Fees become pools; a keeper sells native tokens into the USDC buyback pool
        // (the epoch budget caps how much).
        rt.send(&[ix::sweep_fees(usdc.key)], &[]).await.map_err(|e| format!("sweep failed: {e}"))?;
        out.transactions += 1;
        if rt.send(&[ix::buyback(&buyer.fill, 1_000 * 1_000_000, 0)], &[&buyer.key]).await.is_ok() {
            out.buybacks += 1;
            out.transactions += 1;
        }
        let market = rt.market(&usdc.key).await;
        let protocol = rt.protocol().await;
        let _ = writeln!(
            out.report,
            "{day:>3}  {:>9}  {:>15.9}  {:>16.9}  {:>12}  {:>11}  {:>12}  {:>13}",
            format_usd(sol_price(day)),
            market.borrow_index.get() as f64 / WAD as f64,
            market.deposit_index.get() as f64 / WAD as f64,
            market.buyback_pool,
            market.staker_pool,
            plans.len(),
            protocol.total_burned
        );
    }

    // Stakers collect their USDC revenue and native buyback share.
    rt.advance(DAY);
    refresh_feeds(&mut rt, &[&usdc, &sol, &native], days);
    let _ = writeln!(out.report, "\nstaker (lock)        weight             USDC earned  native earned");
    for (key, staker, usdc_account) in &stakers {
        let claims = [staker.claim_market_rewards(usdc.key, *usdc_account), staker.claim_rewards()];
        send_ok(&mut rt, &mut out, &claims, key).await?;
        let escrow = rt.stake_escrow(&key.pubkey()).await;
        let _ = writeln!(
            out.report,
            "{:<10} ({:>3} d)  {:<17}  {:>11}  {:>13}",
            &key.pubkey().to_string()[..10],
            (escrow.lock_end - escrow.lock_start) / DAY,
            escrow.weight.get(),
            rt.token_balance(usdc_account).await,
            rt.token_balance(&staker.owner_native).await
        );
    }

    // Half of the borrowers repay everything (topped up for the interest) and leave.
    for (agent, usdc_account) in debtors.iter().step_by(2) {
        rt.mint_to(&usdc.mint, usdc_account, 10_000_000_000).await;
        let repay = MarketTransfer { user_token: *usdc_account, ..transfer(agent, &usdc) };
        send_ok(&mut rt, &mut out, &[ix::repay(&repay, 0, true)], &agent.key).await?;
        let health = rt.health_accounts(&agent.margin_account, BalanceChange::Closes(sol.key)).await;
        send_ok(&mut rt, &mut out, &[ix::withdraw(&transfer(agent, &sol), 0, true, &health)], &agent.key).await?;
        let close = ix::close_margin_account(agent.key.pubkey(), agent.margin_account);
        send_ok(&mut rt, &mut out, &[close], &agent.key).await?;
    }

    let _ = writeln!(
        out.report,
        "\nmarket  deposits            borrows             util   fee pool   vault               books"
    );
    out.books_balance = true;
    for (name, m) in [("USDC", &usdc), ("SOL", &sol), ("BAL", &native)] {
        let market = rt.market(&m.key).await;
        let deposits =
            deposit_amount(market.total_deposit_shares.get(), market.deposit_index.get()).unwrap_or(u128::MAX);
        let borrows = debt_amount(market.total_borrow_shares.get(), market.borrow_index.get()).unwrap_or(u128::MAX);
        let vault = u128::from(rt.token_balance(&m.vault).await);
        let pools = [market.accrued_protocol_fees, market.insurance_fund, market.buyback_pool, market.staker_pool];
        let owed = deposits.saturating_sub(borrows) + pools.iter().map(|p| u128::from(*p)).sum::<u128>();
        let ok = vault >= owed;
        out.books_balance &= ok;
        let util = if deposits == 0 { 0.0 } else { borrows as f64 / deposits as f64 * 100.0 };
        let _ = writeln!(
            out.report,
            "{name:<6}  {deposits:<18}  {borrows:<18}  {util:>5.1}%  {:<9}  {vault:<18}  {}",
            market.accrued_protocol_fees,
            if ok { "ok" } else { "SHORT" }
        );
    }
    let protocol = rt.protocol().await;
    let supply = rt.mint_supply(&native_mint).await;
    let supply_ok = u128::from(supply) + u128::from(protocol.total_burned)
        == u128::from(NATIVE_GENESIS_SUPPLY) + u128::from(protocol.total_emitted);
    let stake_ok = rt.token_balance(&protocol.stake_vault).await == protocol.total_staked;
    out.books_balance &= supply_ok && stake_ok;
    let _ = writeln!(
        out.report,
        "\nnative token: {} bought back in {} fills, {} burned, {} emitted, supply {supply} ({}), {} staked ({})",
        protocol.total_bought_back,
        out.buybacks,
        protocol.total_burned,
        protocol.total_emitted,
        if supply_ok { "ok" } else { "MISMATCH" },
        protocol.total_staked,
        if stake_ok { "ok" } else { "MISMATCH" }
    );
    let _ = writeln!(out.report, "\nborrower account (health cached at its last check)  init ($)  maint ($)");
    for (agent, _) in debtors.iter().skip(1).step_by(2) {
        let account = rt.margin_account(&agent.margin_account).await;
        let _ = writeln!(
            out.report,
            "{:<51}  {:>8.2}  {:>9.2}",
            agent.margin_account.to_string(),
            account.cached_init_health.get() as f64 / WAD as f64,
            account.cached_maint_health.get() as f64 / WAD as f64
        );
    }
    Ok(out)
}

async fn agent(rt: &mut Runtime, market: &MarketHandle, funds: u64) -> Agent {
    let key = rt.new_user().await;
    let token = rt.funded_token_account(&market.mint, &key.pubkey(), funds).await;
    rt.send(&[ix::create_margin_account(key.pubkey(), 0)], &[&key]).await.expect("create margin account");
    Agent { margin_account: ix::margin_account_pda(&key.pubkey(), 0), key, token }
}

fn transfer(agent: &Agent, market: &MarketHandle) -> MarketTransfer {
    MarketTransfer {
        owner: agent.key.pubkey(),
        margin_account: agent.margin_account,
        market: market.key,
        user_token: agent.token,
    }
}

async fn send_ok(
    rt: &mut Runtime,
    out: &mut ScenarioOutcome,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signer: &Keypair,
) -> Result<(), String> {
    rt.send(ixs, &[signer]).await.map_err(|e| format!("transaction failed: {e}"))?;
    out.transactions += 1;
    Ok(())
}

/// Publishes every feed at the current time at the day's prices.
fn refresh_feeds(rt: &mut Runtime, markets: &[&MarketHandle; 3], day: i64) {
    let now = rt.now;
    let native_oracle = rt.native().oracle;
    rt.set_price(&markets[0].oracle, &PythPrice::steady(USD, EXPO, now));
    rt.set_price(&markets[1].oracle, &PythPrice::steady(sol_price(day), EXPO, now));
    for oracle in [markets[2].oracle, native_oracle] {
        rt.set_price(&oracle, &PythPrice::steady(NATIVE_PRICE, EXPO, now));
    }
}

fn format_usd(price: i64) -> String {
    format!("${}.{:02}", price / USD, (price % USD) / (USD / 100))
}
