//! Batches of stress runs: Monte Carlo over seeds (`--runs`), parameter sweeps
//! (`--sweep`), sharding across machines (`--shard`, `--shards`) and `sim merge`.
//!
//! A batch is a list of jobs, one per (grid point, seed), in a fixed order: grid points
//! in the order of [`crate::sweep::grid`], and within each point the seeds `seed`,
//! `seed + 1`, ... Shard `I` of `N` (0-based) runs the jobs whose index is `I` modulo
//! `N`. Every job writes its own report and a `result.json` with its metrics under
//! `OUT/runs/[POINT/]seed-S/`; the batch report (`summary.md`, `batch.json`, `runs.csv`
//! and plots) is built from those files alone, so `sim merge` of the shards' directories
//! writes exactly what one machine running the whole batch writes.
//!
//! Runs execute in parallel, each on its own thread with its own single-threaded tokio
//! runtime and program-test bank. A run depends only on its seed and config: the
//! simulated clock is set explicitly and every agent's keys come from the seed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ballast::OracleKind;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::paths::{self, CsvOptions, Interpolation, PricePath, DEFAULT_DAYS};
use crate::report::{self, Chart};
use crate::runtime::NATIVE_GENESIS_SUPPLY;
use crate::stress::{self, SimConfig, SimOutcome};
use crate::sweep::{self, ConfigChanges, Sweep};

/// How prices between a CSV's rows are filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Interpolate {
    Linear,
    Bridge,
}

/// Format of the Pyth feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OracleFormat {
    PriceUpdateV2,
    Legacy,
}

impl OracleFormat {
    pub fn kind(self) -> OracleKind {
        match self {
            OracleFormat::PriceUpdateV2 => OracleKind::PythPriceUpdateV2,
            OracleFormat::Legacy => OracleKind::PythLegacy,
        }
    }
}

/// What every run of a batch simulates, apart from its seed: `sim`'s scenario flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// `default`, `synthetic` or `csv:PATH`.
    pub scenario: String,
    pub days: Option<u32>,
    pub agents: u64,
    pub outage_gap_hours: Option<u32>,
    pub interpolate: Interpolate,
    pub oracle: OracleFormat,
}

impl Scenario {
    /// The price path of the run with `seed`.
    pub fn path(&self, seed: u64) -> Result<PricePath, String> {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        match self.scenario.as_str() {
            "default" => Ok(paths::default_stress(days, seed)),
            "synthetic" => Ok(paths::synthetic(days, seed)),
            other => {
                let Some(file) = other.strip_prefix("csv:").filter(|f| !f.is_empty()) else {
                    return Err(format!("unknown scenario {other:?}: expected default, synthetic or csv:PATH"));
                };
                let interpolation = match self.interpolate {
                    Interpolate::Linear => Interpolation::Linear,
                    Interpolate::Bridge => Interpolation::Bridge { seed },
                };
                let options =
                    CsvOptions { outage_gap_secs: self.outage_gap_hours.map(|h| i64::from(h) * 3_600), interpolation };
                let mut path = paths::load_csv(file.as_ref(), &options).map_err(|e| format!("{file}: {e}"))?;
                if let Some(days) = self.days {
                    path.truncate(days as usize * 24);
                }
                Ok(path)
            }
        }
    }

    pub fn config(&self, seed: u64) -> Result<SimConfig, String> {
        Ok(SimConfig { path: self.path(seed)?, seed, agents: self.agents as usize, oracle_kind: self.oracle.kind() })
    }
}

/// One swept parameter (its qualified name) and its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub name: String,
    pub values: Vec<u64>,
}

/// A whole batch: written into every result, so `sim merge` can tell which results
/// belong together and which are missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSpec {
    pub scenario: Scenario,
    /// The first seed; run `r` of each point has seed `seed + r`.
    pub seed: u64,
    pub runs: u64,
    pub sweeps: Vec<Axis>,
}

/// One run of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub index: usize,
    pub point: Vec<(String, u64)>,
    pub seed: u64,
}

impl BatchSpec {
    pub fn new(scenario: Scenario, seed: u64, runs: u64, sweeps: &[Sweep]) -> Result<BatchSpec, String> {
        if seed.checked_add(runs.saturating_sub(1)).is_none() {
            return Err(format!("--seed {seed} with --runs {runs} runs past the largest seed"));
        }
        sweep::check_distinct(sweeps)?;
        let sweeps = sweeps.iter().map(|s| Axis { name: s.param.name.clone(), values: s.values.clone() }).collect();
        Ok(BatchSpec { scenario, seed, runs, sweeps })
    }

