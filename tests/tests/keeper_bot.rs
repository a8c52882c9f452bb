//! The keeper library drives liquidations against the program: it decodes accounts
//! from raw bytes, agrees with the chain on who is unhealthy, and its plans pass.

use ballast_sim::ix;
use ballast_sim::keeper::{liquidate_unhealthy, Liquidator};
use ballast_sim::runtime::BalanceChange;
use ballast_tests::*;

#[tokio::test]
async fn keeper_liquidates_exactly_the_unhealthy_accounts_until_none_are_left() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let lender = fx.trader(100_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 100_000 * USDC)], &[&lender.key]).await.unwrap();
    let mut borrowers = Vec::new();
    for debt in [300, 400, 500, 600] {
        let b = fx.trader(0, 10 * SOL).await;
        fx.rt.send(&[ix::deposit(&b.on(&sol), 10 * SOL)], &[&b.key]).await.unwrap();
        let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
        fx.rt.send(&[ix::borrow(&b.on(&usdc), debt * USDC, &health)], &[&b.key]).await.unwrap();
        borrowers.push(b.margin_account);
    }
    let keeper = Liquidator::new(&mut fx.rt, &[10_000 * USDC, 0]).await;

    // Nothing to do while prices hold.
    assert!(liquidate_unhealthy(&mut fx.rt, &keeper, &borrowers, 0).await.unwrap().is_empty());

    // At $55 the 500 and 600 USDC borrowers fall below maintenance; 300 and 400 do not.
    fx.rt.advance(1);
    fx.refresh_prices(55 * USD).await;
    let done = liquidate_unhealthy(&mut fx.rt, &keeper, &borrowers, 0).await.unwrap();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|p| p.profit > 0 && p.liability_market == usdc.index && p.asset_market == sol.index));
    // The deepest shortfall went first, and a second pass finds nothing.
    assert!(done[0].quote.repay > done[1].quote.repay);
    assert!(liquidate_unhealthy(&mut fx.rt, &keeper, &borrowers, 0).await.unwrap().is_empty());
    for (i, key) in borrowers.iter().enumerate() {
        let account = fx.rt.margin_account(key).await;
        let debt = fx.rt.market(&usdc.key).await;
        let shares = account.balances.iter().find(|b| b.market_index == usdc.index).unwrap().borrow_shares.get();
        let owed = ballast_risk::shares::debt_amount(shares, debt.borrow_index.get()).unwrap();
        let original = [300u128, 400, 500, 600][i] * u128::from(USDC);
        assert_eq!(owed < original, i >= 2, "borrower {i}: only the unhealthy were liquidated");
    }
    fx.assert_books(&usdc, 10).await;
    fx.assert_books(&sol, 10).await;
}

#[tokio::test]
async fn keeper_skips_liquidations_below_its_minimum_profit() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let lender = fx.trader(10_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 10_000 * USDC)], &[&lender.key]).await.unwrap();
    let b = fx.trader(0, 10 * SOL).await;
    fx.rt.send(&[ix::deposit(&b.on(&sol), 10 * SOL)], &[&b.key]).await.unwrap();
    let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
    fx.rt.send(&[ix::borrow(&b.on(&usdc), 600 * USDC, &health)], &[&b.key]).await.unwrap();
    let keeper = Liquidator::new(&mut fx.rt, &[10_000 * USDC, 0]).await;
    fx.rt.advance(1);
    fx.refresh_prices(70 * USD).await;
    // The bonus on this liquidation is a few dollars: a $1,000 minimum skips it.
    let thousand_dollars = 1_000 * ballast_risk::WAD as i128;
    let accounts = [b.margin_account];
    assert!(liquidate_unhealthy(&mut fx.rt, &keeper, &accounts, thousand_dollars).await.unwrap().is_empty());
    assert_eq!(liquidate_unhealthy(&mut fx.rt, &keeper, &accounts, 0).await.unwrap().len(), 1);
}

/// The keeper's sweep planner agrees with the program: it plans exactly the markets
/// whose fees (accrued, or accruing with time) the program will split, and the market
/// it leaves out would have failed with `NothingToSweep`.
#[tokio::test]
async fn keeper_sweeps_exactly_the_markets_with_fees() {
    use ballast::errors::BallastError;
    use ballast_keeper::sweep::plan_sweeps;
    use ballast_sim::keeper::snapshot_markets;

    let mut fx = Fixture::new().await;
    fx.borrow_usdc_at_the_kink().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    fx.rt.advance(86_400);
    fx.refresh_prices(100 * USD).await;
    let markets = snapshot_markets(&mut fx.rt).await;
    let planned = plan_sweeps(&markets, fx.rt.now);
    assert_eq!(planned, vec![ix::sweep_fees(usdc.key)], "only USDC is borrowed");

    let before = fx.rt.market(&usdc.key).await;
    fx.rt.send(&planned, &[]).await.unwrap();
    let after = fx.rt.market(&usdc.key).await;
    assert_eq!(after.accrued_protocol_fees, 0);
    assert!(after.insurance_fund > before.insurance_fund && after.buyback_pool > before.buyback_pool);
    // SOL, left out, has nothing to split; nor has USDC in the same second.
    assert_error(fx.rt.send(&[ix::sweep_fees(sol.key)], &[]).await, BallastError::NothingToSweep);
    assert!(plan_sweeps(&snapshot_markets(&mut fx.rt).await, fx.rt.now).is_empty());
    fx.assert_books(&usdc, 10).await;
}

