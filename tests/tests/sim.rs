//! The main job: a small stress run on the default path (calm, a crash of 60% with an
//! oracle outage, recovery) keeps its books, liquidates on the crash, refuses
//! risk-increasing actions on the stale oracle, and writes every report file.

use ballast::OracleKind;
use ballast_sim::attack::{self, Defences, Pump};
use ballast_sim::paths;
use ballast_sim::report::{self, PLOTS};
use ballast_sim::stress::{self, ProgressBar, SimConfig};

#[tokio::test]
async fn small_stress_run_balances_liquidates_and_reports() {
    let path = paths::default_stress(3, 7);
    let crash_start = path.steps() * 35 / 100;
    let outage = path.outages[0].clone();
    let config = SimConfig { path, seed: 7, agents: 40, oracle_kind: OracleKind::PythPriceUpdateV2 };
    let outcome = stress::run(config, &ProgressBar::hidden()).await.expect("the simulation runs");
    assert_eq!(outcome.protocol.native_oracle.kind().unwrap(), OracleKind::PythPriceUpdateV2);
    assert!(outcome.markets.iter().all(|(_, m, _)| m.oracle.kind().unwrap() == OracleKind::PythPriceUpdateV2));

    assert!(outcome.violations.is_empty(), "invariants broke: {:?}", outcome.violations);
    assert_eq!(outcome.tally.failed_total(), 0, "unexpected failures: {:?}", outcome.tally.failed);
    assert_eq!(outcome.roles.values().sum::<usize>(), 40);
    assert_eq!(outcome.timeline.day.len(), 72);

    // Liquidations, all of them on or after the crash, and the keeper's count agrees
    // with the transactions the program accepted.
    assert!(outcome.liquidations > 0, "nobody was liquidated in a 60% crash");
    assert_eq!(outcome.tally.ok("liquidate"), outcome.liquidations);
    assert_eq!(outcome.liquidations_by_collateral.iter().sum::<u64>(), outcome.liquidations);
    let first = outcome.timeline.liquidations.iter().position(|&n| n > 0).expect("liquidations recorded");
    assert!(first > crash_start, "first liquidation at step {first}, before the crash at {crash_start}");

    // The oracle outage: the feeds stop, risk-increasing actions are refused as stale,
    // while liquidations in its first hour still pass the looser liquidation age.
    assert!(outage.clone().all(|step| outcome.timeline.outage[step]));
    let stale = outcome.tally.refused("borrow", "OracleStale") + outcome.tally.refused("withdraw", "OracleStale");
    assert!(stale > 0, "no stale-oracle refusals: {:?}", outcome.tally.refused);
    assert!(outcome.outage_liquidations > 0, "no liquidation on the last price before the outage");
    // Any account the gap leaves with debt and no collateral is written off: by the
    // liquidation that takes its last collateral, or by the keeper. (Per-market regimes
    // now tighten SOL's weights as the crash starts, so on this short path the
    // liquidations close every account before the gap.)
    let write_offs = outcome.tally.ok("resolve_bad_debt") + outcome.liquidation_write_offs;
    assert_eq!(write_offs > 0, outcome.bad_debt_usd > 0.0);

    // Keepers refreshed every hour, swept fees every six and stakers claimed.
    assert_eq!(outcome.tally.ok("refresh_market"), 72);
    assert!(outcome.tally.ok("sweep_fees") > 0);
    assert!(outcome.tally.ok("setup") == 40 && outcome.tally.ok("open") == 40);
    assert!(outcome.protocol.total_emitted > 0);
    assert!(outcome.transactions >= outcome.tally.ok.values().sum::<u64>() + outcome.tally.refused_total());

    // The `sim` binary adds the attackers' runs; one of them here (they have their own
    // tests in pump.rs).
    let mut outcome = outcome;
    outcome.attacks = vec![attack::run(Pump::Fast, Defences::On).await.expect("the attack runs")];

    let dir = std::env::temp_dir().join(format!("ballast-sim-report-{}", std::process::id()));
    let files = report::write(&dir, &outcome).expect("the report is written");
    // The plots, the timeline's CSV and the summary.
    assert_eq!(files.len(), PLOTS.len() + 2);
    for file in &files {
        assert!(std::fs::metadata(file).expect("written").len() > 0, "{} is empty", file.display());
    }
    let csv = std::fs::read_to_string(dir.join("timeline.csv")).expect("timeline exists");
    assert_eq!(csv.lines().count(), 1 + 72);
    for (file, _) in PLOTS {
        let text = std::fs::read_to_string(dir.join(file)).expect("plot exists");
        assert!(text.starts_with("<svg") && text.len() > 1_000, "{file} is not a drawn SVG");
    }
    let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary exists");
    assert!(summary.contains("Invariants held") && summary.contains("tx/s"));
    assert!(summary.contains("Pyth feeds (PriceUpdateV2 push feeds"), "the default run's feeds are mainnet's format");
    for (file, _) in PLOTS {
        assert!(summary.contains(file), "summary links {file}");
    }
    // The attackers: a row per run, and their debt drawn.
    assert!(summary.contains("## Attackers") && summary.contains("| fast pump | on | $"), "{summary}");
    assert!(std::fs::read_to_string(dir.join("attack.svg")).unwrap().contains("fast pump, defences on: debt"));
    // The program's regime and breakers, read from its state, are drawn and summarised.
    assert!(summary.contains("## Program risk state") && summary.contains("samples taken"));
    assert!(std::fs::read_to_string(dir.join("volatility.svg")).unwrap().contains("BAL: the program"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The invariants the simulator exits non-zero on do catch a break: a vault holding
/// one unit less than its books, and a native supply that no longer matches genesis +
/// emitted − burned.
#[tokio::test]
async fn invariant_check_catches_a_short_vault_and_a_supply_mismatch() {
    use anchor_spl::token::spl_token;
    use ballast_sim::invariants;
    use ballast_tests::attack::{mint_bytes, token_account_bytes};
    use ballast_tests::Fixture;

    let mut fx = Fixture::new().await;
    fx.borrow_usdc_at_the_kink().await;
    let names = ["USDC", "SOL"];
    assert_eq!(invariants::violations(&mut fx.rt, &names).await, Vec::<String>::new());

    let usdc = fx.usdc;
    let held = fx.rt.token_balance(&usdc.vault).await;
    fx.rt.set_raw_account(&usdc.vault, spl_token::ID, token_account_bytes(&usdc.mint, &usdc.key, held - 1));
    let broken = invariants::violations(&mut fx.rt, &names).await;
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].starts_with("USDC vault holds"), "{broken:?}");

    let native = fx.rt.native();
    let authority = Some(ballast_sim::ix::protocol_pda());
    fx.rt.set_raw_account(&native.mint, spl_token::ID, mint_bytes(native.decimals, authority, None));
    let broken = invariants::violations(&mut fx.rt, &names).await;
    assert!(broken.iter().any(|v| v.starts_with("native supply 0 != genesis")), "{broken:?}");
}

/// The volatility keeper samples the native feed every hour with the keeper library's
/// planner and the program's state drives the report. On a path with one -25% hour and
/// a four-hour oracle outage: SOL's price-move guard trips in that hour (the market goes
/// reduce-only for its cooldown); the program's estimate for the native token (which
/// moves at 0.7 of SOL's log return) jumps and the regime rises to Stressed or worse;
/// while the feed is dark, or too uncertain after the jump, the keeper holds back
/// instead of sending a transaction the program would refuse.
#[tokio::test]
async fn the_volatility_keeper_and_the_breakers_follow_a_crash() {
    use ballast_risk::regime::Regime;
    use ballast_sim::paths::PricePath;

    const JUMP: usize = 24;
    // Small alternating moves keep the feeds' confidence narrow outside the jump.
    let returns: Vec<f64> =
        (1..48).map(|h| if h == JUMP { 0.75f64.ln() } else { 0.002 * (-1f64).powi(h as i32) }).collect();
    let outage = 30..34;
    let path = PricePath::from_log_returns("one -25% hour".into(), 100.0, &returns, vec![outage.clone()]);
    // Legacy feeds stay selectable: this run prices with them.
    let config = SimConfig { path, seed: 5, agents: 40, oracle_kind: OracleKind::PythLegacy };
    let outcome = stress::run(config, &ProgressBar::hidden()).await.expect("the simulation runs");
    assert!(outcome.markets.iter().all(|(_, m, _)| m.oracle.kind().unwrap() == OracleKind::PythLegacy));
    assert_eq!(outcome.tally.failed_total(), 0, "unexpected failures: {:?}", outcome.tally.failed);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);

    let sampled = outcome.tally.ok("update_volatility");
    let held = |reason: &str| outcome.tally.held_back.get(&("update_volatility", reason.to_string())).copied();
    assert!((40..=48).contains(&sampled), "{sampled} samples in 48 hours");
    // Every hour of the outage, at +5 s and again at +600 s.
    assert!(held("OracleStale") >= Some(2 * outage.len() as u64), "{:?}", outcome.tally.held_back);
    assert!(outcome.tally.refused.keys().all(|(action, _)| *action != "update_volatility"));

    let t = &outcome.timeline;
    let day = |step: usize| step as f64 / 24.0;
    // The guard trips once, in the jump's hour (SOL's market only: the native token
    // moved less than the guard's 20%); the outflow limiter's trips are the hours it
    // refused withdrawals or borrows (the lenders' run after the jump).
    let guards: Vec<&(f64, String)> = t.breaker_trips.iter().filter(|(_, b)| b.ends_with("price-move guard")).collect();
    assert_eq!(guards, vec![&(day(JUMP), "SOL price-move guard".to_string())], "{:?}", t.breaker_trips);
    let limited = ["withdraw", "borrow"].map(|a| outcome.tally.refused(a, "OutflowLimitExceeded")).iter().sum::<u64>();
    assert_eq!(t.breaker_trips.iter().any(|(_, b)| b.ends_with("outflow limiter")), limited > 0);
    assert_eq!(t.regimes[0], (0.0, Regime::Calm));
    let (entered, worst) = t.regimes.iter().copied().max_by_key(|(_, r)| *r).expect("a regime");
    assert!(worst >= Regime::Stressed && entered >= day(JUMP), "{:?}", t.regimes);
    assert!(t.program_vol[JUMP - 1] < 80.0 && t.program_vol.iter().any(|v| *v > 120.0), "{:?}", t.program_vol);
    assert_eq!(outcome.protocol.volatility.regime, t.regimes.last().unwrap().1 as u8);
    // The regime's cut to BAL's collateral weights ramps in after the jump, not before.
    let multiplier = &t.native_weight_multiplier;
    assert!(multiplier[..JUMP].iter().all(|m| *m == 100.0) && multiplier[JUMP..].iter().any(|m| *m < 100.0));

    let dir = std::env::temp_dir().join(format!("ballast-sim-regimes-{}", std::process::id()));
    report::write(&dir, &outcome).expect("the report is written");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).expect("written");
    assert!(read("summary.md").contains(&format!("{worst:?} from day")));
    assert!(read("summary.md").contains("Pyth feeds (legacy price accounts)"));
    assert!(read("summary.md").contains("SOL price-move guard 1 × (first on day 1.0)"));
    assert!(read("volatility.svg").contains("SOL price-move guard"));
    assert!(read("timeline.csv").lines().nth(1).unwrap().contains(",Calm,"));
    std::fs::remove_dir_all(&dir).ok();
}