    /// The grid's points, in job order.
    pub fn points(&self) -> Vec<Vec<(String, u64)>> {
        let axes: Vec<(String, &[u64])> = self.sweeps.iter().map(|a| (a.name.clone(), a.values.as_slice())).collect();
        sweep::grid(&axes)
    }

    /// Every job, in order.
    pub fn jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for point in self.points() {
            for run in 0..self.runs {
                jobs.push(Job { index: jobs.len(), point: point.clone(), seed: self.seed + run });
            }
        }
        jobs
    }
}

/// The slice of a batch one machine runs: jobs whose index is `index` modulo `count`
/// (0-based; round robin, so every shard gets a share of every grid point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?}: expected I/N, shard I (0-based) of N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        Shard::new(index, count, "I")
    }

    /// Shard `index` of `count`; `source` names where the index came from.
    fn new(index: u32, count: u32, source: &str) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!("shard index {index} (from {source}) must be below the number of shards, {count}"));
        }
        Ok(Shard { index, count })
    }

    /// Shard of `count` whose index the scheduler gives: `JOB_COMPLETION_INDEX` (a
    /// Kubernetes Indexed Job, 0-based) or else `SLURM_ARRAY_TASK_ID` less
    /// `SLURM_ARRAY_TASK_MIN` (a Slurm job array, whatever its first index).
    pub fn from_env(count: u32, var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            var(name)
                .map(|v| v.trim().parse::<u32>().map_err(|_| format!("{name}={v:?} is not a shard index")))
                .transpose()
        };
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            return Shard::new(index, count, "JOB_COMPLETION_INDEX");
        }
        if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
            let first = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = task.checked_sub(first).ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
            return Shard::new(index, count, "SLURM_ARRAY_TASK_ID");
        }
        Err("--shards needs the shard's index: set JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it) or \
             SLURM_ARRAY_TASK_ID (a Slurm job array sets it), or give --shard I/N"
            .into())
    }

    pub fn owns(&self, job: &Job) -> bool {
        job.index % self.count as usize == self.index as usize
    }
}

/// What a batch report counts of each run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Debt written off (USD at the feeds' prices when written off).
    pub bad_debt_usd: f64,
    /// The part of it the insurance funds did not cover: socialised on lenders.
    pub bad_debt_beyond_insurance_usd: f64,
    pub liquidations: u64,
    /// The insurance funds' low point: the largest fall of their total (USD, hourly)
    /// below its running peak. The funds start empty and fill with fees, so their
    /// lowest balance says nothing; how far they fall from a high does.
    pub insurance_drawdown_usd: f64,
    /// Native tokens (whole BAL) at the end less the genesis supply: emitted less burned.
    pub native_supply_change: f64,
    pub transactions: u64,
    /// Transactions the program refused as expected under stress, and other failures.
    pub refused: u64,
    pub unexpected_failures: u64,
    /// Broken invariants, each with the day it was found.
    pub violations: Vec<String>,
}

impl RunMetrics {
    pub fn of(outcome: &SimOutcome) -> RunMetrics {
        let supply_change = i128::from(outcome.native_supply) - i128::from(NATIVE_GENESIS_SUPPLY);
        RunMetrics {
            bad_debt_usd: outcome.bad_debt_usd,
            bad_debt_beyond_insurance_usd: outcome.socialised_usd,
            liquidations: outcome.liquidations,
            insurance_drawdown_usd: largest_drawdown(outcome.timeline.insurance_usd.iter().map(|f| f.iter().sum())),
            native_supply_change: supply_change as f64 / 1e6,
            transactions: outcome.transactions,
            refused: outcome.tally.refused_total(),
            unexpected_failures: outcome.tally.failed_total(),
            violations: outcome.violations.clone(),
        }
    }
}

/// The largest fall of `values` below their running peak (0 if they never fall).
pub fn largest_drawdown(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut largest: f64 = 0.0;
    for v in values {
        peak = peak.max(v);
        largest = largest.max(peak - v);
    }
    largest
}

/// One job's `result.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub batch: BatchSpec,
    pub job: usize,
    pub point: Vec<(String, u64)>,
    pub seed: u64,
    /// `None` when the run failed (then `error` says why).
    pub metrics: Option<RunMetrics>,
    pub error: Option<String>,
}

/// A metric the batch report shows a distribution of.
pub struct Metric {
    pub key: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub value: fn(&RunMetrics) -> f64,
}

