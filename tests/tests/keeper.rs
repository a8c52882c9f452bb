//! refresh_market: interest accrual, protocol fee, oracle sampling.

use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::BalanceChange;
use ballast_tests::*;

const YEAR: i64 = 365 * 24 * 3_600;

async fn borrowed_market() -> Fixture {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let lender = fx.trader(1_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 1_000 * USDC)], &[&lender.key]).await.unwrap();
    let b = fx.trader(0, 100 * SOL).await;
    fx.rt.send(&[ix::deposit(&b.on(&sol), 100 * SOL)], &[&b.key]).await.unwrap();
    let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
    // 800 of 1,000 borrowed: utilisation exactly at the 80% kink, 10% APR.
    fx.rt.send(&[ix::borrow(&b.on(&usdc), 800 * USDC, &health)], &[&b.key]).await.unwrap();
    fx
}

#[tokio::test]
async fn refresh_accrues_at_most_an_hour_after_a_long_gap() {
    let mut fx = borrowed_market().await;
    let usdc = fx.usdc;
    // A year with nobody refreshing (a halted chain) comes back as one hour of interest.
    fx.rt.advance(YEAR);
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::refresh_market(usdc.key, usdc.oracle)], &[]).await.unwrap();
    let market = fx.rt.market(&usdc.key).await;
    let wad = ballast_risk::WAD;
    // 10% APR for an hour on 800 USDC (the index rounded up); 10% of it to the protocol.
    let growth = (wad / 10 * 3_600).div_ceil(YEAR as u128);
    assert_eq!(market.borrow_index.get(), wad + growth);
    let interest = 800 * u128::from(USDC) * growth;
    assert_eq!(u128::from(market.accrued_protocol_fees), interest / 10 / wad);
    // The rest over 1,000 USDC of deposit shares.
    let to_depositors = interest - u128::from(market.accrued_protocol_fees) * wad;
    assert_eq!(market.deposit_index.get(), wad + to_depositors / (1_000 * u128::from(USDC)));
    assert_eq!(market.last_accrual_ts, fx.rt.now);
    assert_eq!(market.last_price, USD);
    assert_eq!(market.last_publish_time, fx.rt.now);
}

#[tokio::test]
async fn refresh_twice_in_the_same_second_accrues_nothing_more() {
    let mut fx = borrowed_market().await;
    let usdc = fx.usdc;
    fx.rt.advance(3_600);
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::refresh_market(usdc.key, usdc.oracle)], &[]).await.unwrap();
    let first = fx.rt.market(&usdc.key).await;
    fx.rt.send(&[ix::refresh_market(usdc.key, usdc.oracle)], &[]).await.unwrap();
    let second = fx.rt.market(&usdc.key).await;
    assert_eq!(first.borrow_index, second.borrow_index);
    assert_eq!(first.accrued_protocol_fees, second.accrued_protocol_fees);
}

#[tokio::test]
async fn stale_feed_still_accrues_interest_and_is_recorded() {
    let mut fx = borrowed_market().await;
    let usdc = fx.usdc;
    fx.rt.advance(YEAR); // the feed is a year old
    fx.rt.send(&[ix::refresh_market(usdc.key, usdc.oracle)], &[]).await.unwrap();
    let market = fx.rt.market(&usdc.key).await;
    assert!(market.borrow_index.get() > ballast_risk::WAD);
    assert_eq!(market.last_publish_time, ballast_sim::runtime::GENESIS_TIME);
}

#[tokio::test]
async fn refresh_with_the_wrong_feed_is_refused() {
    let mut fx = borrowed_market().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    assert_error(fx.rt.send(&[ix::refresh_market(usdc.key, sol.oracle)], &[]).await, BallastError::WrongOracle);
    let now = fx.rt.now;
    let fake = fx.rt.new_feed(&PythPrice::steady(USD, EXPO, now));
    assert_error(fx.rt.send(&[ix::refresh_market(usdc.key, fake)], &[]).await, BallastError::WrongOracle);
}
