//! Oracle validity as the borrow path sees it: stale, uncertain, volatile, wrong feed,
//! forged owner, and missing or reordered health accounts; the two Pyth formats
//! (PriceUpdateV2, the default, and legacy) each priced end to end, and every way a
//! PriceUpdateV2 account is refused.

use anchor_lang::prelude::Pubkey;
use ballast::OracleKind;
use ballast_sim::ix;
use ballast_sim::keeper::BuybackKeeper;
use ballast_sim::pyth::{feed_account, price_update_bytes, price_update_bytes_verified, PythPrice, VerificationLevel};
use ballast_sim::runtime::BalanceChange;
use ballast_tests::*;

/// A funded USDC market and a borrower with 10 SOL of collateral.
async fn setup() -> (Fixture, Trader) {
    setup_with(OracleKind::PythPriceUpdateV2).await
}

/// The same with every feed of `kind`.
async fn setup_with(kind: OracleKind) -> (Fixture, Trader) {
    let mut fx = Fixture::with_oracle_kind(kind).await;
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
    for kind in [OracleKind::PythPriceUpdateV2, OracleKind::PythLegacy] {
        let (mut fx, b) = setup_with(kind).await;
        let sol_oracle = fx.sol.oracle;
        let now = fx.rt.now;
        // The right key, the right bytes, but not owned by the feed's program (for a
        // PriceUpdateV2 account, the legacy Pyth program will not do either).
        let (owner, bytes) = feed_account(&fx.rt.feed(&sol_oracle), &PythPrice::steady(SOL_PRICE, EXPO, now));
        let other = if owner == ballast::PYTH_PROGRAM_ID {
            ballast::PYTH_RECEIVER_PROGRAM_ID
        } else {
            ballast::PYTH_PROGRAM_ID
        };
        for wrong in [Pubkey::new_unique(), other] {
            fx.rt.set_raw_account(&sol_oracle, wrong, bytes.clone());
            assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleWrongOwner);
        }
    }
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

/// Writes the SOL feed's account as the receiver program would hold `p` for `feed_id`
/// under `verification`.
fn publish_update(fx: &mut Fixture, feed_id: [u8; 32], p: &PythPrice, verification: VerificationLevel) {
    let oracle = fx.sol.oracle;
    fx.rt.set_raw_account(
        &oracle,
        ballast::PYTH_RECEIVER_PROGRAM_ID,
        price_update_bytes_verified(feed_id, p, verification),
    );
}

/// Each way a PriceUpdateV2 account can be unfit is refused with its own code, and the
/// genuine update passes.
#[tokio::test]
async fn price_update_v2_is_refused_for_each_defect() {
    let (mut fx, b) = setup().await;
    let feed_id = fx.rt.feed(&fx.sol.oracle).feed_id;
    let now = fx.rt.now;
    let good = PythPrice::steady(SOL_PRICE, EXPO, now);
    let full = VerificationLevel::Full;
    let oracle = fx.sol.oracle;

    // Another program's account (the legacy owner check is covered above).
    fx.rt.set_raw_account(&oracle, Pubkey::new_unique(), price_update_bytes(feed_id, &good));
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleWrongOwner);
    // The receiver's bytes with another account type's discriminator.
    let mut bytes = price_update_bytes(feed_id, &good);
    bytes[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    fx.rt.set_raw_account(&oracle, ballast::PYTH_RECEIVER_PROGRAM_ID, bytes);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::InvalidOracleAccount);
    // Truncated: the discriminator right, the layout not.
    let bytes = price_update_bytes(feed_id, &good)[..40].to_vec();
    fx.rt.set_raw_account(&oracle, ballast::PYTH_RECEIVER_PROGRAM_ID, bytes);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::InvalidOracleAccount);
    // Another feed's update in the market's account.
    publish_update(&mut fx, [0xAB; 32], &good, full);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleFeedIdMismatch);
    // Partially verified (fewer Wormhole signatures checked).
    publish_update(&mut fx, feed_id, &good, VerificationLevel::Partial { num_signatures: 5 });
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OraclePartiallyVerified);
    // Stale, non-positive, exponent out of range.
    publish_update(&mut fx, feed_id, &PythPrice::steady(SOL_PRICE, EXPO, now - 61), full);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleStale);
    publish_update(
        &mut fx,
        feed_id,
        &PythPrice { ema_price: SOL_PRICE, ..PythPrice::steady(-SOL_PRICE, EXPO, now) },
        full,
    );
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleNonPositive);
    publish_update(&mut fx, feed_id, &PythPrice::steady(SOL_PRICE, -19, now), full);
    assert_error(borrow_usdc(&mut fx, &b, 100 * USDC).await, BallastError::OracleExponentOutOfRange);
    // Liquidation refuses the same defects of identity and verification.
    publish_update(&mut fx, feed_id, &good, VerificationLevel::Partial { num_signatures: 13 });
    let refresh = ix::refresh_market(fx.sol.key, oracle);
    assert_error(fx.rt.send(std::slice::from_ref(&refresh), &[]).await, BallastError::OraclePartiallyVerified);

    publish_update(&mut fx, feed_id, &good, full);
    fx.rt.send(&[refresh], &[]).await.unwrap();
    borrow_usdc(&mut fx, &b, 100 * USDC).await.unwrap();
}