pub const METRICS: [Metric; 5] = [
    Metric {
        key: "bad_debt_beyond_insurance",
        title: "Bad debt beyond insurance (socialised on lenders)",
        unit: "USD",
        value: |m| m.bad_debt_beyond_insurance_usd,
    },
    Metric { key: "bad_debt", title: "Bad debt written off", unit: "USD", value: |m| m.bad_debt_usd },
    Metric { key: "liquidations", title: "Liquidations", unit: "liquidations", value: |m| m.liquidations as f64 },
    Metric {
        key: "insurance_drawdown",
        title: "Insurance funds' low point (largest fall below their peak)",
        unit: "USD",
        value: |m| m.insurance_drawdown_usd,
    },
    Metric {
        key: "native_supply_change",
        title: "Native supply change (emitted less burned)",
        unit: "BAL",
        value: |m| m.native_supply_change,
    },
];

impl Metric {
    fn format(&self, v: f64) -> String {
        match self.unit {
            "USD" => report::usd(v),
            "BAL" if v < -0.5 => format!("−{} BAL", report::thousands(-v)),
            "BAL" => format!("{} BAL", report::thousands(v)),
            _ => report::thousands(v),
        }
    }
}

/// The percentiles a report shows (percent; 100 is the maximum).
pub const PERCENTILES: [u32; 4] = [50, 95, 99, 100];

/// The `p`-th percentile of `sorted` (ascending, not empty) by nearest rank: the
/// ⌈p·n/100⌉-th smallest value (at least the first), always one of the values.
pub fn percentile(sorted: &[f64], p: u32) -> f64 {
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    sorted[rank - 1]
}

/// A metric's distribution over a point's runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub min: f64,
    pub mean: f64,
}

impl Distribution {
    pub fn of(values: &[f64]) -> Option<Distribution> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let [p50, p95, p99, max] = PERCENTILES.map(|p| percentile(&sorted, p));
        Some(Distribution {
            p50,
            p95,
            p99,
            max,
            min: sorted[0],
            mean: values.iter().sum::<f64>() / values.len() as f64,
        })
    }

    fn percentiles(&self) -> [f64; 4] {
        [self.p50, self.p95, self.p99, self.max]
    }
}

/// One grid point's runs, summarised (`batch.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSummary {
    pub point: Vec<(String, u64)>,
    pub runs: usize,
    /// Seeds whose run failed, or broke an invariant.
    pub failed_seeds: Vec<u64>,
    pub broken_invariant_seeds: Vec<u64>,
    /// Per metric key, over the runs that completed.
    pub metrics: Vec<(String, Distribution)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub batch: BatchSpec,
    pub points: Vec<PointSummary>,
}

/// How a batch ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchEnd {
    pub runs: usize,
    pub failed: usize,
    pub broken_invariants: usize,
}

impl BatchEnd {
    fn of(results: &[RunResult]) -> BatchEnd {
        BatchEnd {
            runs: results.len(),
            failed: results.iter().filter(|r| r.metrics.is_none()).count(),
            broken_invariants: results
                .iter()
                .filter(|r| r.metrics.as_ref().is_some_and(|m| !m.violations.is_empty()))
                .count(),
        }
    }

    pub fn all_held(&self) -> bool {
        self.failed == 0 && self.broken_invariants == 0
    }
}

/// The directory of a job's report and result, relative to the batch's.
pub fn run_dir(point: &[(String, u64)], seed: u64) -> PathBuf {
    let mut dir = PathBuf::from("runs");
    if !point.is_empty() {
        dir.push(sweep::label(point));
    }
    dir.join(format!("seed-{seed}"))
}

const RESULT_FILE: &str = "result.json";

/// Checks that the program accepts every grid point's configs (exit 2 before any run
/// if not). Also boots the runtime once on this thread, before any worker does.
pub fn check_points(points: &[ConfigChanges], oracle: OracleKind) -> Result<(), String> {
    let runtime = single_threaded()?;
    for point in points {
        runtime
            .block_on(stress::check_changes(point, oracle))
            .map_err(|e| format!("sweep point {}: {e}", point.label()))?;
    }
    Ok(())
}

fn single_threaded() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("tokio runtime: {e}"))
}

