//! `sim`: the stress simulation of Ballast on the embedded runtime, then the price-pump
//! attackers, with a report.
//!
//! Exit codes: 0 when every invariant held, 1 when one broke (or the run failed),
//! 2 for bad flags, a bad price file or an unusable report directory.

use std::path::PathBuf;
use std::process::ExitCode;

use ballast_sim::attack;
use ballast_sim::batch::{self, BatchSpec, Interpolate, OracleFormat, Scenario, Shard};
use ballast_sim::paths::{MAX_DAYS, MIN_DAYS};
use ballast_sim::stress::{self, SimOutcome, MIN_AGENTS};
use ballast_sim::sweep::{self, Sweep};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// Runs the real Ballast program in-process through a market stress scenario with
/// lenders, leveraged traders, stakers and keepers, then four price-pump attackers on a
/// thin collateral (slow and fast, the new defences off and on), and writes a report
/// (summary.md and SVG plots). Exits 1 if an invariant broke (vault balances, supply
/// accounting).
///
/// With --runs, --sweep or --shard(s): a batch of stress runs (no attackers), one per
/// seed and sweep point, in parallel, with a report of their distributions.
#[derive(Parser, Debug)]
#[command(
    name = "sim",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "CSV files hold `timestamp,price[,published]` rows: unix seconds or milliseconds, or \
ISO-8601 UTC (strictly increasing), a positive USD price and, optionally, whether the feed published (1/0), \
with an optional header naming the columns (timestamp|time|date, price|close, published). Rows are \
interpolated hourly. Outages come from the data: where `published` is 0, else gaps between rows longer than \
--outage-gap (default: three times the file's median row spacing, at least 6 hours).

