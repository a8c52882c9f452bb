//! Fee recycling: sweep_fees splits protocol fees into pools; buyback sells a pool's
//! tokens for native tokens on the Dutch auction and burns them.

use anchor_lang::prelude::Pubkey;
use ballast_sim::ix::{self, BuybackFill};
use ballast_sim::pyth::PythPrice;
use ballast_tests::*;
use solana_signer::Signer;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// 1 native token (6 decimals).
const NATIVE: u64 = 1_000_000;

/// A week of interest at the kink (about 150 USDC of protocol fees), accrued hourly and
/// swept. Returns the fixture and the fees swept.
async fn swept_usdc_market() -> (Fixture, u64) {
    let mut fx = Fixture::new().await;
    fx.borrow_usdc_at_the_kink().await;
    fx.run_hourly(WEEK).await;
    let fees = fx.rt.market(&fx.usdc.key).await.accrued_protocol_fees;
    assert!(fees > 140 * USDC, "a week at the kink: {fees}");
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    (fx, fees)
}

/// `bps` of `amount`, rounded down (as the sweep splits).
fn share(amount: u64, bps: u64) -> u64 {
    amount * bps / 10_000
}

/// The next epoch boundary after `now` (epochs are whole days of unix time).
fn next_epoch(now: i64) -> i64 {
    now - now % DAY + DAY
}

/// What the auction should pay at `multiplier_bps`, computed by hand: the native token
/// at $2 minus 0.1% confidence, USDC at $1 plus 0.1% (prices per base unit, scaled
/// by 10^12 so that they are integers).
fn expected_fill(max_native_in: u64, available: u64, multiplier_bps: u128) -> (u64, u64) {
    let native_price: u128 = 1_998_000; // $1.998 per 10^6 base units, x10^12
    let pool_price: u128 = 1_001_000;
    let out = (u128::from(max_native_in) * native_price * multiplier_bps / 10_000 / pool_price).min(available.into());
    let value = out * pool_price;
    let value = (value * 10_000).div_ceil(multiplier_bps);
    let native_in = value.div_ceil(native_price);
    (out as u64, native_in as u64)
}

#[tokio::test]
async fn sweep_splits_fees_by_governance_shares() {
    let (mut fx, fees) = swept_usdc_market().await;
    let m = fx.rt.market(&fx.usdc.key).await;
    assert_eq!(m.accrued_protocol_fees, 0);
    // 30% insurance; nobody stakes, so the stakers' 30% joins the 40% buyback.
    assert_eq!(m.insurance_fund, share(fees, 3_000));
    assert_eq!(m.buyback_pool, fees - share(fees, 3_000));
    assert_eq!(m.staker_pool, 0);
    fx.assert_books(&fx.usdc.clone(), 2).await;
}

#[tokio::test]
async fn sweep_pays_stakers_when_there_are_some() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, 30 * DAY as u32)], &[&s.key]).await.unwrap();
    fx.borrow_usdc_at_the_kink().await;
    fx.run_hourly(WEEK).await;
    let fees = fx.rt.market(&fx.usdc.key).await.accrued_protocol_fees;
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    let m = fx.rt.market(&fx.usdc.key).await;
    let (insurance, stakers) = (share(fees, 3_000), share(fees, 3_000));
    assert_eq!((m.insurance_fund, m.buyback_pool, m.staker_pool), (insurance, fees - insurance - stakers, stakers));
    let stream = fx.rt.protocol().await.reward_streams[1 + fx.usdc.index as usize];
    assert_eq!(stream.undripped, stakers);
    assert_eq!(stream.drip_end, fx.rt.now + DAY);
    fx.assert_books(&fx.usdc.clone(), 2).await;
}

#[tokio::test]
async fn sweep_with_nothing_accrued_is_refused() {
    let mut fx = Fixture::new().await;
    let result = fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await;
    assert_error(result, BallastError::NothingToSweep);
}

#[tokio::test]
async fn sweep_refuses_an_account_that_is_not_a_market() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 0).await;
    let result = fx.rt.send(&[ix::sweep_fees(t.margin_account)], &[]).await;
    assert_error(result, AnchorError::AccountDiscriminatorMismatch);
}