/// Runs the jobs of `spec` in `shard` (all without one) on `threads` threads, each
/// writing its report and result under `out`; without a shard, then writes the batch
/// report. `sweeps` are `spec`'s sweeps, resolved.
pub fn run(
    spec: &BatchSpec,
    sweeps: &[Sweep],
    shard: Option<Shard>,
    threads: usize,
    out: &Path,
) -> Result<BatchEnd, String> {
    let changes = sweep::changes_grid(sweeps);
    let jobs: Vec<Job> = spec.jobs().into_iter().filter(|j| shard.is_none_or(|s| s.owns(j))).collect();
    let progress = ProgressBar::new(jobs.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs, ETA {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    progress.tick();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, PathBuf)>> = Mutex::new(Vec::new());
    let threads = threads.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            // Each worker takes the next job not yet taken until none is left.
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let point = &changes[job.index / spec.runs as usize];
                    let dir = out.join(run_dir(&job.point, job.seed));
                    let result = run_job(spec, job, point, &dir);
                    let file = dir.join(RESULT_FILE);
                    let written = serde_json::to_string_pretty(&result)
                        .map_err(|e| e.to_string())
                        .and_then(|json| std::fs::write(&file, json + "\n").map_err(|e| e.to_string()));
                    if let Err(e) = written {
                        progress.println(format!("error: cannot write {}: {e}", file.display()));
                    }
                    done.lock().expect("no worker panics holding it").push((job.index, file));
                    progress.inc(1);
                }
            });
        }
    });
    progress.finish_and_clear();
    let mut files = done.into_inner().expect("workers finished");
    files.sort();
    // The report is built from the files just written, as `sim merge` builds it.
    let results = files.iter().map(|(_, file)| read_result(file)).collect::<Result<Vec<_>, _>>()?;
    if shard.is_none() {
        write_report(out, spec, &results)?;
    }
    Ok(BatchEnd::of(&results))
}

/// One job: the run, its report in `dir`, and its result (a failed run's error in it).
fn run_job(spec: &BatchSpec, job: &Job, changes: &ConfigChanges, dir: &Path) -> RunResult {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let config = spec.scenario.config(job.seed)?;
        let outcome = single_threaded()?.block_on(stress::run_with_changes(config, changes, &ProgressBar::hidden()))?;
        report::write(dir, &outcome)?;
        Ok::<_, String>(RunMetrics::of(&outcome))
    }))
    .unwrap_or_else(|panic| {
        let what =
            panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("the run panicked: {}", what.unwrap_or_default()))
    });
    if outcome.is_err() {
        // A failed run leaves at least its result behind.
        let _ = std::fs::create_dir_all(dir);
    }
    let (metrics, error) = match outcome {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e)),
    };
    RunResult { batch: spec.clone(), job: job.index, point: job.point.clone(), seed: job.seed, metrics, error }
}

fn read_result(file: &Path) -> Result<RunResult, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a sim result: {e}", file.display()))
}

/// Every `result.json` under `dir`, in path order.
fn find_results(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() && !path.is_symlink() {
            find_results(&path, out)?;
        } else if path.file_name().is_some_and(|n| n == RESULT_FILE) {
            out.push(path);
        }
    }
    Ok(())
}

/// Combines the results under `dirs` (shards' output directories) into the batch
/// report in `out`, with each run's directory copied there. Refuses results of
/// different batches, a job with two different results, and missing jobs.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<BatchEnd, String> {
    let mut files = Vec::new();
    for dir in dirs {
        find_results(dir, &mut files)?;
    }
    let Some(first) = files.first() else {
        return Err(format!(
            "no {RESULT_FILE} under {}",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        ));
    };
    let spec = read_result(first)?.batch;
    let jobs = spec.jobs();
    let mut found: Vec<Option<(RunResult, PathBuf)>> = vec![None; jobs.len()];
    for file in &files {
        let result = read_result(file)?;
        if result.batch != spec {
            return Err(format!(
                "{} and {} are results of different batches (scenario, seeds, runs or sweeps differ)",
                first.display(),
                file.display()
            ));
        }
        let job = jobs.get(result.job).filter(|j| j.point == result.point && j.seed == result.seed);
        if job.is_none() {
            return Err(format!("{}: job {} is not in its batch", file.display(), result.job));
        }
        // A run found twice (a retried shard) must have the same result both times.
        if let Some((earlier, at)) = &found[result.job] {
            if *earlier != result {
                return Err(format!("{} and {} hold different results of the same run", at.display(), file.display()));
            }
            continue;
        }
        let job = result.job;
        found[job] = Some((result, file.clone()));
    }
    let missing: Vec<String> = jobs
        .iter()
        .filter(|j| found[j.index].is_none())
        .map(|j| run_dir(&j.point, j.seed).display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of the batch's {} runs are missing (has every shard finished?): {}{}",
            missing.len(),
            jobs.len(),
            missing.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if missing.len() > 5 { ", ..." } else { "" }
        ));
    }
    let mut results = Vec::new();
    for (result, file) in found.into_iter().flatten() {
        let from = file.parent().unwrap_or(Path::new("."));
        copy_run(from, &out.join(run_dir(&result.point, result.seed)))?;
        results.push(result);
    }
    write_report(out, &spec, &results)?;
    Ok(BatchEnd::of(&results))
}