Sweep names are the fields of MarketConfig and ProtocolConfig in idl/ballast.json: `market.F` sets F in \
every market (USDC, SOL, BAL), `SOL.F` (or USDC., BAL.) in one, `protocol.F` in the protocol's config; a bare \
F when only one config has it. Nested fields and lists as in the IDL: `market.breakers.outflow_max_bps`, \
`protocol.regimes[3].premium_cap_bps`. Several --sweep flags run every combination."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Price path: `default` (calm, a crash of more than 50% with an oracle outage,
    /// recovery), `synthetic` (seeded regime-switching with jumps) or `csv:PATH`.
    #[arg(long, default_value = "default", value_name = "default|synthetic|csv:PATH")]
    scenario: String,
    /// Seed of the path's noise and of the agents (the first seed of a batch).
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
    /// Monte Carlo: run the seeds --seed, --seed+1, ... (this many, at every sweep point)
    /// and report the distribution of bad debt, liquidations, insurance and supply.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    runs: u64,
    /// Sweep a config field over values (repeatable: every combination runs); see below.
    #[arg(long, value_name = "NAME=V1,V2,...", value_parser = sweep::parse_sweep)]
    sweep: Vec<Sweep>,
    /// Run only shard I of N (0-based) of the batch's runs, for `sim merge` to combine.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, conflicts_with = "shards")]
    shard: Option<Shard>,
    /// Run one of N shards, its index I from JOB_COMPLETION_INDEX (a Kubernetes Indexed
    /// Job) or SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN (a Slurm job array).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    shards: Option<u32>,
    /// Runs of a batch at once, each on its own thread [default: the machine's cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_024))]
    jobs: Option<u32>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Combines the results of a sharded batch (the shards' --out directories) into its
    /// report: the same report one machine running the whole batch writes.
    Merge {
        /// Directory the combined report is written to (each run's directory is copied
        /// into its runs/).
        #[arg(long, default_value = "sim-report")]
        out: PathBuf,
        /// The shards' output directories (searched for runs' result.json files).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
}

impl Cli {
    fn scenario(&self) -> Scenario {
        Scenario {
            scenario: self.scenario.clone(),
            days: self.days,
            agents: self.agents,
            outage_gap_hours: self.outage_gap,
            interpolate: self.interpolate,
            oracle: self.oracle,
        }
    }

    fn is_batch(&self) -> bool {
        self.runs > 1 || !self.sweep.is_empty() || self.shard.is_some() || self.shards.is_some()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Merge { out, dirs }) = &cli.command {
        return merge(dirs, out);
    }
    // Before any run: a bad price file or an unusable --out should not cost a simulation.
    let config = match cli.scenario().config(cli.seed) {
        Ok(config) => config,
        Err(e) => return usage_error(&e),
    };
    let batch = match batch_plan(&cli) {
        Ok(batch) => batch,
        Err(e) => return usage_error(&e),
    };
    if let Err(e) = std::fs::create_dir_all(&cli.out) {
        return usage_error(&format!("cannot create the report directory {}: {e}", cli.out.display()));
    }
    if let Some((spec, shard)) = batch {
        return run_batch(&cli, &spec, shard);
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(single_run(&cli, config))
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// One run with the attackers and its full report: `sim` without batch flags.
async fn single_run(cli: &Cli, config: stress::SimConfig) -> ExitCode {
    let path = &config.path;
    println!("{}: {} hourly steps, {} agents, seed {}", path.label, path.steps(), cli.agents, cli.seed);
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
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

/// The batch the flags ask for (`--runs`, `--sweep`, `--shard(s)`), if any, and this
/// machine's shard of it.
fn batch_plan(cli: &Cli) -> Result<Option<(BatchSpec, Option<Shard>)>, String> {
    if !cli.is_batch() {
        return Ok(None);
    }
    let shard = match (cli.shard, cli.shards) {
        (Some(shard), _) => Some(shard),
        (None, Some(count)) => Some(Shard::from_env(count, |name| std::env::var(name).ok())?),
        (None, None) => None,
    };
    let spec = BatchSpec::new(cli.scenario(), cli.seed, cli.runs, &cli.sweep)?;
    // The last seed's path too: the paths differ by seed.
    spec.scenario.path(cli.seed + cli.runs - 1)?;
    Ok(Some((spec, shard)))
}

/// The batch, and its report unless sharded.
fn run_batch(cli: &Cli, spec: &BatchSpec, shard: Option<Shard>) -> ExitCode {
    let points = sweep::changes_grid(&cli.sweep);
    let jobs = spec.jobs();
    let mine = jobs.iter().filter(|j| shard.is_none_or(|s| s.owns(j))).count();
    let threads = cli.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |n| n as usize);
    println!(
        "{} runs ({} seeds from {} at {} point{}){}, {} at a time: {}, {} agents",
        jobs.len(),
        cli.runs,
        cli.seed,
        points.len(),
        if points.len() == 1 { "" } else { "s" },
        shard.map(|s| format!("; shard {}/{} runs {mine} of them", s.index, s.count)).unwrap_or_default(),
        threads.min(mine.max(1)),
        cli.scenario,
        cli.agents
    );
    let muted = MutedStdout::new();
    // The program validates every point's configs once, before any run.
    if let Err(e) = batch::check_points(&points, cli.oracle.kind()) {
        drop(muted);
        return usage_error(&e);
    }
    let started = std::time::Instant::now();
    let end = batch::run(spec, &cli.sweep, shard, threads, &cli.out);
    drop(muted);
    let end = match end {
        Ok(end) => end,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    println!("{} runs in {secs:.1} s: {:.2} runs per minute", end.runs, end.runs as f64 * 60.0 / secs.max(1e-9));
    match shard {
        Some(s) => println!(
            "shard {}/{}: results under {}; combine every shard's with `sim merge --out DIR SHARD_DIR...`",
            s.index,
            s.count,
            cli.out.join("runs").display()
        ),
        None => println!("report: {}", cli.out.join("summary.md").display()),
    }
    batch_exit(&end)
}

fn merge(dirs: &[PathBuf], out: &std::path::Path) -> ExitCode {
    match batch::merge(dirs, out) {
        Ok(end) => {
            println!("{} runs merged; report: {}", end.runs, out.join("summary.md").display());
            batch_exit(&end)
        }
        Err(e) => usage_error(&e),
    }
}

/// 0 when every run completed with its invariants held, else 1.
fn batch_exit(end: &batch::BatchEnd) -> ExitCode {
    if end.all_held() {
        println!("invariants: all held in every run");
        return ExitCode::SUCCESS;
    }
    eprintln!("{} runs failed, {} broke an invariant: see the report", end.failed, end.broken_invariants);
    ExitCode::FAILURE
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
