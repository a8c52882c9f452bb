//! Volatility estimates and regimes with hysteresis and dwell: the native token's
//! (`update_volatility`: emissions, buyback budget, exit penalty) and each market's own
//! (`refresh_market`: that market's weight multipliers, on a ramp).

use anchor_lang::prelude::Pubkey;
use ballast::{Market, MarketConfig, Protocol, ProtocolConfig, RegimeRow, VolatilityConfig};
use ballast_risk::regime::Regime::{self, *};
use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, BalanceChange, MarketHandle};
use ballast_tests::*;
use solana_signer::Signer;

const NATIVE: u64 = 1_000_000;
const STEP: i64 = 600;
const DWELL: i64 = 2 * 3_600;
const RAMP: i64 = 86_400;
const EMISSIONS: [u64; 4] = [1_000, 600, 200, 0];

/// Ten-minute samples, a one-hour variance time constant (so a few hours of moves set
/// the level), two hours' dwell.
fn volatility() -> VolatilityConfig {
    VolatilityConfig {
        var_time_constant_secs: 3_600,
        ema_time_constant_secs: 86_400,
        min_dwell_secs: DWELL as u32,
        ..VolatilityConfig::standard()
    }
}

/// The native token's estimate as above, and emissions falling with the regime.
fn config() -> ProtocolConfig {
    let mut config = ProtocolConfig::standard();
    config.volatility = volatility();
    for (row, rate) in config.regimes.iter_mut().zip(EMISSIONS) {
        row.emission_rate_per_sec = rate;
    }
    config
}

/// A market sampled like the native token, with the standard regime weights (a one-day
/// ramp).
fn market_config(deposit_cap: u64, borrow_cap: u64) -> MarketConfig {
    MarketConfig { volatility: volatility(), ..standard_config(deposit_cap, borrow_cap) }
}

struct VolFixture {
    fx: Fixture,
    native_market: MarketHandle,
    price: i64,
}

impl VolFixture {
    /// The protocol with the native token's own market listed, and a staker so that
    /// emissions are minted.
    async fn new() -> VolFixture {
        let mut fx = Fixture::with_config(config()).await;
        let price = PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now);
        let native_market =
            fx.rt.list_market(fx.native_mint, price, market_config(1_000_000 * NATIVE, 100_000 * NATIVE)).await;
        let staker = fx.staker(1_000 * NATIVE).await;
        fx.rt.send(&[staker.ix.stake(1_000 * NATIVE, 30 * 86_400)], &[&staker.key]).await.unwrap();
        VolFixture { fx, native_market, price: NATIVE_PRICE }
    }

    fn crank_ix(&self) -> anchor_lang::solana_program::instruction::Instruction {
        ix::update_volatility(self.fx.native_mint, self.fx.rt.native().oracle)
    }

    fn refresh_ix(&self) -> anchor_lang::solana_program::instruction::Instruction {
        ix::refresh_market(self.native_market.key, self.native_market.oracle)
    }

    /// Publishes `price` on both native feeds at the current time.
    fn publish(&mut self, price: i64) {
        self.price = price;
        let now = self.fx.rt.now;
        self.fx.set_native_price(price);
        let oracle = self.native_market.oracle;
        self.fx.rt.set_price(&oracle, &PythPrice::steady(price, EXPO, now));
    }

    /// One step: the price moves by `move_bps` (signed), then both cranks sample it:
    /// the native token's and its market's own.
    async fn step(&mut self, move_bps: i64) -> Sample {
        self.fx.rt.advance(STEP);
        let price = self.price + self.price * move_bps / 10_000;
        self.publish(price);
        let before = self.fx.rt.protocol().await.total_emitted;
        let cranks = [self.crank_ix(), self.refresh_ix()];
        self.fx.rt.send(&cranks, &[]).await.unwrap();
        let p = self.fx.rt.protocol().await;
        let market = self.market().await;
        Sample {
            regime: regime(&p),
            market_regime: Regime::from_u8(market.volatility.regime).unwrap(),
            emitted: p.total_emitted - before,
            vol_bps: p.volatility.annual_vol_bps,
        }
    }

    async fn protocol(&mut self) -> Protocol {
        self.fx.rt.protocol().await
    }

    async fn market(&mut self) -> Market {
        self.fx.rt.market(&self.native_market.key).await
    }
}

#[derive(Debug)]
struct Sample {
    regime: Regime,
    market_regime: Regime,
    emitted: u64,
    vol_bps: u32,
}

