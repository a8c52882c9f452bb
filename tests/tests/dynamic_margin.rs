//! Margin that follows each market's own risk (issue 15): the stable price bounding
//! initial health, the USD limit on a market's counted deposits, the USD borrow limit
//! per window, regime weights ramping in when a market enters Crisis, governance changes
//! reaching weights through the same ramp, and the bounds of every new parameter.

use ballast::{GovernanceAction, MarketConfig, RegimeWeightsConfig, StablePriceConfig, UsdLimits, VolatilityConfig};
use ballast_risk::regime::Regime;
use ballast_sim::ix;
use ballast_sim::runtime::{standard_config, BalanceChange};
use ballast_tests::*;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

/// Weights that ignore the regime, so a test sees one defence at a time.
const NEUTRAL: RegimeWeightsConfig =
    RegimeWeightsConfig { asset_multiplier_bps: [10_000; 4], liability_multiplier_bps: [10_000; 4], ramp_secs: 86_400 };

fn neutral(deposit_cap: u64, borrow_cap: u64) -> MarketConfig {
    MarketConfig { regime_weights: NEUTRAL, ..standard_config(deposit_cap, borrow_cap) }
}

/// A fixture whose markets ignore the regime, with `edit` applied to the market whose
/// deposit cap is `cap` (USDC: 10M units, SOL: 100k).
async fn fixture_with(cap: u64, edit: fn(&mut MarketConfig)) -> Fixture {
    let config = move |deposit_cap: u64, borrow_cap: u64| {
        let mut c = neutral(deposit_cap, borrow_cap);
        if deposit_cap == cap {
            edit(&mut c);
        }
        c
    };
    Fixture::with_configs(ballast::ProtocolConfig::standard(), config).await
}

/// A lender with 100k USDC in the USDC market.
async fn lend_usdc(fx: &mut Fixture) {
    let usdc = fx.usdc;
    let lender = fx.trader(100_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 100_000 * USDC)], &[&lender.key]).await.unwrap();
}

/// A trader holding `sol` SOL deposited in the SOL market.
async fn sol_depositor(fx: &mut Fixture, sol: u64) -> Trader {
    let market = fx.sol;
    let t = fx.trader(0, sol * SOL).await;
    fx.rt.send(&[ix::deposit(&t.on(&market), sol * SOL)], &[&t.key]).await.unwrap();
    t
}

async fn borrow_usdc(fx: &mut Fixture, t: &Trader, usdc: u64) -> Result<(), BanksClientError> {
    let market = fx.usdc;
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Opens(market.key)).await;
    fx.rt.send(&[ix::borrow(&t.on(&market), usdc * USDC, &health)], &[&t.key]).await
}

/// Publishes every feed at `sol_price` now and refreshes both markets (what a keeper
/// does): the stable prices and regimes move only here.
async fn refresh(fx: &mut Fixture, sol_price: i64) {
    fx.refresh_prices(sol_price).await;
    fx.refresh_markets().await;
}

/// A keeper liquidating `of`'s SOL for its USDC debt.
async fn liquidate(fx: &mut Fixture, keeper: &Trader, of: &Trader, max_repay: u64) -> Result<(), BanksClientError> {
    let l = fx.liquidation_of_usdc_debt(keeper, of.margin_account);
    let health = fx.rt.health_accounts(&l.liquidatee, BalanceChange::None).await;
    fx.rt.send(&[ix::liquidate(&l, max_repay, &health)], &[&keeper.key]).await
}

/// SOL jumps from $100 to $150. At the oracle, 10 SOL (80% initial weight) would carry
/// 1,199 USDC of debt at a 120% liability weight ($1,081 for 900 USDC); held to the
/// stable price, still about $100, they carry 666. After a day of hourly refreshes the
/// stable price has caught up and the same borrow passes.
#[tokio::test]
async fn initial_health_is_held_to_the_stable_price_after_a_jump() {
    let mut fx = fixture_with(0, |_| {}).await;
    lend_usdc(&mut fx).await;
    let t = sol_depositor(&mut fx, 10).await;
    fx.rt.advance(60);
    refresh(&mut fx, 150 * USD).await;
    let stable = fx.rt.market(&fx.sol.key).await.stable_price.stable_price.get();
    // $100.02 per SOL (WAD per lamport): a quarter of 5% an hour for a minute, the oracle
    // being far from the delayed price.
    assert!(stable > 100 * 1_000_000_000 && stable < 100_030_000_000, "{stable}");
    assert_error(borrow_usdc(&mut fx, &t, 900).await, BallastError::BelowInitialHealth);
    borrow_usdc(&mut fx, &t, 600).await.unwrap();
    // Maintenance health stays on the oracle: the account is far from liquidation.
    let m = fx.rt.margin_account(&t.margin_account).await;
    assert!(m.cached_maint_health.get() > 600 * ballast_risk::WAD as i128);

    for _ in 0..24 {
        fx.rt.advance(3_600);
        refresh(&mut fx, 150 * USD).await;
    }
    assert_eq!(fx.rt.market(&fx.sol.key).await.stable_price.stable_price.get(), 150 * 1_000_000_000);
    borrow_usdc(&mut fx, &t, 300).await.unwrap();
}

