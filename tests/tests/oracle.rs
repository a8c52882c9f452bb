//! Oracle validity as the borrow path sees it: stale, uncertain, volatile, wrong feed,
//! forged owner, and missing or reordered health accounts.

use anchor_lang::prelude::Pubkey;
use ballast_sim::ix;
use ballast_sim::pyth::{price_account_bytes, PythPrice};
use ballast_sim::runtime::BalanceChange;
use ballast_tests::*;

/// A funded USDC market and a borrower with 10 SOL of collateral.
async fn setup() -> (Fixture, Trader) {
    let mut fx = Fixture::new().await;
    let lender = fx.trader(10_000 * USDC, 0).await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 10_000 * USDC)], &[&lender.key]).await.unwrap();
    let b = fx.trader(0, 10 * SOL).await;
    fx.rt.send(&[ix::deposit(&b.on(&sol), 10 * SOL)], &[&b.key]).await.unwrap();
    (fx, b)
}

async fn borrow_usdc(fx: &mut Fixture, b: &Trader, amount: u64) -> Result<(), solana_program_test::BanksClientError> {
    let usdc = fx.usdc;
    let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
    fx.rt.send(&[ix::borrow(&b.on(&usdc), amount, &health)], &[&b.key]).await
}

#[tokio::test]
async fn stale_price_blocks_borrowing_until_refreshed() {
    let (mut fx, b) = setup().await;
    fx.rt.advance(61);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleStale);
    fx.refresh_prices(SOL_PRICE).await;
    borrow_usdc(&mut fx, &b, 100 * USDC).await.unwrap();
}

#[tokio::test]
async fn halted_feed_is_stale() {
    let (mut fx, b) = setup().await;
    let oracle = fx.sol.oracle;
    let now = fx.rt.now;
    fx.rt.set_price(&oracle, &PythPrice { trading: false, ..PythPrice::steady(SOL_PRICE, EXPO, now) });
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleStale);
}

#[tokio::test]
async fn too_uncertain_price_blocks_borrowing() {
    let (mut fx, b) = setup().await;
    let oracle = fx.sol.oracle;
    let now = fx.rt.now;
    // conf 3% > 2% limit.
    fx.rt.set_price(&oracle, &PythPrice { conf: 3 * USD as u64, ..PythPrice::steady(SOL_PRICE, EXPO, now) });
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleTooUncertain);
}

#[tokio::test]
async fn price_far_from_ema_blocks_borrowing() {
    let (mut fx, b) = setup().await;
    let oracle = fx.sol.oracle;
    let now = fx.rt.now;
    // Spot 20% above a $100 EMA: a pumped collateral price is not trusted.
    fx.rt.set_price(&oracle, &PythPrice { ema_price: SOL_PRICE, ..PythPrice::steady(120 * USD, EXPO, now) });
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleTooVolatile);
}

#[tokio::test]
async fn non_positive_price_is_refused() {
    let (mut fx, b) = setup().await;
    let oracle = fx.sol.oracle;
    let now = fx.rt.now;
    fx.rt.set_price(&oracle, &PythPrice::steady(0, EXPO, now));
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleNonPositive);
}

#[tokio::test]
async fn price_account_of_the_wrong_feed_is_refused() {
    let (mut fx, b) = setup().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    // The SOL balance priced with the USDC feed ($1 instead of $100).
    let health = ix::health_metas(&[(sol.key, usdc.oracle), (usdc.key, usdc.oracle)]);
    let result = fx.rt.send(&[ix::borrow(&b.on(&usdc), 100 * USDC, &health)], &[&b.key]).await;
    assert_error(result, BallastError::WrongOracle);
}

#[tokio::test]
async fn feed_bytes_under_another_owner_are_refused() {
    let (mut fx, b) = setup().await;
    let sol_oracle = fx.sol.oracle;
    let now = fx.rt.now;
    // The right key, the right bytes, but not owned by Pyth.
    fx.rt.set_raw_account(
        &sol_oracle,
        Pubkey::new_unique(),
        price_account_bytes(&PythPrice::steady(SOL_PRICE, EXPO, now)),
    );
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::InvalidOracleAccount);
}

#[tokio::test]
async fn health_accounts_missing_duplicated_or_reordered_are_refused() {
    let (mut fx, b) = setup().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let borrow = |health: Vec<_>| ix::borrow(&b.on(&usdc), 100 * USDC, &health);
    // Missing: only the SOL pair, the new USDC balance unpriced.
    let missing = borrow(ix::health_metas(&[(sol.key, sol.oracle)]));
    assert_error(fx.rt.send(&[missing], &[&b.key]).await, BallastError::HealthAccountsMismatch);
    // Duplicated: the SOL pair twice.
    let duplicated = borrow(ix::health_metas(&[(sol.key, sol.oracle), (sol.key, sol.oracle)]));
    assert_error(fx.rt.send(&[duplicated], &[&b.key]).await, BallastError::HealthAccountsMismatch);
    // Reordered: USDC pair first.
    let reordered = borrow(ix::health_metas(&[(usdc.key, usdc.oracle), (sol.key, sol.oracle)]));
    assert_error(fx.rt.send(&[reordered], &[&b.key]).await, BallastError::HealthAccountsMismatch);
    // Foreign: a Ballast market account forged under another owner.
    let forged = Pubkey::new_unique();
    let data = fx.rt.raw_account(&sol.key).await.unwrap().data;
    fx.rt.set_raw_account(&forged, Pubkey::new_unique(), data);
    let foreign = borrow(ix::health_metas(&[(forged, sol.oracle), (usdc.key, usdc.oracle)]));
    assert_error(fx.rt.send(&[foreign], &[&b.key]).await, AnchorError::AccountOwnedByWrongProgram);
    // And the right pairs pass.
    borrow_usdc(&mut fx, &b, 100 * USDC).await.unwrap();
}

#[tokio::test]
async fn deposits_and_repays_need_no_oracle() {
    let (mut fx, b) = setup().await;
    borrow_usdc(&mut fx, &b, 100 * USDC).await.unwrap();
    let (usdc, sol) = (fx.usdc, fx.sol);
    fx.rt.advance(3_600); // every feed is now an hour stale
    fx.rt.send(&[ix::repay(&b.on(&usdc), 50 * USDC, false)], &[&b.key]).await.unwrap();
    let t = fx.trader(0, SOL).await;
    fx.rt.send(&[ix::deposit(&t.on(&sol), SOL)], &[&t.key]).await.unwrap();
}
