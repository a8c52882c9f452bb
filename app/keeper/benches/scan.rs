//! The keeper's scan: decode margin accounts from raw bytes (zero-copy) and compute
//! their health, over 100,000 synthetic accounts. Prints accounts per second.
//!
//! `cargo bench -p ballast-keeper --bench scan` (target: >= 2,000,000 accounts/s on one core).

use std::hint::black_box;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use ballast::{MarginAccount, Market, MarketConfig};
use ballast_client::decode;
use ballast_keeper::scan;
use ballast_risk::oracle::OracleReading;
use ballast_risk::regime::Regime;
use ballast_risk::WAD;

const ACCOUNTS: usize = 100_000;
const NOW: i64 = 1_750_000_000;

/// USDC ($1, 6 decimals), SOL ($100, 9 decimals), BAL ($0.50, 6 decimals), with a
/// year of unaccrued interest so the scan pays for accrual too, and every market's own
/// risk in play: regime multipliers half-way down their ramps, a stable price above the
/// oracle and a USD limit on the deposits counted at full initial weight.
fn markets() -> Vec<scan::MarketSnapshot> {
    [(6u8, 100_000_000i64), (9, 10_000_000_000), (6, 50_000_000)]
        .iter()
        .enumerate()
        .map(|(i, &(decimals, price))| {
            let mut market: Market = bytemuck::Zeroable::zeroed();
            market.market_index = i as u16;
            market.decimals = decimals;
            market.config = MarketConfig::conservative(u64::MAX, u64::MAX);
            market.deposit_index.set(WAD);
            market.borrow_index.set(WAD);
            market.total_deposit_shares.set(1_000_000_000_000_000);
            market.total_borrow_shares.set(500_000_000_000_000);
            market.last_accrual_ts = NOW - 365 * 86_400;
            market.settle_multipliers(Regime::Calm, NOW - 43_200);
            market.retarget_multipliers(Regime::Crisis, NOW - 43_200);
            let stable = u128::try_from(price).unwrap() * WAD / 100_000_000 / 10u128.pow(u32::from(decimals)) * 11 / 10;
            market.stable_price.stable_price.set(stable);
            market.config.limits.asset_value_init_limit_usd = 1_000_000;
            let reading =
                OracleReading { price, conf: price as u64 / 1_000, ema_price: price, expo: -8, publish_time: NOW };
            scan::MarketSnapshot { key: Pubkey::new_unique(), market, reading }
        })
        .collect()
}

/// Raw account bytes: SOL collateral against a USDC debt, some with BAL collateral too.
fn accounts() -> Vec<Vec<u8>> {
    (0..ACCOUNTS)
        .map(|i| {
            let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
            a.owner = Pubkey::new_from_array([(i % 251) as u8; 32]);
            let sol = 1_000_000_000 + (i as u128 % 1_000) * 10_000_000;
            let debt = (i as u128 % 97) * 1_000_000;
            a.balances[0] =
                ballast::Balance { market_index: 1, active: 1, deposit_shares: sol.into(), ..Default::default() };
            a.balances[1] =
                ballast::Balance { market_index: 0, active: 1, borrow_shares: debt.into(), ..Default::default() };
            if i % 3 == 0 {
                a.balances[2] = ballast::Balance {
                    market_index: 2,
                    active: 1,
                    deposit_shares: 5_000_000u128.into(),
                    ..Default::default()
                };
            }
            let mut bytes = MarginAccount::DISCRIMINATOR.to_vec();
            bytes.extend_from_slice(bytemuck::bytes_of(&a));
            bytes
        })
        .collect()
}

fn main() {
    let markets = markets();
    let accounts = accounts();
    let priced = scan::price_markets(&markets, NOW);
    assert_eq!(priced.len(), markets.len());
    for (p, m) in priced.iter().zip(&markets) {
        assert!(p.weights.maint_asset_bps < m.market.config.maint_asset_weight_bps, "mid-ramp");
        assert!(p.init_prices.liability > p.prices.liability, "held to the stable price");
    }

    let mut best = f64::MAX;
    let mut unhealthy = 0;
    for _ in 0..10 {
        let started = Instant::now();
        unhealthy = 0;
        for data in &accounts {
            let account = decode::margin_account(black_box(data)).expect("decodes");
            let health = scan::health(&account, &priced).expect("prices");
            if health.maint().unwrap() < 0 {
                unhealthy += 1;
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "scan: {ACCOUNTS} accounts ({unhealthy} unhealthy) in {:.2} ms (best of 10): {:.0} accounts/s on one core",
        best * 1e3,
        ACCOUNTS as f64 / best
    );
}
