//! The keeper's buyback planner against the program: from the account bytes the bot
//! reads, it predicts every fill to the base unit at each point of the auction curve,
//! waits for its profit threshold, and declines exactly when the program would refuse.

use anchor_lang::prelude::Pubkey;
use ballast::Protocol;
use ballast_keeper::buyback::{self, BuybackPlan, BuybackPolicy, NativeFeed, ReferencePrice, Skip};
use ballast_keeper::scan::MarketSnapshot;
use ballast_risk::oracle::OracleAction;
use ballast_risk::{RiskError, WAD};
use ballast_sim::ix;
use ballast_sim::keeper::snapshot_markets;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::NATIVE_PRICE;
use ballast_tests::*;
use solana_signer::Signer;

const DAY: i64 = 86_400;
/// One native token (6 decimals).
const NATIVE: u64 = 1_000_000;

/// What the bot reads before planning: all of it decoded from raw account bytes.
struct View {
    protocol: Protocol,
    usdc: MarketSnapshot,
    sol: MarketSnapshot,
    native: NativeFeed,
    balance: u64,
}

impl View {
    fn plan(&self, now: i64, policy: &BuybackPolicy) -> Result<BuybackPlan, Skip> {
        buyback::plan_buyback(&self.protocol, &self.usdc, &self.native, self.balance, now, policy)
    }
}

async fn view(fx: &mut Fixture, keeper: &BuybackKeeper) -> View {
    let raw = fx.rt.raw_account(&ix::protocol_pda()).await.expect("protocol");
    let protocol = buyback::decode_protocol(&raw.data).expect("decodes");
    let markets = snapshot_markets(&mut fx.rt).await;
    let find = |key: Pubkey| *markets.iter().find(|m| m.key == key).expect("market reads");
    let oracle = fx.rt.raw_account(&protocol.native_oracle.address).await.expect("native oracle");
    let mint = fx.rt.raw_account(&protocol.native_mint).await.expect("native mint");
    let native = buyback::native_feed(&protocol, &oracle.owner, &oracle.data, &mint.data).expect("native reads");
    let balance = buyback::token_amount(&fx.rt.raw_account(&keeper.native).await.expect("account").data).unwrap();
    View { protocol, usdc: find(fx.usdc.key), sol: find(fx.sol.key), native, balance }
}

/// The fixture after a week of USDC interest accrued hourly, swept: with nobody staking,
/// 70% of the protocol's fees sit in the USDC buyback pool. The clock is at the start of
/// the next buyback epoch, every feed fresh, and a keeper holds 1,000 native tokens.
async fn week_of_fees() -> (Fixture, BuybackKeeper) {
    let mut fx = Fixture::new().await;
    let usdc = fx.usdc;
    fx.borrow_usdc_at_the_kink().await;
    fx.run_hourly(7 * DAY).await;
    fx.rt.send(&[ix::sweep_fees(usdc.key)], &[]).await.unwrap();
    let now = fx.rt.now;
    fx.rt.set_time(now - now % DAY + DAY);
    fx.refresh_prices(SOL_PRICE).await;

    let keeper = fx.buyback_keeper(1_000 * NATIVE).await;
    (fx, keeper)
}

/// Sends `plan` and checks the program filled exactly what it predicted: the keeper's
/// native debit, its USDC credit, the burn (nobody stakes) and the market's books.
async fn fill_exactly(fx: &mut Fixture, keeper: &BuybackKeeper, view: &View, plan: &BuybackPlan) {
    let native_mint = fx.rt.native().mint;
    let before = (
        fx.rt.token_balance(&keeper.native).await,
        fx.rt.token_balance(&keeper.pool_token).await,
        fx.rt.mint_supply(&native_mint).await,
        fx.rt.market(&fx.usdc.key).await,
    );
    let owner = keeper.key.pubkey();
    let ix = buyback::buyback_instruction(owner, &view.protocol, &view.usdc, plan, keeper.native, keeper.pool_token);
    fx.rt.send(&[ix], &[&keeper.key]).await.unwrap();
    assert_eq!(before.0 - fx.rt.token_balance(&keeper.native).await, plan.fill.native_in, "native paid");
    assert_eq!(fx.rt.token_balance(&keeper.pool_token).await - before.1, plan.fill.pool_out, "pool tokens received");
    assert_eq!(before.2 - fx.rt.mint_supply(&native_mint).await, plan.fill.native_in, "all of it burned");
    let market = fx.rt.market(&fx.usdc.key).await;
    assert_eq!(before.3.buyback_pool - market.buyback_pool, plan.fill.pool_out);
    assert_eq!(market.buyback_epoch_budget - market.buyback_epoch_sold, plan.budget_left - plan.fill.pool_out);
    assert_eq!(market.auction_start_ts, fx.rt.now, "the curve restarts at each fill");
}

/// A keeper who buys native tokens at $1.50 elsewhere: every point of the curve pays.
fn cheap_native(max_native_per_fill: u64) -> BuybackPolicy {
    BuybackPolicy {
        min_profit_bps: 0,
        max_native_per_fill,
        reference: ReferencePrice::PerToken(3 * WAD / 2),
        slippage_bps: 50,
    }
}

