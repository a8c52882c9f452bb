//! The CLI's read views (`ballast-cli show ...`) against the program: an account's health
//! is the program's cached health, its liquidation price is where the keeper's scan
//! (priced as the program prices) finds maintenance health crossing zero, a market's
//! books are the market's, and the gates the CLI parses run on the program.

use anchor_lang::prelude::Pubkey;
use ballast_cli::show::{account_view, gate_mask, market_view, protocol_view, stake_view, table};
use ballast_risk::gates;
use ballast_sim::ix;
use ballast_sim::keeper::snapshot_markets;
use ballast_sim::runtime::Runtime;
use ballast_tests::attack::maint_health;
use ballast_tests::*;
use solana_signer::Signer;

async fn markets(rt: &mut Runtime) -> Vec<(Pubkey, ballast::Market, ballast_risk::oracle::OracleReading)> {
    snapshot_markets(rt).await.into_iter().map(|s| (s.key, s.market, s.reading)).collect()
}

#[tokio::test]
async fn cli_views_read_what_the_program_computed() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let (_, b) = fx.lender_and_borrower(100_000 * USDC, 10 * SOL, 600 * USDC).await;

    // The account, in the second the program cached its health.
    let account = fx.rt.margin_account(&b.margin_account).await;
    let all = markets(&mut fx.rt).await;
    let view = account_view(&b.margin_account, &account, &all, fx.rt.now).unwrap();
    let wad = ballast_risk::WAD as f64;
    assert_eq!(view.maint_health_usd, account.cached_maint_health.get() as f64 / wad);
    assert_eq!(view.init_health_usd, account.cached_init_health.get() as f64 / wad);
    assert!(!view.liquidatable && view.health_ratio.is_some_and(|r| r > 1.0));
    let sol_balance = view.balances.iter().find(|x| x.index == sol.index).unwrap();
    assert_eq!((sol_balance.deposit, sol_balance.debt), (10.0, 0.0));
    assert!(view.balances.iter().any(|x| x.index == usdc.index && x.debt == 600.0));
    // 10 SOL x p x 90% (less the confidence) against 600 USDC x 110%: about $73.4.
    let at = sol_balance.liquidation_price.unwrap();
    assert!((73.0..74.0).contains(&at), "liquidation price {at}");
    // A cent below it the account is liquidatable, a cent above it is not.
    for (price, liquidatable) in [(at - 0.01, true), (at + 0.01, false)] {
        fx.rt.advance(1);
        fx.refresh_prices((price * USD as f64) as i64).await;
        let maint = maint_health(&mut fx.rt, &b.margin_account).await.unwrap();
        assert_eq!(maint < 0, liquidatable, "at ${price:.2}: maintenance health {maint}");
    }

    // The USDC market's books.
    let all = markets(&mut fx.rt).await;
    let (key, market, reading) = all.iter().find(|(k, _, _)| *k == usdc.key).unwrap();
    let m = market_view(key, market, Some(reading), fx.rt.now);
    assert!((m.deposits - 100_000.0).abs() < 0.01 && (m.borrows - 600.0).abs() < 0.01, "{m:?}");
    assert!((m.utilisation_pct - 0.6).abs() < 0.001 && m.borrow_apr_pct > 1.0);
    assert_eq!((m.oracle_problem.as_deref(), m.regime.as_str(), m.reduce_only), (None, "Calm", false));
    assert!(table(&m).contains("borrow_apr_pct"));

    // Gates by name, as `ballast-cli set-gates --pause` builds them, run on the program.
    let admin = fx.rt.admin.insecure_clone();
    let mask = gate_mask("borrow, withdraw").unwrap();
    fx.rt.send(&[ix::set_gates(admin.pubkey(), mask)], &[&admin]).await.unwrap();
    let p = protocol_view(&ix::protocol_pda(), &fx.rt.protocol().await, fx.rt.now);
    assert_eq!(p.admin_gates, ["withdraw", "borrow"]);
    assert_eq!(gate_mask("repay").map(gates::repay_without_liquidate), Ok(true));
}

/// `show stake`: the weight now is what a poke then stores, and the penalty now is what
/// leaving then burns.
#[tokio::test]
async fn the_stake_view_reads_what_a_poke_stores_and_an_exit_burns() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000_000_000).await;
    fx.rt.send(&[s.ix.stake(1_000_000_000, 200 * 86_400)], &[&s.key]).await.unwrap();
    fx.rt.advance(50 * 86_400 + 7);
    let escrow_key = ix::stake_escrow_pda(&s.key.pubkey());
    let escrow = fx.rt.stake_escrow(&s.key.pubkey()).await;
    let view = stake_view(&escrow_key, &escrow, &fx.rt.protocol().await, fx.rt.now).unwrap();
    assert!(view.weight_now < view.checkpointed_weight, "decayed since the stake: {view:?}");
    fx.rt.send(&[ix::poke_stake(escrow_key)], &[]).await.unwrap();
    assert_eq!(fx.rt.stake_escrow(&s.key.pubkey()).await.weight.get(), view.weight_now);
    let burned_before = fx.rt.protocol().await.total_burned;
    fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await.unwrap();
    assert_eq!(fx.rt.protocol().await.total_burned - burned_before, view.exit_penalty_now);
    assert!(table(&view).contains("weight_now"));
}
