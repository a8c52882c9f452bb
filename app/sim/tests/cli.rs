//! The `sim` binary refuses bad flags and bad price files with exit code 2 and a clear
//! message, before starting the runtime.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).output().expect("sim runs")
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
fn help_describes_the_flags() {
    let out = sim(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--scenario", "--seed", "--agents", "--days", "--out", "timestamp,price"] {
        assert!(help.contains(flag), "help mentions {flag}");
    }
}