/// Copies a run's files into `to`, unless that is where they are.
fn copy_run(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    if std::fs::canonicalize(from).ok() == std::fs::canonicalize(to).ok() {
        return Ok(());
    }
    let entries = std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries.filter_map(Result::ok).filter(|e| e.path().is_file()) {
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).map_err(|e| format!("cannot copy to {}: {e}", target.display()))?;
    }
    Ok(())
}

/// Each point's distributions, from `results` in job order.
pub fn summarise(spec: &BatchSpec, results: &[RunResult]) -> BatchSummary {
    let points = spec
        .points()
        .into_iter()
        .map(|point| {
            let runs: Vec<&RunResult> = results.iter().filter(|r| r.point == point).collect();
            let ok: Vec<&RunMetrics> = runs.iter().filter_map(|r| r.metrics.as_ref()).collect();
            let metrics = METRICS
                .iter()
                .filter_map(|m| {
                    let values: Vec<f64> = ok.iter().map(|r| (m.value)(r)).collect();
                    Some((m.key.to_string(), Distribution::of(&values)?))
                })
                .collect();
            PointSummary {
                runs: runs.len(),
                failed_seeds: runs.iter().filter(|r| r.metrics.is_none()).map(|r| r.seed).collect(),
                broken_invariant_seeds: runs
                    .iter()
                    .filter(|r| r.metrics.as_ref().is_some_and(|m| !m.violations.is_empty()))
                    .map(|r| r.seed)
                    .collect(),
                point,
                metrics,
            }
        })
        .collect();
    BatchSummary { batch: spec.clone(), points }
}

/// Writes `summary.md`, `batch.json`, `runs.csv` and the plots into `out`.
pub fn write_report(out: &Path, spec: &BatchSpec, results: &[RunResult]) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let summary = summarise(spec, results);
    let mut files = Vec::new();
    let mut write = |name: &str, text: String| -> Result<(), String> {
        let file = out.join(name);
        std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        files.push(file);
        Ok(())
    };
    write("batch.json", serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())? + "\n")?;
    write("runs.csv", runs_csv(results))?;
    write("summary.md", summary_markdown(spec, &summary, results))?;
    for chart in &charts(spec, &summary, results) {
        files.push(report::draw(out, chart)?);
    }
    Ok(files)
}

/// One row per run.
fn runs_csv(results: &[RunResult]) -> String {
    let mut out = String::from("job,point,seed,");
    out.push_str(&METRICS.map(|m| m.key).join(","));
    out.push_str(",transactions,refused,unexpected_failures,broken_invariants,error\n");
    for r in results {
        let point = sweep::label(&r.point);
        let _ = write!(out, "{},\"{point}\",{},", r.job, r.seed);
        match &r.metrics {
            Some(m) => {
                let values: Vec<String> = METRICS
                    .iter()
                    .map(|metric| match metric.unit {
                        "USD" | "BAL" => format!("{:.2}", (metric.value)(m)),
                        _ => format!("{:.0}", (metric.value)(m)),
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},",
                    values.join(","),
                    m.transactions,
                    m.refused,
                    m.unexpected_failures,
                    m.violations.len()
                );
            }
            None => {
                let error = r.error.clone().unwrap_or_default().replace('"', "'");
                let _ = writeln!(out, "{},,,,,\"{error}\"", ",".repeat(METRICS.len() - 1));
            }
        }
    }
    out
}