fn regime(p: &Protocol) -> Regime {
    Regime::from_u8(p.volatility.regime).unwrap()
}

fn row(r: Regime) -> RegimeRow {
    config().regimes[r.index()]
}

/// Alternating moves of about `bps` (jittered by ±`jitter`), which keep the price level
/// but set the volatility: at ten-minute steps, 0.44% moves are ~100% a year, 0.65% ~150%,
/// 1.3% ~300%.
fn wiggle(i: usize, bps: i64, jitter: i64) -> i64 {
    let size = bps + (i as i64 * 37 % (2 * jitter + 1)) - jitter;
    if i.is_multiple_of(2) {
        size
    } else {
        -size
    }
}

/// Calm → Elevated → Stressed → Crisis and back down one level at a time, each step
/// with its emission rate and exit penalty; the native token's own market, sampled by
/// `refresh_market` with the same settings, walks the same regimes (one implementation)
/// and its weight multipliers ramp to each regime's values, never jumping.
#[tokio::test]
async fn a_scripted_path_walks_the_regimes_up_and_back() {
    let mut v = VolFixture::new().await;
    let first = [v.crank_ix(), v.refresh_ix()];
    v.fx.rt.send(&first, &[]).await.unwrap();
    let weights = market_config(0, 0).regime_weights;
    // (moves in bps, jitter, steps)
    let phases: [(i64, i64, usize); 5] = [(15, 5, 12), (45, 5, 24), (66, 4, 24), (135, 10, 18), (8, 4, 150)];
    let mut seen = vec![Calm];
    let mut in_force = Calm;
    let mut i = 0;
    for (bps, jitter, steps) in phases {
        for _ in 0..steps {
            let before = v.market().await;
            let s = v.step(wiggle(i, bps, jitter)).await;
            i += 1;
            assert_eq!(s.market_regime, s.regime, "step {i}");
            // Emissions since the last sample were minted at the rate of the regime that
            // was in force (the crank accrues before it moves the regime).
            assert_eq!(s.emitted, EMISSIONS[in_force.index()] * STEP as u64, "step {i}: {s:?}");
            if s.regime != in_force {
                // Up jumps straight to the level reached; down steps one level at a time.
                assert!(s.regime > in_force || s.regime.index() + 1 == in_force.index(), "{in_force:?} -> {s:?}");
                seen.push(s.regime);
                let after = v.market().await;
                let r = s.regime.index();
                assert_eq!(after.asset_multiplier.to_bps, weights.asset_multiplier_bps[r]);
                assert_eq!(after.liability_multiplier.to_bps, weights.liability_multiplier_bps[r]);
                // No jump at the change: the new ramps start from where the old ones were.
                let now = v.fx.rt.now;
                assert_eq!(after.weights_at(now), before.weights_at(now));
                in_force = s.regime;
            }
        }
        if bps == 135 {
            // In Crisis: leaving early burns the Crisis penalty.
            assert_eq!(in_force, Crisis);
            assert_exit_penalty(&mut v.fx, Crisis).await;
        }
    }
    assert_eq!(seen, [Calm, Elevated, Stressed, Crisis, Stressed, Elevated, Calm]);
    // Long after the last change the weights have ramped all the way back.
    let now = v.fx.rt.now;
    let m = v.market().await;
    assert_eq!(m.weights_at(now + RAMP), m.config.weights());
}

/// Noise between a regime's exit and the next regime's entry never moves it, however
/// long it lasts.
#[tokio::test]
async fn noise_inside_a_band_never_flaps() {
    let mut v = VolFixture::new().await;
    let first = v.crank_ix();
    v.fx.rt.send(&[first], &[]).await.unwrap();
    let mut i = 0;
    while regime(&v.protocol().await) != Elevated {
        v.step(wiggle(i, 45, 5)).await;
        i += 1;
        assert!(i < 40, "never reached Elevated");
    }
    // Moves of 0.3% to 0.5% (~70% to ~115% a year): above Elevated's exit (60%) and
    // below Stressed's entry (120%), for a day.
    for _ in 0..144 {
        let s = v.step(wiggle(i, 40, 10)).await;
        i += 1;
        assert!((6_000..12_000).contains(&s.vol_bps), "{s:?}");
        assert_eq!(s.regime, Elevated, "{s:?}");
    }
}

