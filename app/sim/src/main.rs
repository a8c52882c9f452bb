//! `sim`: the stress simulation of Ballast on the embedded runtime, then the price-pump
//! attackers, with a report.
//!
//! Exit codes: 0 when every invariant held, 1 when one broke (or the run failed),
//! 2 for bad flags, a bad price file or an unusable report directory.

use std::path::PathBuf;
use std::process::ExitCode;

use ballast::OracleKind;
use ballast_sim::attack;
use ballast_sim::paths::{self, CsvOptions, Interpolation, PricePath, DEFAULT_DAYS, MAX_DAYS, MIN_DAYS};
use ballast_sim::stress::{self, SimConfig, SimOutcome, MIN_AGENTS};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Runs the real Ballast program in-process through a market stress scenario with
/// lenders, leveraged traders, stakers and keepers, then four price-pump attackers on a
/// thin collateral (slow and fast, the new defences off and on), and writes a report
/// (summary.md and SVG plots). Exits 1 if an invariant broke (vault balances, supply
/// accounting).
#[derive(Parser, Debug)]
#[command(
    name = "sim",
    version,
    after_help = "CSV files hold `timestamp,price[,published]` rows: unix seconds or milliseconds, or \
ISO-8601 UTC (strictly increasing), a positive USD price and, optionally, whether the feed published (1/0), \
with an optional header naming the columns (timestamp|time|date, price|close, published). Rows are \
interpolated hourly. Outages come from the data: where `published` is 0, else gaps between rows longer than \
--outage-gap (default: three times the file's median row spacing, at least 6 hours)."
)]
struct Cli {
    /// Price path: `default` (calm, a crash of more than 50% with an oracle outage,
    /// recovery), `synthetic` (seeded regime-switching with jumps) or `csv:PATH`.
    #[arg(long, default_value = "default", value_name = "default|synthetic|csv:PATH")]
    scenario: String,
    /// Seed of the path's noise and of the agents.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Lenders, traders and stakers (keepers come on top).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(MIN_AGENTS as u64..=100_000))]
    agents: u64,
    /// Length of the default or synthetic path in days [default: 30]; truncates a CSV path.
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_DAYS)..=i64::from(MAX_DAYS)))]
    days: Option<u32>,
    /// Directory the report is written to.
    #[arg(long, default_value = "sim-report")]
    out: PathBuf,
    /// For a CSV without a `published` column: a gap between rows longer than this many
    /// hours is an oracle outage [default: three times the median row spacing, at least 6].
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u32).range(1..=87_840))]
    outage_gap: Option<u32>,
    /// For a CSV: how prices between rows are filled in hourly: `linear`, or `bridge` (a
    /// Brownian bridge seeded by --seed, at the volatility the rows themselves show).
    #[arg(long, value_enum, default_value_t = Interpolate::Linear)]
    interpolate: Interpolate,
    /// Format of the Pyth feeds: PriceUpdateV2 push feeds (what Pyth publishes on Solana
    /// today) or legacy price accounts.
    #[arg(long, value_enum, default_value_t = OracleFormat::PriceUpdateV2)]
    oracle: OracleFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Interpolate {
    Linear,
    Bridge,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OracleFormat {
    PriceUpdateV2,
    Legacy,
}

impl OracleFormat {
    fn kind(self) -> OracleKind {
        match self {
            OracleFormat::PriceUpdateV2 => OracleKind::PythPriceUpdateV2,
            OracleFormat::Legacy => OracleKind::PythLegacy,
        }
    }
}

fn price_path(cli: &Cli) -> Result<PricePath, String> {
    let days = cli.days.unwrap_or(DEFAULT_DAYS);
    match cli.scenario.as_str() {
        "default" => Ok(paths::default_stress(days, cli.seed)),
        "synthetic" => Ok(paths::synthetic(days, cli.seed)),
        other => {
            let Some(file) = other.strip_prefix("csv:").filter(|f| !f.is_empty()) else {
                return Err(format!("unknown scenario {other:?}: expected default, synthetic or csv:PATH"));
            };
            let interpolation = match cli.interpolate {
                Interpolate::Linear => Interpolation::Linear,
                Interpolate::Bridge => Interpolation::Bridge { seed: cli.seed },
            };
            let options = CsvOptions { outage_gap_secs: cli.outage_gap.map(|h| i64::from(h) * 3_600), interpolation };
            let mut path = paths::load_csv(file.as_ref(), &options).map_err(|e| format!("{file}: {e}"))?;
            if let Some(days) = cli.days {
                path.truncate(days as usize * 24);
            }
            Ok(path)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = match price_path(&cli) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Before the run, not after it: an unusable --out should not cost a whole simulation.
    if let Err(e) = std::fs::create_dir_all(&cli.out) {
        eprintln!("error: cannot create the report directory {}: {e}", cli.out.display());
        return ExitCode::from(2);
    }
    println!("{}: {} hourly steps, {} agents, seed {}", path.label, path.steps(), cli.agents, cli.seed);
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let config = SimConfig { path, seed: cli.seed, agents: cli.agents as usize, oracle_kind: cli.oracle.kind() };
    let muted = MutedStdout::new();
    let outcome = stress::run(config, &progress).await;
    let attacks = match outcome {
        Ok(_) => {
            // The price-pump attackers, each on a fresh protocol (slow and fast, each with
            // the new defences off and on).
            let spinner = ProgressBar::new_spinner();
            spinner.set_message("attackers: slow and fast pumps, defences off and on");
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            let attacks = attack::run_all().await;
            spinner.finish_and_clear();
            attacks
        }
        Err(_) => Ok(Vec::new()),
    };
    drop(muted);
    let outcome = match (outcome, attacks) {
        (Ok(outcome), Ok(attacks)) => SimOutcome { attacks, ..outcome },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match ballast_sim::report::write(&cli.out, &outcome) {
        Ok(files) => println!("report: {} ({} files)", cli.out.join("summary.md").display(), files.len()),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "{} transactions in {:.1} s: {:.0} tx/s; {} liquidations, bad debt ${:.0}, {} refused as expected, {} unexpected failures",
        outcome.transactions,
        outcome.wall_secs,
        outcome.tx_per_sec(),
        outcome.liquidations,
        outcome.bad_debt_usd,
        outcome.tally.refused_total(),
        outcome.tally.failed_total()
    );
    for (action, reason) in outcome.tally.failed.keys() {
        eprintln!("warning: unexpected failures of {action}: {reason}");
    }
    for a in &outcome.attacks {
        println!(
            "attacker, {}, defences {}: borrowed ${:.0}, extracted ${:.0} (bad debt ${:.0}); refused: {}",
            a.name,
            a.defences.label(),
            a.borrowed_usd,
            a.extracted_usd,
            a.bad_debt_usd,
            a.refusals_text()
        );
        for (what, n) in &a.failures {
            eprintln!(
                "warning: unexpected failures in the attack run ({}, defences {}): {n} × {what}",
                a.name,
                a.defences.label()
            );
        }
    }
    if outcome.violations.is_empty() {
        println!("invariants: all held");
        ExitCode::SUCCESS
    } else {
        for v in &outcome.violations {
            eprintln!("invariant broken: {v}");
        }
        ExitCode::FAILURE
    }
}

/// In a host build the program's `msg!` logs go straight to stdout: one line for every
/// transaction it refuses, thousands in a stressed run, which the simulator counts and
/// reports itself. Stdout points at /dev/null while the simulation runs (the progress bar
/// is on stderr) unless `BALLAST_SIM_PROGRAM_LOGS` is set.
struct MutedStdout {
    #[cfg(unix)]
    saved: Option<std::os::fd::OwnedFd>,
}

impl MutedStdout {
    fn new() -> MutedStdout {
        #[cfg(unix)]
        {
            use std::io::Write as _;
            use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
            if std::env::var_os("BALLAST_SIM_PROGRAM_LOGS").is_some() {
                return MutedStdout { saved: None };
            }
            let _ = std::io::stdout().flush();
            let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
                return MutedStdout { saved: None };
            };
            // SAFETY: plain descriptor calls on descriptors this process owns; `saved` takes
            // ownership of the duplicate and closes it when dropped.
            unsafe {
                let saved = libc::dup(libc::STDOUT_FILENO);
                if saved < 0 || libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) < 0 {
                    return MutedStdout { saved: (saved >= 0).then(|| OwnedFd::from_raw_fd(saved)) };
                }
                MutedStdout { saved: Some(OwnedFd::from_raw_fd(saved)) }
            }
        }
        #[cfg(not(unix))]
        MutedStdout {}
    }
}

impl Drop for MutedStdout {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved.take() {
            use std::io::Write as _;
            use std::os::fd::AsRawFd;
            let _ = std::io::stdout().flush();
            // SAFETY: restores the descriptor duplicated in `new`.
            unsafe {
                libc::dup2(saved.as_raw_fd(), libc::STDOUT_FILENO);
            }
        }
    }
}