/// Histograms of every metric (one outline per grid point) and, with sweeps, each
/// metric's percentiles against each swept parameter.
fn charts(spec: &BatchSpec, summary: &BatchSummary, results: &[RunResult]) -> Vec<Chart> {
    let mut charts = Vec::new();
    let single = summary.points.len() == 1;
    for metric in &METRICS {
        let all: Vec<f64> = results.iter().filter_map(|r| Some((metric.value)(r.metrics.as_ref()?))).collect();
        let mut chart =
            Chart::titled(histogram_file(metric), format!("{}: runs by value", metric.title), metric.unit, "runs")
                .x_from_data();
        let edges = bin_edges(&all);
        for point in &summary.points {
            let values: Vec<f64> = results
                .iter()
                .filter(|r| r.point == point.point)
                .filter_map(|r| Some((metric.value)(r.metrics.as_ref()?)))
                .collect();
            let (xs, ys) = histogram_outline(&values, &edges);
            let label = if single { "runs".to_string() } else { sweep::label(&point.point) };
            chart = if single { chart.area(label, &xs, ys) } else { chart.line(label, &xs, ys) };
        }
        charts.push(chart.note(format!("{} runs per point; {} bins of equal width", spec.runs, edges.len() - 1)));
    }
    for (axis_index, axis) in spec.sweeps.iter().enumerate() {
        for metric in &METRICS {
            charts.push(sweep_chart(spec, summary, axis_index, axis, metric));
        }
    }
    charts
}

/// A metric's p50, p95 and maximum against one swept parameter: one set of lines per
/// combination of the other parameters' values.
fn sweep_chart(spec: &BatchSpec, summary: &BatchSummary, axis_index: usize, axis: &Axis, metric: &Metric) -> Chart {
    let mut chart = Chart::titled(
        sweep_file(metric, axis),
        format!("{} against {}", metric.title, axis.name),
        axis.name.as_str(),
        metric.unit,
    )
    .x_from_data()
    .note(format!("over {} seeds at each value; nearest-rank percentiles", spec.runs));
    // The other parameters' values at each point: the series it belongs to.
    let others = |point: &[(String, u64)]| {
        let rest: Vec<(String, u64)> =
            point.iter().enumerate().filter(|(i, _)| *i != axis_index).map(|(_, p)| p.clone()).collect();
        sweep::label(&rest)
    };
    let mut series: Vec<String> = Vec::new();
    for p in &summary.points {
        let s = others(&p.point);
        if !series.contains(&s) {
            series.push(s);
        }
    }
    for s in series {
        let points: Vec<&PointSummary> = summary.points.iter().filter(|p| others(&p.point) == s).collect();
        let xs: Vec<f64> = points.iter().map(|p| p.point[axis_index].1 as f64).collect();
        let dist = |p: &PointSummary| p.metrics.iter().find(|(k, _)| k == metric.key).map(|(_, d)| d.clone());
        let suffix = if s.is_empty() { String::new() } else { format!(", {s}") };
        for (name, pick) in [("p50", 0), ("p95", 1), ("max", 3)] {
            let ys = points.iter().map(|p| dist(p).map_or(f64::NAN, |d| d.percentiles()[pick]));
            chart = chart.line(format!("{name}{suffix}"), &xs, ys);
        }
    }
    chart
}

fn histogram_file(metric: &Metric) -> String {
    format!("hist_{}.svg", metric.key)
}

fn sweep_file(metric: &Metric, axis: &Axis) -> String {
    let axis: String = axis.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    format!("sweep_{}_{axis}.svg", metric.key)
}

/// Edges of equal-width bins spanning `values`: about √n bins, at most 20.
fn bin_edges(values: &[f64]) -> Vec<f64> {
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if values.is_empty() {
        return vec![0.0, 1.0];
    }
    if hi - lo < 1e-9 {
        // Every run the same: one bin around the value.
        let half = (lo.abs() * 0.05).max(0.5);
        return vec![lo - half, lo + half];
    }
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(1, 20);
    (0..=bins).map(|i| lo + (hi - lo) * i as f64 / bins as f64).collect()
}

/// The outline of a histogram of `values` over `edges` (the last bin includes its
/// upper edge): x and y of a step line from the axis up and back down.
fn histogram_outline(values: &[f64], edges: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let bins = edges.len() - 1;
    let mut counts = vec![0usize; bins];
    for &v in values {
        let i = edges[1..].iter().position(|&upper| v < upper).unwrap_or(bins - 1);
        counts[i] += 1;
    }
    let (mut xs, mut ys) = (vec![edges[0]], vec![0.0]);
    for (i, &count) in counts.iter().enumerate() {
        xs.extend([edges[i], edges[i + 1]]);
        ys.extend([count as f64, count as f64]);
    }
    xs.push(edges[bins]);
    ys.push(0.0);
    (xs, ys)
}