/// SOL's deposits counted at the full initial weight up to $500: with $999 deposited the
/// weight halves (10 SOL carry 333 USDC, not 666); a second depositor's 10 SOL halve it
/// again for both, which blocks new risk but liquidates nobody.
#[tokio::test]
async fn the_usd_limit_scales_every_deposits_initial_weight() {
    let mut fx = fixture_with(100_000 * SOL, |c| c.limits.asset_value_init_limit_usd = 500).await;
    lend_usdc(&mut fx).await;
    let first = sol_depositor(&mut fx, 10).await;
    assert_error(borrow_usdc(&mut fx, &first, 400).await, BallastError::BelowInitialHealth);
    borrow_usdc(&mut fx, &first, 300).await.unwrap();

    let second = sol_depositor(&mut fx, 10).await;
    assert_error(borrow_usdc(&mut fx, &second, 200).await, BallastError::BelowInitialHealth);
    borrow_usdc(&mut fx, &second, 150).await.unwrap();
    // The first account is now under its initial requirement: no more risk ...
    let sol = fx.sol;
    let health = fx.rt.health_accounts(&first.margin_account, BalanceChange::None).await;
    let withdraw = ix::withdraw(&first.on(&sol), SOL / 10, false, &health);
    assert_error(fx.rt.send(&[withdraw], &[&first.key]).await, BallastError::BelowInitialHealth);
    // ... but maintenance health is untouched by the limit.
    let keeper = fx.trader(10_000 * USDC, 0).await;
    assert_error(liquidate(&mut fx, &keeper, &first, 100 * USDC).await, BallastError::AccountHealthy);
}

/// USDC lends at most $1,000 net per hour-long window: repayments free room, and the
/// next window starts empty.
#[tokio::test]
async fn borrows_are_limited_per_window_in_usd() {
    let limits = |c: &mut MarketConfig| {
        c.limits = UsdLimits { borrow_limit_per_window_usd: 1_000, borrow_limit_window_secs: 3_600, ..c.limits }
    };
    let mut fx = fixture_with(10_000_000 * USDC, limits).await;
    lend_usdc(&mut fx).await;
    let t = sol_depositor(&mut fx, 100).await;
    // The windows are aligned to the hour: start this test at one's beginning.
    let now = fx.rt.now;
    fx.rt.set_time(now - now % 3_600 + 3_600);
    fx.refresh_prices(SOL_PRICE).await;
    borrow_usdc(&mut fx, &t, 600).await.unwrap();
    // 1,100 USDC at the liability price ($1.001) is over the limit.
    assert_error(borrow_usdc(&mut fx, &t, 500).await, BallastError::BorrowLimitExceeded);
    let usdc = fx.usdc;
    fx.rt.send(&[ix::repay(&t.on(&usdc), 200 * USDC, false)], &[&t.key]).await.unwrap();
    borrow_usdc(&mut fx, &t, 500).await.unwrap();
    assert_error(borrow_usdc(&mut fx, &t, 100).await, BallastError::BorrowLimitExceeded);
    fx.rt.advance(3_600);
    fx.refresh_prices(SOL_PRICE).await;
    borrow_usdc(&mut fx, &t, 900).await.unwrap();
}

/// A 38% crash in a minute puts SOL in Crisis: its weights head for 70% (assets) over
/// the standard one-day ramp. An account the crash itself leaves under maintenance is
/// liquidated at once; one healthy by more than an hour of ramp (1.25% of its SOL's
/// weighted value) is not liquidated in the first hour, but is once the ramp has run.
#[tokio::test]
async fn a_market_entering_crisis_ramps_and_spares_accounts_above_the_ramps_margin() {
    let mut fx = Fixture::new().await;
    lend_usdc(&mut fx).await;
    let spared = sol_depositor(&mut fx, 10).await;
    borrow_usdc(&mut fx, &spared, 490).await.unwrap();
    let underwater = sol_depositor(&mut fx, 10).await;
    borrow_usdc(&mut fx, &underwater, 515).await.unwrap();
    let keeper = fx.trader(10_000 * USDC, 0).await;
    // The first sample sets SOL's estimate; the crash a minute later is the second.
    refresh(&mut fx, SOL_PRICE).await;
    fx.rt.advance(60);
    refresh(&mut fx, 62 * USD).await;
    let sol = fx.rt.market(&fx.sol.key).await;
    assert_eq!(Regime::from_u8(sol.volatility.regime).unwrap(), Regime::Crisis);
    let crisis_at = fx.rt.now;
    assert_eq!((sol.asset_multiplier.to_bps, sol.asset_multiplier.start_ts), (7_000, crisis_at));

    // Maintenance at $62 (asset price $61.938): 10 SOL * 0.9 = $557.44 of collateral.
    // 515 USDC owed ($1.001) * 1.1 = $567.07: under at once.
    liquidate(&mut fx, &keeper, &underwater, 50 * USDC).await.unwrap();
    // 490 USDC owed: $539.55, under $557.44 less an hour of ramp ($550.47).
    fx.rt.advance(3_599 - 60);
    fx.refresh_prices(62 * USD).await;
    assert_error(liquidate(&mut fx, &keeper, &spared, 50 * USDC).await, BallastError::AccountHealthy);
    // Once the ramp has run, SOL counts at 63%: $390.21 of collateral.
    fx.rt.set_time(crisis_at + 86_400);
    fx.refresh_prices(62 * USD).await;
    liquidate(&mut fx, &keeper, &spared, 50 * USDC).await.unwrap();
}

