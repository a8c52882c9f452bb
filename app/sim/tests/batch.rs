//! Batches (`--runs`, `--sweep`, `--shard(s)`, `sim merge`) on short paths with few
//! agents: parallel runs equal the same seeds run one by one, merged shards equal the
//! unsharded batch, and a looser collateral weight shows more bad debt on a crash.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ballast_sim::batch::{RunMetrics, RunResult};
use ballast_sim::stress::{self, ProgressBar};

/// Seeds 42 to 45 of the default scenario's shortest path, with the fewest agents.
const SMALL: [&str; 8] = ["--agents", "10", "--days", "2", "--seed", "42", "--runs", "4"];

fn sim(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sim"));
    command.args(args).env_remove("JOB_COMPLETION_INDEX").env_remove("SLURM_ARRAY_TASK_ID");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("sim runs");
    assert!(out.status.success(), "sim {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballast-sim-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The four seeds as one batch, two at a time: shared by the tests that compare with it.
fn unsharded() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("unsharded");
        sim(&[&SMALL[..], &["--jobs", "2", "--out", dir.to_str().unwrap()]].concat(), &[]);
        dir
    })
}

fn result_file(dir: &Path, seed: u64) -> PathBuf {
    dir.join(format!("runs/seed-{seed}/result.json"))
}

#[test]
fn parallel_runs_equal_the_seeds_run_one_by_one() {
    let batch = unsharded();
    assert!(batch.join("summary.md").exists() && batch.join("hist_bad_debt_beyond_insurance.svg").exists());
    assert!(batch.join("runs/seed-45/summary.md").exists(), "each run has its own report");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for seed in 42..46 {
        let text = read(&result_file(batch, seed));
        let mut result: RunResult = serde_json::from_str(&text).unwrap();
        let config = result.batch.scenario.config(seed).unwrap();
        let outcome = runtime.block_on(stress::run(config, &ProgressBar::hidden())).unwrap();
        result.metrics = Some(RunMetrics::of(&outcome));
        // Compared as the text the batch wrote: every float to the last bit.
        assert_eq!(serde_json::to_string_pretty(&result).unwrap() + "\n", text, "seed {seed}");
    }
}

#[test]
fn two_shards_merged_equal_the_unsharded_batch() {
    let (first, second, merged) = (scratch("shard0"), scratch("shard1"), scratch("merged"));
    // The index as a Kubernetes Indexed Job and a Slurm array (from 1) give it.
    sim(&[&SMALL[..], &["--shards", "2", "--out", first.to_str().unwrap()]].concat(), &[("JOB_COMPLETION_INDEX", "0")]);
    let slurm = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1")];
    sim(&[&SMALL[..], &["--shards", "2", "--out", second.to_str().unwrap()]].concat(), &slurm);
    assert!(result_file(&first, 44).exists() && !result_file(&first, 43).exists(), "shard 0 runs jobs 0 and 2");
    assert!(!first.join("summary.md").exists(), "a shard writes no batch report");
    sim(&["merge", "--out", merged.to_str().unwrap(), first.to_str().unwrap(), second.to_str().unwrap()], &[]);
    let batch = unsharded();
    for file in ["batch.json", "summary.md", "runs.csv"] {
        assert_eq!(read(&merged.join(file)), read(&batch.join(file)), "{file}");
    }
    for seed in 42..46 {
        assert_eq!(read(&result_file(&merged, seed)), read(&result_file(batch, seed)), "seed {seed}");
        assert!(merged.join(format!("runs/seed-{seed}/summary.md")).exists(), "the run's report is copied");
    }
    // A shard missing: refused, naming what is missing.
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["merge", "--out", merged.to_str().unwrap(), first.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 of the batch's 4 runs are missing") && stderr.contains("runs/seed-43"), "{stderr}");
}

/// A calm day at $100, a fall to $62 over six hours (accounts near maintenance are
/// liquidated on the way), then a 40% gap down in one hour and a day at the bottom.
fn crash_csv(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut prices = vec![100.0; 24];
    prices.extend((1..=6).map(|h| 100.0 * (0.62f64).powf(f64::from(h) / 6.0)));
    prices.extend([62.0 * 0.6; 24]);
    let rows: Vec<String> =
        prices.iter().enumerate().map(|(h, p)| format!("{},{p:.4}", 1_750_000_000 + h as i64 * 3_600)).collect();
    let file = dir.join("crash.csv");
    std::fs::write(&file, format!("timestamp,price\n{}\n", rows.join("\n"))).unwrap();
    file
}

#[test]
fn a_looser_collateral_weight_shows_more_bad_debt_on_a_crash() {
    let dir = scratch("sweep");
    let scenario = format!("csv:{}", crash_csv(&dir).display());
    let out = dir.join("report");
    let args = ["--scenario", &scenario, "--agents", "40", "--runs", "2", "--jobs", "2"];
    let sweep = ["--sweep", "SOL.maint_asset_weight_bps=8500,9500", "--out", out.to_str().unwrap()];
    sim(&[&args[..], &sweep[..]].concat(), &[]);
    let batch: serde_json::Value = serde_json::from_str(&read(&out.join("batch.json"))).unwrap();
    let stat = |point: usize, metric: &str, stat: &str| {
        let metrics = batch["points"][point]["metrics"].as_array().unwrap();
        let found = metrics.iter().find(|m| m[0] == metric).expect("metric summarised");
        found[1][stat].as_f64().unwrap()
    };
    assert_eq!(batch["points"][1]["point"][0][1], 9_500);
    for metric in ["bad_debt", "bad_debt_beyond_insurance"] {
        for p in ["p50", "p95", "p99", "max"] {
            assert!(stat(1, metric, p) >= stat(0, metric, p), "{metric} {p}: {batch}");
        }
        assert!(stat(1, metric, "p50") > stat(0, metric, "p50"), "{metric}: strictly more when looser: {batch}");
    }
    assert!(stat(0, "bad_debt", "p50") > 0.0, "the crash leaves bad debt at either weight: {batch}");
    let summary = read(&out.join("summary.md"));
    assert!(summary.contains("| `SOL.maint_asset_weight_bps` | p50 | p95 | p99 | max |"), "{summary}");
    assert!(out.join("sweep_bad_debt_SOL_maint_asset_weight_bps.svg").exists());
    assert!(out.join("runs/SOL.maint_asset_weight_bps=9500/seed-43/result.json").exists());
}