fn summary_markdown(spec: &BatchSpec, summary: &BatchSummary, results: &[RunResult]) -> String {
    let mut s = String::new();
    let sc = &spec.scenario;
    let last_seed = spec.seed + spec.runs - 1;
    let points = summary.points.len();
    let title = if spec.sweeps.is_empty() { "Monte Carlo" } else { "parameter sweep" };
    let _ = writeln!(s, "# Ballast stress simulation: {title}\n");
    let _ = write!(s, "{} runs of the `sim` stress run, seeds {} to {last_seed}", spec.runs, spec.seed);
    if points > 1 {
        let _ = write!(s, ", at each of {points} parameter points ({} runs)", results.len());
    }
    let _ = writeln!(
        s,
        ": price path `{}`{}, {} agents, feeds {:?}{}. The price-pump attackers are not run (they do not depend on \
         the seed). Each run's own report is under `runs/`; `runs.csv` has a row per run, `batch.json` these \
         distributions.\n",
        sc.scenario,
        sc.days.map(|d| format!(" over {d} days")).unwrap_or_default(),
        sc.agents,
        sc.oracle,
        if sc.scenario.starts_with("csv:") {
            format!(", interpolated {:?}", sc.interpolate).to_lowercase()
        } else {
            String::new()
        },
    );
    for axis in &spec.sweeps {
        let values: Vec<String> = axis.values.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "- Swept `{}`: {}", axis.name, values.join(", "));
    }
    if !spec.sweeps.is_empty() {
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "Percentiles are nearest-rank: the p-th percentile of n runs is the ⌈p·n/100⌉-th smallest value, so \
         every figure is one run's; with fewer than 100 runs p99 is the maximum.\n"
    );

    let _ = writeln!(s, "## Result\n");
    let end = BatchEnd::of(results);
    if end.all_held() {
        let _ = writeln!(s, "- **Invariants held** in every run.");
    }
    for p in &summary.points {
        let at = if points > 1 { format!(" at {}", sweep::label(&p.point)) } else { String::new() };
        if !p.broken_invariant_seeds.is_empty() {
            let _ =
                writeln!(s, "- **INVARIANTS BROKEN**{at}, seeds {:?}: see their reports.", p.broken_invariant_seeds);
        }
        for r in results.iter().filter(|r| r.point == p.point && r.metrics.is_none()) {
            let _ = writeln!(s, "- **Run failed**{at}, seed {}: {}", r.seed, r.error.as_deref().unwrap_or("?"));
        }
    }
    let failures: u64 = results.iter().filter_map(|r| r.metrics.as_ref()).map(|m| m.unexpected_failures).sum();
    let _ = writeln!(s, "- Unexpected transaction failures, all runs: {failures}.\n");

    for metric in &METRICS {
        let _ = writeln!(s, "## {}\n", metric.title);
        let names: Vec<&str> = spec.sweeps.iter().map(|a| a.name.as_str()).collect();
        let header: Vec<String> =
            names.iter().map(|n| format!("`{n}`")).chain(["p50", "p95", "p99", "max"].map(String::from)).collect();
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let _ = writeln!(s, "|{}", "---:|".repeat(header.len()));
        for p in &summary.points {
            let cells: Vec<String> = p.point.iter().map(|(_, v)| v.to_string()).collect();
            let dist = p.metrics.iter().find(|(k, _)| k == metric.key).map(|(_, d)| d.percentiles());
            let values: Vec<String> = match dist {
                Some(d) => d.iter().map(|v| metric.format(*v)).collect(),
                None => vec!["-".into(); 4],
            };
            let _ = writeln!(s, "| {} |", cells.into_iter().chain(values).collect::<Vec<_>>().join(" | "));
        }
        let _ = writeln!(s);
        for axis in &spec.sweeps {
            let _ = writeln!(s, "![{} against {}]({})\n", metric.title, axis.name, sweep_file(metric, axis));
        }
        let _ = writeln!(s, "![{}: runs by value]({})\n", metric.title, histogram_file(metric));
    }

    let _ = writeln!(s, "## Runs\n");
    if results.len() > 200 {
        let _ = writeln!(s, "{} runs: see `runs.csv`, and each run's report under `runs/`.", results.len());
        return s;
    }
    let mut header: Vec<String> = spec.sweeps.iter().map(|a| format!("`{}`", a.name)).collect();
    header.push("seed".into());
    header.extend(METRICS.iter().map(|m| m.title.split(" (").next().unwrap_or(m.title).to_string()));
    header.extend(["invariants".to_string(), "report".to_string()]);
    let _ = writeln!(s, "| {} |", header.join(" | "));
    let _ = writeln!(s, "|{}", "---:|".repeat(header.len()));
    for r in results {
        let mut row: Vec<String> = r.point.iter().map(|(_, v)| v.to_string()).collect();
        row.push(r.seed.to_string());
        match &r.metrics {
            Some(m) => {
                row.extend(METRICS.iter().map(|metric| metric.format((metric.value)(m))));
                row.push(if m.violations.is_empty() { "held".into() } else { "**BROKEN**".into() });
            }
            None => {
                row.extend(METRICS.iter().map(|_| "-".to_string()));
                row.push("run failed".into());
            }
        }
        let dir = run_dir(&r.point, r.seed);
        row.push(format!("[summary]({})", dir.join("summary.md").display()));
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let one_to_ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(PERCENTILES.map(|p| percentile(&one_to_ten, p)), [5.0, 10.0, 10.0, 10.0]);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(PERCENTILES.map(|p| percentile(&hundred, p)), [50.0, 95.0, 99.0, 100.0]);
        // 0.95 · 20 is 19 exactly: the 19th value, with no rounding of 18.999...
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&twenty, 95), 19.0);
        assert_eq!(percentile(&twenty, 50), 10.0);
        assert_eq!(percentile(&[7.0], 50), 7.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0), 1.0);
        let d = Distribution::of(&[3.0, 1.0, 2.0, 4.0]).unwrap();
        assert_eq!((d.p50, d.p95, d.max, d.min, d.mean), (2.0, 4.0, 4.0, 1.0, 2.5));
        assert_eq!(Distribution::of(&[]), None);
    }

    #[test]
    fn histograms_count_every_run_once() {
        let values = [0.0, 1.0, 2.0, 3.0, 4.0];
        let edges = bin_edges(&values);
        assert_eq!(edges.len(), 4);
        let (_, ys) = histogram_outline(&values, &edges);
        let counts: Vec<f64> = ys.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(counts.iter().sum::<f64>(), 5.0);
        assert_eq!(bin_edges(&[5.0, 5.0]).len(), 2);
    }

    #[test]
    fn the_insurance_low_point_is_the_largest_fall_from_a_peak() {
        assert_eq!(largest_drawdown([0.0, 5.0, 2.0, 8.0, 4.0, 6.0]), 4.0);
        assert_eq!(largest_drawdown([0.0, 1.0, 2.0]), 0.0);
        assert_eq!(largest_drawdown([]), 0.0);
    }

    #[test]
    fn jobs_are_points_then_seeds_and_shards_take_every_nth() {
        let scenario = Scenario {
            scenario: "default".into(),
            days: Some(2),
            agents: 10,
            outage_gap_hours: None,
            interpolate: Interpolate::Linear,
            oracle: OracleFormat::PriceUpdateV2,
        };
        let sweeps = [sweep::parse_sweep("market.liquidation_bonus_bps=300,500").unwrap()];
        let spec = BatchSpec::new(scenario, 42, 3, &sweeps).unwrap();
        let jobs = spec.jobs();
        assert_eq!(jobs.len(), 6);
        assert_eq!((jobs[4].seed, jobs[4].point.clone()), (43, vec![("market.liquidation_bonus_bps".into(), 500)]));
        assert_eq!(run_dir(&jobs[4].point, 43), PathBuf::from("runs/market.liquidation_bonus_bps=500/seed-43"));
        let shard = Shard::parse("1/4").unwrap();
        let mine: Vec<usize> = jobs.iter().filter(|j| shard.owns(j)).map(|j| j.index).collect();
        assert_eq!(mine, [1, 5]);
        assert!(Shard::parse("4/4").unwrap_err().contains("must be below the number of shards, 4"));
        assert!(Shard::parse("1").unwrap_err().contains("expected I/N"));
        assert!(Shard::parse("0/0").unwrap_err().contains("at least 1"));
    }

    #[test]
    fn the_shard_index_comes_from_the_scheduler() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(Shard::from_env(4, env(&[("JOB_COMPLETION_INDEX", "3")])), Ok(Shard { index: 3, count: 4 }));
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "4")]);
        assert_eq!(Shard::from_env(4, slurm), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::from_env(4, env(&[])).unwrap_err().contains("JOB_COMPLETION_INDEX"));
        let err = Shard::from_env(2, env(&[("JOB_COMPLETION_INDEX", "2")])).unwrap_err();
        assert!(err.contains("from JOB_COMPLETION_INDEX"), "{err}");
        assert!(Shard::from_env(2, env(&[("SLURM_ARRAY_TASK_ID", "x")])).unwrap_err().contains("not a shard index"));
    }
}