/// A governance change of the multiplier table reaches the weights over the ramp from
/// where they stand, like a regime change, never in one jump.
#[tokio::test]
async fn a_new_multiplier_table_ramps_in() {
    let mut fx = Fixture::new().await;
    let admin = fx.rt.admin.insecure_clone();
    let before = fx.rt.market(&fx.sol.key).await;
    let mut config = before.config;
    config.regime_weights.asset_multiplier_bps = [9_000, 9_000, 8_500, 7_000];
    let change = GovernanceAction::SetMarketConfig { market: fx.sol.key, config };
    fx.rt.send(&[ix::apply_change(admin.pubkey(), change)], &[&admin]).await.unwrap();
    let now = fx.rt.now;
    let after = fx.rt.market(&fx.sol.key).await;
    assert_eq!(after.weights_at(now), before.weights_at(now));
    assert_eq!(after.weights_at(now + 86_400).maint_asset_bps, 9_000 * 9 / 10);
    assert_eq!(after.weights_at(now + 43_200).maint_asset_bps, 9_000 * 95 / 100);
}

/// Each new parameter group out of bounds is refused at listing with its own error.
#[tokio::test]
async fn out_of_bounds_dynamic_margin_configs_are_refused() {
    let Listing { mut rt, mint, oracle } = listing().await;
    let admin = rt.admin.insecure_clone();
    let base = MarketConfig::conservative(1_000 * SOL, 500 * SOL);
    let edit = |f: fn(&mut MarketConfig)| {
        let mut c = base;
        f(&mut c);
        c
    };
    let cases = [
        (edit(|c| c.regime_weights.asset_multiplier_bps[2] = 9_600), BallastError::InvalidRegimeWeights),
        (edit(|c| c.regime_weights.asset_multiplier_bps[3] = 999), BallastError::InvalidRegimeWeights),
        (edit(|c| c.regime_weights.liability_multiplier_bps[0] = 9_999), BallastError::InvalidRegimeWeights),
        (edit(|c| c.regime_weights.liability_multiplier_bps[3] = 30_001), BallastError::InvalidRegimeWeights),
        (edit(|c| c.regime_weights.ramp_secs = 599), BallastError::InvalidRegimeWeights),
        (
            edit(|c| c.stable_price = StablePriceConfig { max_hourly_move_bps: 0, ..c.stable_price }),
            BallastError::InvalidStablePriceParams,
        ),
        (edit(|c| c.stable_price.delay_interval_secs = 59), BallastError::InvalidStablePriceParams),
        (
            edit(|c| c.limits = UsdLimits { borrow_limit_per_window_usd: 1, borrow_limit_window_secs: 0, ..c.limits }),
            BallastError::InvalidBorrowLimit,
        ),
        (
            edit(|c| c.volatility = VolatilityConfig { max_gap_secs: 0, ..c.volatility }),
            BallastError::InvalidVolatilityParams,
        ),
        (
            edit(|c| c.volatility.exit_drawdown_bps = c.volatility.enter_drawdown_bps),
            BallastError::InvalidRegimeThresholds,
        ),
    ];
    for (config, error) in cases {
        let result = rt.send(&[ix::add_market(admin.pubkey(), mint, rt.feed(&oracle), config)], &[&admin]).await;
        assert_error(result, error);
    }
    rt.send(&[ix::add_market(admin.pubkey(), mint, rt.feed(&oracle), base)], &[&admin]).await.unwrap();
    // A new market starts Calm at Calm's multipliers, its stable price the listing price.
    let m = rt.market(&ix::market_pda(&mint)).await;
    assert_eq!((m.volatility.regime, m.volatility.last_sample_ts), (0, 0));
    assert_eq!((m.asset_multiplier.to_bps, m.liability_multiplier.to_bps), (10_000, 10_000));
    assert_eq!(m.stable_price.stable_price.get(), 100_000_000_000);
}