#[tokio::test]
async fn plans_match_the_programs_fills_at_the_start_middle_and_cap_of_the_curve() {
    let (mut fx, keeper) = week_of_fees().await;
    let epoch_start = fx.rt.now;
    let pool = fx.rt.market(&fx.usdc.key).await.buyback_pool;
    assert!(pool > 100 * USDC, "a week of fees fills the pool: {pool}");

    // At the epoch's start the curve is at its 5% discount; the epoch may sell 10% of the pool.
    let v = view(&mut fx, &keeper).await;
    let start = v.plan(fx.rt.now, &cheap_native(NATIVE)).unwrap();
    assert_eq!((start.multiplier_bps, start.budget_left), (9_500, pool / 10));
    assert_eq!(start.fill.native_in, NATIVE, "bound by the per-fill cap");
    fill_exactly(&mut fx, &keeper, &v, &start).await;

    // Half-way up the one-hour curve from that fill: 0.95 + 0.08 / 2.
    fx.rt.advance(1_800);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    let middle = v.plan(fx.rt.now, &cheap_native(NATIVE)).unwrap();
    assert_eq!(middle.multiplier_bps, 9_900);
    assert!(middle.fill.pool_out > start.fill.pool_out, "the same native tokens buy more");
    fill_exactly(&mut fx, &keeper, &v, &middle).await;

    // Past the curve's end: capped at 3% over the oracle, the fill takes the rest of the
    // budget and pays only for it.
    fx.rt.advance(5_000);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    let capped = v.plan(fx.rt.now, &cheap_native(u64::MAX)).unwrap();
    assert_eq!(capped.multiplier_bps, 10_300);
    assert_eq!(capped.fill.pool_out, pool / 10 - start.fill.pool_out - middle.fill.pool_out);
    assert!(capped.fill.native_in < v.balance);
    fill_exactly(&mut fx, &keeper, &v, &capped).await;

    // The budget is spent: the keeper declines, and the program would refuse.
    fx.rt.advance(60);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    assert_eq!(v.plan(fx.rt.now, &cheap_native(u64::MAX)), Err(Skip::BudgetSpent));
    let forced = BuybackPlan { max_native_in: NATIVE, min_pool_out: 0, ..capped };
    let ix = buyback::buyback_instruction(
        keeper.key.pubkey(),
        &v.protocol,
        &v.usdc,
        &forced,
        keeper.native,
        keeper.pool_token,
    );
    assert_error(fx.rt.send(&[ix], &[&keeper.key]).await, BallastError::BuybackBudgetExhausted);
    // The SOL market's pool is empty, and the keeper knows it.
    let sol = buyback::plan_buyback(&v.protocol, &v.sol, &v.native, v.balance, fx.rt.now, &cheap_native(u64::MAX));
    assert_eq!(sol, Err(Skip::PoolEmpty));

    // The next epoch budgets 10% of what is left and restarts the curve at its start.
    fx.rt.set_time(epoch_start + DAY + 600);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    let next = v.plan(fx.rt.now, &cheap_native(10 * NATIVE)).unwrap();
    assert_eq!(next.budget_left, v.usdc.market.buyback_pool / 10);
    assert_eq!(next.multiplier_bps, 9_500 + 800 * 600 / 3_600);
    fill_exactly(&mut fx, &keeper, &v, &next).await;
}

#[tokio::test]
async fn keeper_declines_below_its_profit_threshold_and_fills_once_the_price_reaches_it() {
    let (mut fx, keeper) = week_of_fees().await;
    // Valued at the oracle's mid price, wanting 1%.
    let policy = BuybackPolicy { min_profit_bps: 100, ..BuybackPolicy::default() };
    let v = view(&mut fx, &keeper).await;
    let Err(Skip::Unprofitable { profit, profitable_at: Some(at), .. }) = v.plan(fx.rt.now, &policy) else {
        panic!("a loss at the curve's start, profitable later this epoch")
    };
    assert!(profit < 0);
    // 1% over mid needs ~1.012x once the conservative prices' 0.1% bands are paid for.
    assert!((fx.rt.now + 2_700..fx.rt.now + 2_900).contains(&at), "threshold at +{}", at - fx.rt.now);

    fx.rt.set_time(at - 1);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    assert!(matches!(v.plan(fx.rt.now, &policy), Err(Skip::Unprofitable { .. })), "one second early");

    fx.rt.set_time(at);
    fx.refresh_prices(SOL_PRICE).await;
    let v = view(&mut fx, &keeper).await;
    let plan = v.plan(fx.rt.now, &policy).unwrap();
    assert!(plan.profit * 10_000 >= 100 * plan.cost as i128);
    fill_exactly(&mut fx, &keeper, &v, &plan).await;
}

#[tokio::test]
async fn keeper_declines_a_stale_native_price_as_the_program_does() {
    let (mut fx, keeper) = week_of_fees().await;
    fx.rt.advance(3_600);
    fx.refresh_prices(SOL_PRICE).await;
    // The native feed last published 61 s ago: past the protocol's 60 s limit.
    let (oracle, now) = (fx.rt.native().oracle, fx.rt.now);
    fx.rt.set_price(&oracle, &PythPrice::steady(NATIVE_PRICE, EXPO, now - 61));
    let v = view(&mut fx, &keeper).await;
    let policy = cheap_native(u64::MAX);
    assert_eq!(v.plan(fx.rt.now, &policy), Err(Skip::NativeOracle(RiskError::OracleStale)));
    let limits = v.protocol.config.native_oracle_limits();
    assert!(ballast_risk::oracle::validate(&v.native.reading, &limits, OracleAction::RiskIncreasing, now).is_err());

    // Forced through anyway, the program refuses for the same reason.
    fx.rt.set_price(&oracle, &PythPrice::steady(NATIVE_PRICE, EXPO, now));
    let fresh = view(&mut fx, &keeper).await.plan(now, &policy).unwrap();
    fx.rt.set_price(&oracle, &PythPrice::steady(NATIVE_PRICE, EXPO, now - 61));
    let ix = buyback::buyback_instruction(
        keeper.key.pubkey(),
        &v.protocol,
        &v.usdc,
        &fresh,
        keeper.native,
        keeper.pool_token,
    );
    assert_error(fx.rt.send(&[ix], &[&keeper.key]).await, BallastError::OracleStale);
}