/// A staker joining and leaving early in `r` has exactly `r`'s penalty burned.
async fn assert_exit_penalty(fx: &mut Fixture, r: Regime) {
    let s = fx.staker(100 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(100 * NATIVE, 30 * 86_400)], &[&s.key]).await.unwrap();
    let burned_before = fx.rt.protocol().await.total_burned;
    fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await.unwrap();
    let burned = fx.rt.protocol().await.total_burned - burned_before;
    assert_eq!(burned, 100 * NATIVE * u64::from(row(r).exit_penalty_bps) / 10_000, "{r:?}");
}

/// Writes `r` into the protocol's regime byte directly (the path test shows how the
/// crank gets there); the other regime effects are checked per regime.
async fn force_regime(fx: &mut Fixture, r: Regime) {
    let key = ix::protocol_pda();
    let mut account = fx.rt.raw_account(&key).await.unwrap();
    let mut protocol: Protocol = *bytemuck::from_bytes(&account.data[8..]);
    protocol.volatility.regime = r as u8;
    protocol.volatility.regime_entered_at = fx.rt.now;
    account.data[8..].copy_from_slice(bytemuck::bytes_of(&protocol));
    fx.rt.set_raw_account(&key, account.owner, account.data);
}

/// Each regime's buyback budget is its share of the pool at the epoch's first fill
/// (larger as the regime worsens), and its exit penalty applies.
#[tokio::test]
async fn each_regime_sets_the_buyback_budget_and_exit_penalty() {
    let mut fx = Fixture::with_config(config()).await;
    fx.borrow_usdc_at_the_kink().await;
    fx.rt.advance(365 * 86_400);
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    let k = fx.buyback_keeper(10_000 * NATIVE).await;
    for r in Regime::ALL {
        force_regime(&mut fx, r).await;
        let now = fx.rt.now;
        fx.rt.set_time(now - now % 86_400 + 86_400);
        fx.refresh_prices(SOL_PRICE).await;
        let pool = fx.rt.market(&fx.usdc.key).await.buyback_pool;
        fx.rt.send(&[ix::buyback(&k.fill, NATIVE, 0)], &[&k.key]).await.unwrap();
        let m = fx.rt.market(&fx.usdc.key).await;
        assert_eq!(m.buyback_epoch_budget, pool * u64::from(row(r).buyback_budget_bps) / 10_000, "{r:?}");
        assert_exit_penalty(&mut fx, r).await;
    }
}

#[tokio::test]
async fn samples_closer_than_the_minimum_interval_are_refused() {
    let mut v = VolFixture::new().await;
    let crank = v.crank_ix();
    v.fx.rt.send(std::slice::from_ref(&crank), &[]).await.unwrap();
    v.fx.rt.advance(59);
    v.publish(v.price);
    assert_error(v.fx.rt.send(std::slice::from_ref(&crank), &[]).await, BallastError::SampleTooSoon);
    v.fx.rt.advance(1);
    v.publish(v.price);
    v.fx.rt.send(&[crank], &[]).await.unwrap();
}

#[tokio::test]
async fn a_stale_uncertain_or_forged_native_feed_is_not_sampled() {
    let mut v = VolFixture::new().await;
    let native = v.fx.rt.native();
    v.fx.rt.advance(61);
    assert_error(v.fx.rt.send(&[v.crank_ix()], &[]).await, BallastError::OracleStale);

    let now = v.fx.rt.now;
    let wide = PythPrice { conf: NATIVE_PRICE as u64 / 10, ..PythPrice::steady(NATIVE_PRICE, EXPO, now) };
    v.fx.rt.set_price(&native.oracle, &wide);
    assert_error(v.fx.rt.send(&[v.crank_ix()], &[]).await, BallastError::OracleTooUncertain);

    // Another feed, however fresh, is not the native token's.
    let usdc_oracle = v.fx.usdc.oracle;
    v.fx.refresh_prices(SOL_PRICE).await;
    let forged = ix::update_volatility(native.mint, usdc_oracle);
    assert_error(v.fx.rt.send(&[forged], &[]).await, BallastError::WrongOracle);
    assert_eq!(v.protocol().await.volatility.last_sample_ts, 0);
}

/// The pool accounts are pinned: a foreign reward vault or mint is refused.
#[tokio::test]
async fn forged_pool_accounts_are_refused() {
    let mut v = VolFixture::new().await;
    let native = v.fx.rt.native();
    let fake_mint = v.fx.usdc.mint;
    let forged = ix::update_volatility(fake_mint, native.oracle);
    assert_error(v.fx.rt.send(&[forged], &[]).await, BallastError::WrongMint);
}