/// Both formats price every action that reads a feed: deposit, borrow, withdraw,
/// refresh, liquidate, buyback and the volatility crank.
#[tokio::test]
async fn both_pyth_formats_are_priced_end_to_end() {
    for kind in [OracleKind::PythPriceUpdateV2, OracleKind::PythLegacy] {
        let (mut fx, b) = setup_with(kind).await;
        let (usdc, sol) = (fx.usdc, fx.sol);
        let protocol = fx.rt.protocol().await;
        assert_eq!(protocol.native_oracle.kind().unwrap(), kind);
        assert_eq!(fx.rt.market(&sol.key).await.oracle.kind().unwrap(), kind);
        let owner = fx.rt.raw_account(&sol.oracle).await.unwrap().owner;
        let expected_owner = match kind {
            OracleKind::PythPriceUpdateV2 => ballast::PYTH_RECEIVER_PROGRAM_ID,
            OracleKind::PythLegacy => ballast::PYTH_PROGRAM_ID,
        };
        assert_eq!(owner, expected_owner, "{kind:?}");

        // Borrowing at the USDC kink: a year of fees for the buyback pool below.
        fx.borrow_usdc_at_the_kink().await;
        borrow_usdc(&mut fx, &b, 600 * USDC).await.unwrap();
        let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::None).await;
        fx.rt.send(&[ix::withdraw(&b.on(&sol), SOL / 10, false, &health)], &[&b.key]).await.unwrap();

        // SOL at $60: liquidated on the feed's price.
        fx.rt.advance(1);
        fx.refresh_prices(60 * USD).await;
        fx.rt.send(&[ix::refresh_market(sol.key, sol.oracle)], &[]).await.unwrap();
        assert_eq!(fx.rt.market(&sol.key).await.last_price, 60 * USD);
        let keeper = fx.trader(10_000 * USDC, 0).await;
        let liquidation = fx.liquidation_of_usdc_debt(&keeper, b.margin_account);
        let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::None).await;
        fx.rt.send(&[ix::liquidate(&liquidation, u64::MAX, &health)], &[&keeper.key]).await.unwrap();
        assert!(fx.rt.token_balance(&keeper.sol).await > 0, "{kind:?}: collateral seized");

        // The volatility crank and a buyback on the swept pool, both on fresh feeds.
        fx.rt.send(&[ix::update_volatility(fx.native_mint, fx.rt.native().oracle)], &[]).await.unwrap();
        assert_ne!(fx.rt.protocol().await.volatility.last_sample_ts, 0);
        fx.rt.advance(365 * 86_400);
        fx.rt.send(&[ix::sweep_fees(usdc.key)], &[]).await.unwrap();
        let now = fx.rt.now;
        fx.rt.set_time(now - now % 86_400 + 86_400); // the start of a buyback epoch
        fx.refresh_prices(60 * USD).await;
        let buyer: BuybackKeeper = fx.buyback_keeper(1_000_000_000).await;
        let pool_before = fx.rt.market(&usdc.key).await.buyback_pool;
        assert!(pool_before > 0);
        fx.rt.send(&[ix::buyback(&buyer.fill, 1_000_000_000, 0)], &[&buyer.key]).await.unwrap();
        assert!(fx.rt.market(&usdc.key).await.buyback_pool < pool_before, "{kind:?}: pool tokens sold");
    }
}