/// The keeper's feed health on the accounts as they lie on chain, in both Pyth formats:
/// fresh feeds pass, a market feed past its liquidation age (or a native feed past its
/// age) fails `/healthz` and names itself, a feed that no longer reads counts as dead.
#[tokio::test]
async fn keeper_feed_health_follows_the_feeds_on_chain() {
    use ballast::OracleKind;
    use ballast_keeper::metrics::Metrics;

    for kind in [OracleKind::PythPriceUpdateV2, OracleKind::PythLegacy] {
        let mut fx = Fixture::with_oracle_kind(kind).await;
        let metrics = Metrics::default();
        metrics.last_scan_unix.store(fx.rt.now, std::sync::atomic::Ordering::Relaxed);
        metrics.record_feeds(feed_statuses(&mut fx).await);
        assert!(metrics.health(fx.rt.now, 60).is_ok(), "{kind:?}");

        // 61 s later the native feed (60 s) is too old; the markets' (600 s) are not.
        fx.rt.advance(61);
        metrics.last_scan_unix.store(fx.rt.now, std::sync::atomic::Ordering::Relaxed);
        metrics.record_feeds(feed_statuses(&mut fx).await);
        let why = metrics.health(fx.rt.now, 60).unwrap_err();
        assert!(why.contains("feed native") && !why.contains(&fx.sol.key.to_string()), "{why}");
        // The native feed is pushed again; SOL's account is closed and rewritten by another program.
        fx.set_native_price(NATIVE_PRICE);
        let sol_oracle = fx.sol.oracle;
        fx.rt.set_raw_account(&sol_oracle, anchor_lang::prelude::Pubkey::new_unique(), vec![0; 8]);
        metrics.record_feeds(feed_statuses(&mut fx).await);
        let why = metrics.health(fx.rt.now, 60).unwrap_err();
        assert_eq!(why, format!("feed {} ({sol_oracle}) does not read\n", fx.sol.key), "{kind:?}");
    }
}

/// Every feed's status at the runtime's clock, judged as the bot judges what it fetches.
async fn feed_statuses(fx: &mut Fixture) -> Vec<ballast_keeper::feeds::FeedStatus> {
    use ballast_keeper::feeds::FeedStatus;
    let now = fx.rt.now;
    let mut out = Vec::new();
    for m in fx.rt.markets.clone() {
        let market = fx.rt.market(&m.key).await;
        let account = fx.rt.raw_account(&m.oracle).await.unwrap();
        let reading = ballast::oracle::parse_oracle(&market.oracle, &account.owner, &account.data).ok();
        out.push(FeedStatus::of_market(&m.key, &market, reading.as_ref(), now));
    }
    let protocol = fx.rt.protocol().await;
    let account = fx.rt.raw_account(&protocol.native_oracle.address).await.unwrap();
    let reading = ballast::oracle::parse_oracle(&protocol.native_oracle, &account.owner, &account.data).ok();
    out.push(FeedStatus::of_native(&protocol, reading.as_ref(), now));
    out
}

/// A collateral market lent out to its last token cannot pay a liquidator in tokens: a
/// keeper with a margin account takes the collateral there as a deposit instead, one
/// without cannot liquidate.
#[tokio::test]
async fn the_keeper_takes_collateral_as_a_deposit_when_the_vault_cannot_pay() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let (_, b) = fx.lender_and_borrower(100_000 * USDC, 10 * SOL, 600 * USDC).await;
    // A short borrows every SOL the vault holds.
    let short = fx.trader(20_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&short.on(&usdc), 20_000 * USDC)], &[&short.key]).await.unwrap();
    let all_sol = fx.rt.token_balance(&sol.vault).await;
    let health = fx.rt.health_accounts(&short.margin_account, BalanceChange::Opens(sol.key)).await;
    fx.rt.send(&[ix::borrow(&short.on(&sol), all_sol, &health)], &[&short.key]).await.unwrap();
    fx.rt.advance(1);
    fx.refresh_prices(70 * USD).await;

    let without = Liquidator::new(&mut fx.rt, &[10_000 * USDC, 0]).await;
    let refused = liquidate_unhealthy(&mut fx.rt, &without, &[b.margin_account], 0).await;
    assert_error(refused.map(|_| ()), BallastError::InsufficientLiquidity);

    let keeper = Liquidator::new(&mut fx.rt, &[10_000 * USDC, 0]).await.with_margin_account(&mut fx.rt).await;
    let done = liquidate_unhealthy(&mut fx.rt, &keeper, &[b.margin_account], 0).await.unwrap();
    assert_eq!(done.len(), 1);
    let own = fx.rt.margin_account(&keeper.margin_account.unwrap()).await;
    let credited = own.active_balances().find(|x| x.market_index == sol.index).map(|x| x.deposit_shares.get());
    assert!(credited.is_some_and(|s| s > 0), "the seized SOL is the keeper's deposit");
    assert_eq!(fx.rt.token_balance(&keeper.tokens[&sol.key]).await, 0, "no SOL left the vault");
    assert!(fx.rt.margin_account(&b.margin_account).await.cached_init_health.get() >= 0);
}