/// Writes `r` into a market's regime byte directly (the path test shows how sampling
/// gets there).
async fn force_market_regime(fx: &mut Fixture, market: &Pubkey, r: Regime) {
    let mut account = fx.rt.raw_account(market).await.unwrap();
    let mut m: Market = *bytemuck::from_bytes(&account.data[8..]);
    m.volatility.regime = r as u8;
    m.volatility.regime_entered_at = fx.rt.now;
    account.data[8..].copy_from_slice(bytemuck::bytes_of(&m));
    fx.rt.set_raw_account(market, account.owner, account.data);
}

/// Health uses the ramped multipliers: a market's collateral counts for less and its
/// debt for more as the ramp runs; other markets never move.
#[tokio::test]
async fn a_market_regime_ramps_both_weights() {
    let mut v = VolFixture::new().await;
    let now = v.fx.rt.now;
    let m = v.market().await;
    assert_eq!(m.weights_at(now), m.config.weights());
    let key = v.native_market.key;
    force_market_regime(&mut v.fx, &key, Crisis).await;
    // Any sample now retargets the ramps to Crisis' 70% / 110%.
    let refresh = v.refresh_ix();
    v.fx.rt.send(&[refresh], &[]).await.unwrap();
    let m = v.market().await;
    let w = m.config.weights();
    assert_eq!(m.weights_at(now), w);
    let half = m.weights_at(now + RAMP / 2);
    assert_eq!(half.init_asset_bps, w.init_asset_bps * 85 / 100);
    assert_eq!(half.maint_liability_bps, w.maint_liability_bps * 105 / 100);
    let done = m.weights_at(now + RAMP);
    assert_eq!((done.init_asset_bps, done.maint_asset_bps), (w.init_asset_bps * 7 / 10, w.maint_asset_bps * 7 / 10));
    assert_eq!(done.init_liability_bps, w.init_liability_bps * 11 / 10);
    assert_eq!(done.maint_liability_bps, w.maint_liability_bps * 11 / 10);
    // Other markets never move; the native token's regime does not touch its market.
    let usdc = v.fx.rt.market(&v.fx.usdc.key).await;
    assert_eq!(usdc.weights_at(now + RAMP), usdc.config.weights());
    force_regime(&mut v.fx, Calm).await;
    assert_eq!(v.market().await.asset_multiplier.to_bps, 7_000);
}

/// The crank must see a crash: a fresh, tight price 40% below the feed's own (lagging)
/// EMA is sampled, not refused as "too volatile" (a borrow on it still is), and the
/// regime rises at once.
#[tokio::test]
async fn a_fresh_price_far_below_its_ema_is_sampled_and_the_regime_rises() {
    let mut v = VolFixture::new().await;
    for i in 0..6 {
        assert_eq!(v.step(wiggle(i, 10, 3)).await.regime, Calm);
    }
    v.fx.rt.advance(STEP);
    let (before, crash, now) = (v.price, v.price * 6 / 10, v.fx.rt.now);
    let crashed = PythPrice { ema_price: before, ..PythPrice::steady(crash, EXPO, now) };
    let native = v.fx.rt.native().oracle;
    v.fx.rt.set_price(&native, &crashed);
    v.fx.rt.send(&[v.crank_ix()], &[]).await.unwrap();
    let p = v.protocol().await;
    assert!(regime(&p) > Calm, "regime after a 40% crash: {:?}", regime(&p));
    assert!(p.volatility.drawdown_bps >= 3_900, "drawdown {}", p.volatility.drawdown_bps);
    assert_eq!(p.volatility.last_sample_ts, now);
    // A withdrawal priced by the same native price is still refused: the native market's
    // feed carries the same lagging EMA.
    let oracle = v.native_market.oracle;
    v.fx.rt.set_price(&oracle, &crashed);
    let t = v.fx.trader(0, 0).await;
    let on_native = ix::MarketTransfer {
        owner: t.key.pubkey(),
        margin_account: t.margin_account,
        market: v.native_market.key,
        user_token: v.fx.rt.funded_token_account(&v.fx.native_mint, &t.key.pubkey(), 100 * NATIVE).await,
    };
    v.fx.rt.send(&[ix::deposit(&on_native, 100 * NATIVE)], &[&t.key]).await.unwrap();
    let health = v.fx.rt.health_accounts(&t.margin_account, BalanceChange::None).await;
    let withdraw = ix::withdraw(&on_native, NATIVE, false, &health);
    assert_error(v.fx.rt.send(&[withdraw], &[&t.key]).await, BallastError::OracleTooVolatile);
}