/// The keeper fills at the curve's price at its start, halfway and past the cap; the
/// native tokens paid are burned and the supply drops by exactly that much.
#[tokio::test]
async fn buyback_fills_along_the_curve_and_burns() {
    let (mut fx, _) = swept_usdc_market().await;
    let k = fx.buyback_keeper(1_000 * NATIVE).await;
    let native_mint = fx.native_mint;
    // Epoch start: the curve starts 5% below the oracle.
    fx.rt.set_time(next_epoch(fx.rt.now));
    let mut pool = fx.rt.market(&fx.usdc.key).await.buyback_pool;
    let mut budget_left = pool / 10; // 10% of the pool per epoch
    for (wait, multiplier) in [(0, 9_500u128), (1_800, 9_900), (7_200, 10_300)] {
        fx.rt.advance(wait);
        fx.refresh_prices(SOL_PRICE).await;
        let supply = fx.rt.mint_supply(&native_mint).await;
        let (native_before, usdc_before) =
            (fx.rt.token_balance(&k.native).await, fx.rt.token_balance(&k.pool_token).await);
        let (out, native_in) = expected_fill(NATIVE, budget_left, multiplier);
        fx.rt.send(&[ix::buyback(&k.fill, NATIVE, out)], &[&k.key]).await.unwrap();
        assert_eq!(fx.rt.token_balance(&k.pool_token).await - usdc_before, out, "pool tokens at {multiplier}");
        assert_eq!(native_before - fx.rt.token_balance(&k.native).await, native_in, "native paid at {multiplier}");
        // Nobody stakes: everything paid is burned.
        assert_eq!(supply - fx.rt.mint_supply(&native_mint).await, native_in);
        pool -= out;
        budget_left -= out;
        let m = fx.rt.market(&fx.usdc.key).await;
        assert_eq!(m.buyback_pool, pool);
        assert_eq!(m.buyback_epoch_budget - m.buyback_epoch_sold, budget_left);
        assert_eq!(m.auction_start_ts, fx.rt.now, "each fill restarts the curve");
    }
    let p = fx.rt.protocol().await;
    assert_eq!(p.total_bought_back, p.total_burned);
    assert_eq!(p.total_bought_back, 1_000 * NATIVE - fx.rt.token_balance(&k.native).await);
    fx.assert_books(&fx.usdc.clone(), 2).await;
}

#[tokio::test]
async fn buyback_routes_the_stakers_share_to_the_reward_vault() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, 30 * DAY as u32)], &[&s.key]).await.unwrap();
    fx.borrow_usdc_at_the_kink().await;
    fx.run_hourly(WEEK).await;
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    let k = fx.buyback_keeper(100 * NATIVE).await;
    let supply = fx.rt.mint_supply(&fx.native_mint).await;
    fx.rt.send(&[ix::buyback(&k.fill, 10 * NATIVE, 0)], &[&k.key]).await.unwrap();
    let paid = 100 * NATIVE - fx.rt.token_balance(&k.native).await;
    let to_stakers = paid / 2;
    assert_eq!(fx.rt.token_balance(&ix::reward_vault_pda()).await, to_stakers);
    assert_eq!(supply - fx.rt.mint_supply(&fx.native_mint).await, paid - to_stakers);
    let p = fx.rt.protocol().await;
    assert_eq!(p.reward_streams[0].undripped, to_stakers);
    assert_eq!(p.total_burned, paid - to_stakers);
}

#[tokio::test]
async fn buyback_never_pays_above_the_cap() {
    let (mut fx, _) = swept_usdc_market().await;
    let k = fx.buyback_keeper(100 * NATIVE).await;
    fx.rt.advance(10 * 3_600);
    fx.refresh_prices(SOL_PRICE).await;
    let (capped, _) = expected_fill(NATIVE, u64::MAX, 10_300);
    // Asking for one unit more than the cap gives is refused...
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, capped + 1)], &[&k.key]).await;
    assert_error(result, BallastError::SlippageExceeded);
    // ...and the cap is what it pays, however late.
    fx.rt.send(&[ix::buyback(&k.fill, NATIVE, capped)], &[&k.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&k.pool_token).await, capped);
}

#[tokio::test]
async fn buyback_enforces_the_keepers_slippage_bounds() {
    let (mut fx, _) = swept_usdc_market().await;
    let pool = fx.rt.market(&fx.usdc.key).await.buyback_pool;
    let k = fx.buyback_keeper(100 * NATIVE).await;
    fx.rt.set_time(next_epoch(fx.rt.now));
    fx.refresh_prices(SOL_PRICE).await;
    let (out, _) = expected_fill(NATIVE, u64::MAX, 9_500);
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, out + 1)], &[&k.key]).await;
    assert_error(result, BallastError::SlippageExceeded);
    let result = fx.rt.send(&[ix::buyback(&k.fill, 0, 0)], &[&k.key]).await;
    assert_error(result, BallastError::ZeroAmount);
    // Nothing moved.
    assert_eq!(fx.rt.token_balance(&k.native).await, 100 * NATIVE);
    assert_eq!(fx.rt.market(&fx.usdc.key).await.buyback_pool, pool);
}

