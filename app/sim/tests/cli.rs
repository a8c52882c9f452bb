//! The `sim` binary refuses bad flags and bad price files with exit code 2 and a clear
//! message, before starting the runtime.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sim"));
    command.args(args).env_remove("JOB_COMPLETION_INDEX").env_remove("SLURM_ARRAY_TASK_ID");
    command.output().expect("sim runs")
}

fn assert_usage_error(args: &[&str], message: &str) {
    let out = sim(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: expected {message:?} in {stderr}");
}

#[test]
fn bad_flags_exit_2_with_usage() {
    assert_usage_error(&["--bogus"], "Usage: sim");
    assert_usage_error(&["--agents", "3"], "--agents");
    assert_usage_error(&["--agents", "many"], "invalid value");
    assert_usage_error(&["--days", "1"], "--days");
    assert_usage_error(&["--seed", "x"], "--seed");
    assert_usage_error(&["--scenario", "crash"], "unknown scenario \"crash\"");
    assert_usage_error(&["--scenario", "csv:"], "unknown scenario");
    assert_usage_error(&["--out", "/proc/ballast-sim-report"], "cannot create the report directory");
}

#[test]
fn bad_price_files_exit_2_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("ballast-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("prices.csv");
    std::fs::write(&file, "timestamp,price\n1750000000,100\n1750003600,-5\n").unwrap();
    let arg = format!("csv:{}", file.display());
    assert_usage_error(&["--scenario", &arg], "line 3: price -5 is not positive");
    assert_usage_error(&["--scenario", "csv:/nonexistent/prices.csv"], "cannot read /nonexistent/prices.csv");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_batch_flags_exit_2_naming_the_field() {
    let unknown = ["--sweep", "liquidation_bonus=300,500"];
    assert_usage_error(&unknown, "unknown sweep parameter `liquidation_bonus`");
    assert_usage_error(&unknown, "did you mean `market.liquidation_bonus_bps`?");
    assert_usage_error(&unknown, "maint_asset_weight_bps");
    assert_usage_error(&["--sweep", "SOL.maint_asset_weight_bps=9000,4294967296"], "4294967296 is out of range (u32");
    assert_usage_error(&["--sweep", "SOL.maint_asset_weight_bps=high"], "\"high\" is not a value of the field");
    assert_usage_error(&["--sweep", "volatility.min_dwell_secs=1"], "write market.volatility.min_dwell_secs");
    assert_usage_error(&["--sweep", "market.liquidation_bonus_bps"], "expected NAME=V1,V2");
    let twice = ["--sweep", "market.liquidation_bonus_bps=1", "--sweep", "SOL.liquidation_bonus_bps=2"];
    assert_usage_error(&twice, "set the same field");
    // The program's own validation: a maintenance weight below the initial one (80%).
    let out = std::env::temp_dir().join(format!("ballast-sim-cli-refused-{}", std::process::id()));
    let out = out.to_str().unwrap();
    let refused = ["--agents", "10", "--days", "2", "--out", out, "--sweep", "SOL.maint_asset_weight_bps=9000,7000"];
    assert_usage_error(
        &refused,
        "SOL.maint_asset_weight_bps=7000: the program refuses the SOL market's config: InvalidWeights",
    );
    assert_usage_error(&["--shard", "2/2"], "must be below the number of shards, 2");
    assert_usage_error(&["--shard", "1"], "expected I/N");
    assert_usage_error(&["--shard", "0/2", "--shards", "2"], "cannot be used with");
    assert_usage_error(&["--shards", "2"], "JOB_COMPLETION_INDEX");
    assert_usage_error(&["merge", "/nonexistent/shard"], "cannot read /nonexistent/shard");
    assert_usage_error(&["merge"], "DIR");
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn help_describes_the_flags() {
    let out = sim(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in
        ["--scenario", "--seed", "--agents", "--days", "--out", "timestamp,price", "--runs", "--sweep", "--shards"]
    {
        assert!(help.contains(flag), "help mentions {flag}");
    }
}