#[tokio::test]
async fn buyback_budget_is_per_epoch() {
    let (mut fx, _) = swept_usdc_market().await;
    let pool = fx.rt.market(&fx.usdc.key).await.buyback_pool;
    let k = fx.buyback_keeper(10_000 * NATIVE).await;
    fx.rt.set_time(next_epoch(fx.rt.now));
    fx.refresh_prices(SOL_PRICE).await;
    // 1,000 native tokens buy far more than the budget (10% of the pool): the fill is capped.
    fx.rt.send(&[ix::buyback(&k.fill, 1_000 * NATIVE, 0)], &[&k.key]).await.unwrap();
    let first = pool / 10;
    assert_eq!(fx.rt.token_balance(&k.pool_token).await, first);
    fx.rt.advance(60);
    fx.refresh_prices(SOL_PRICE).await;
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, 0)], &[&k.key]).await;
    assert_error(result, BallastError::BuybackBudgetExhausted);
    // The next epoch budgets 10% of what is left.
    fx.rt.set_time(next_epoch(fx.rt.now));
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::buyback(&k.fill, 1_000 * NATIVE, 0)], &[&k.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&k.pool_token).await, first + (pool - first) / 10);
}

#[tokio::test]
async fn buyback_refuses_a_stale_or_uncertain_native_price() {
    let (mut fx, _) = swept_usdc_market().await;
    let k = fx.buyback_keeper(100 * NATIVE).await;
    let oracle = fx.rt.native().oracle;
    fx.rt.set_price(&oracle, &PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now - 61));
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, 0)], &[&k.key]).await;
    assert_error(result, BallastError::OracleStale);
    let wide = PythPrice { conf: NATIVE_PRICE as u64 / 20, ..PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now) };
    fx.rt.set_price(&oracle, &wide);
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, 0)], &[&k.key]).await;
    assert_error(result, BallastError::OracleTooUncertain);
    // A stale pool-token feed is refused too.
    fx.set_native_price(NATIVE_PRICE);
    let usdc_oracle = fx.usdc.oracle;
    fx.rt.set_price(&usdc_oracle, &PythPrice::steady(USD, EXPO, fx.rt.now - 61));
    let result = fx.rt.send(&[ix::buyback(&k.fill, NATIVE, 0)], &[&k.key]).await;
    assert_error(result, BallastError::OracleStale);
    assert_eq!(fx.rt.token_balance(&k.native).await, 100 * NATIVE);
}

#[tokio::test]
async fn buyback_refuses_forged_feeds_and_wrong_mints() {
    let (mut fx, _) = swept_usdc_market().await;
    let k = fx.buyback_keeper(100 * NATIVE).await;
    // The USDC feed offered as the native token's price.
    let forged = BuybackFill { native_oracle: fx.usdc.oracle, ..k.fill };
    assert_error(fx.rt.send(&[ix::buyback(&forged, NATIVE, 0)], &[&k.key]).await, BallastError::WrongOracle);
    // A native feed copied into an account Pyth does not own.
    let fake = Pubkey::new_unique();
    let bytes = fx.rt.raw_account(&fx.rt.native().oracle).await.unwrap().data;
    fx.rt.set_raw_account(&fake, Pubkey::new_unique(), bytes);
    let forged = BuybackFill { native_oracle: fake, ..k.fill };
    assert_error(fx.rt.send(&[ix::buyback(&forged, NATIVE, 0)], &[&k.key]).await, BallastError::WrongOracle);
    // Paying with USDC instead of native tokens.
    let other_usdc = fx.rt.create_token_account(&fx.usdc.mint, &k.key.pubkey()).await;
    let forged = BuybackFill { keeper_native: other_usdc, ..k.fill };
    assert_error(fx.rt.send(&[ix::buyback(&forged, NATIVE, 0)], &[&k.key]).await, BallastError::WrongMint);
    // Another mint passed as the native mint.
    let forged = BuybackFill { native_mint: fx.sol.mint, ..k.fill };
    assert_error(fx.rt.send(&[ix::buyback(&forged, NATIVE, 0)], &[&k.key]).await, BallastError::WrongMint);
}

#[tokio::test]
async fn the_native_market_has_no_auction() {
    let mut fx = Fixture::new().await;
    let native = fx.rt.native();
    let config = ballast_sim::runtime::standard_config(1_000_000 * NATIVE, 500_000 * NATIVE);
    let market = fx.rt.list_market(native.mint, PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now), config).await;
    let k = fx.buyback_keeper(100 * NATIVE).await;
    let receive = fx.rt.create_token_account(&native.mint, &k.key.pubkey()).await;
    let b = BuybackFill { market: market.key, oracle: market.oracle, keeper_pool_token: receive, ..k.fill };
    let result = fx.rt.send(&[ix::buyback(&b, NATIVE, 0)], &[&k.key]).await;
    assert_error(result, BallastError::NativeMarketBuyback);
}
