//! Configuration: command-line flags, then environment variables, then a TOML file,
//! then defaults, in that order of precedence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use clap::Parser;
use serde::Deserialize;

use crate::buyback::{BuybackPolicy, ReferencePrice};

#[derive(Parser, Debug, Clone, Default)]
#[command(name = "keeper", about = "Ballast keeper: finds unhealthy margin accounts and liquidates them")]
pub struct Cli {
    /// TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "BALLAST_KEEPER_CONFIG")]
    pub config: Option<PathBuf>,
    /// JSON-RPC endpoint.
    #[arg(long, env = "BALLAST_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Websocket endpoint (default: the RPC URL with ws:// or wss://).
    #[arg(long, env = "BALLAST_WS_URL")]
    pub ws_url: Option<String>,
    /// Keypair file of the liquidator (pays fees, repays debt, receives collateral).
    #[arg(long, env = "BALLAST_KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// Skip liquidations worth less than this, in USD at oracle prices.
    #[arg(long, env = "BALLAST_MIN_PROFIT_USD")]
    pub min_profit_usd: Option<f64>,
    /// Highest priority fee paid, in micro-lamports per compute unit.
    #[arg(long, env = "BALLAST_MAX_PRIORITY_FEE")]
    pub max_priority_fee: Option<u64>,
    /// Most compute units a transaction may ask for: each is simulated under it, then sent
    /// with the units the simulation consumed plus a margin, up to it.
    #[arg(long, env = "BALLAST_COMPUTE_UNIT_LIMIT")]
    pub compute_unit_limit: Option<u32>,
    /// Seconds between scans when no account change arrives over the websocket.
    #[arg(long, env = "BALLAST_POLL_SECS")]
    pub poll_secs: Option<u64>,
    /// Address of the Prometheus /metrics and /healthz endpoint.
    #[arg(long, env = "BALLAST_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Simulate liquidations but never send them.
    #[arg(long, env = "BALLAST_DRY_RUN")]
    pub dry_run: bool,
    /// Also crank the buyback auction: pay native tokens for buyback-pool tokens.
    #[arg(long, env = "BALLAST_BUYBACK")]
    pub buyback: bool,
    /// Fill only when the pool tokens are worth this much more than the native tokens paid (bps).
    #[arg(long, env = "BALLAST_BUYBACK_MIN_PROFIT_BPS")]
    pub buyback_min_profit_bps: Option<u32>,
    /// Most native base units paid in one fill (default: the whole balance).
    #[arg(long, env = "BALLAST_BUYBACK_MAX_NATIVE")]
    pub buyback_max_native: Option<u64>,
    /// What a native token is worth to the keeper, in USD (default: the native oracle's mid price).
    #[arg(long, env = "BALLAST_BUYBACK_REFERENCE_PRICE")]
    pub buyback_reference_price: Option<f64>,
    /// Tolerance on both bounds of a fill, in bps of the expected amounts.
    #[arg(long, env = "BALLAST_BUYBACK_SLIPPAGE_BPS")]
    pub buyback_slippage_bps: Option<u32>,
    /// Also crank `update_volatility` whenever the next sample is due.
    #[arg(long, env = "BALLAST_VOLATILITY")]
    pub volatility: bool,
    /// Also sweep every market's protocol fees (`sweep_fees`) on a timer.
    #[arg(long, env = "BALLAST_SWEEP")]
    pub sweep: bool,
    /// Seconds between fee sweeps [default: 3600].
    #[arg(long, env = "BALLAST_SWEEP_EVERY_SECS")]
    pub sweep_every_secs: Option<u64>,
    /// Also checkpoint decaying stake weights (`poke_stake`) on a timer.
    #[arg(long, env = "BALLAST_POKE")]
    pub poke: bool,
    /// Seconds between poke passes, which bounds each staker's reward error [default: 86400].
    #[arg(long, env = "BALLAST_POKE_EVERY_SECS")]
    pub poke_every_secs: Option<u64>,
    /// Address lookup table holding the protocol's accounts (`ballast-cli lookup-table
    /// create` prints it): transactions are then sent as v0 messages that look those up.
    /// Without one, legacy transactions.
    #[arg(long, env = "BALLAST_LOOKUP_TABLE")]
    pub lookup_table: Option<String>,
    /// Run one scan, act on it, and exit.
    #[arg(long)]
    pub once: bool,
}

/// The same settings as read from a TOML file.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub rpc_url: Option<String>,
    pub ws_url: Option<String>,
    pub keypair: Option<PathBuf>,
    pub min_profit_usd: Option<f64>,
    pub max_priority_fee: Option<u64>,
    pub compute_unit_limit: Option<u32>,
    pub poll_secs: Option<u64>,
    pub metrics_addr: Option<SocketAddr>,
    pub dry_run: Option<bool>,
    pub buyback: Option<bool>,
    pub buyback_min_profit_bps: Option<u32>,
    pub buyback_max_native: Option<u64>,
    pub buyback_reference_price: Option<f64>,
    pub buyback_slippage_bps: Option<u32>,
    pub volatility: Option<bool>,
    pub sweep: Option<bool>,
    pub sweep_every_secs: Option<u64>,
    pub poke: Option<bool>,
    pub poke_every_secs: Option<u64>,
    pub lookup_table: Option<String>,
}

/// Settings after precedence and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub rpc_url: String,
    pub ws_url: String,
    pub keypair: PathBuf,
    /// WAD quote value.
    pub min_profit: i128,
    pub max_priority_fee: u64,
    pub compute_unit_limit: u32,
    pub poll_secs: u64,
    pub metrics_addr: SocketAddr,
    pub dry_run: bool,
    pub once: bool,
    /// `None` unless the buyback crank is enabled.
    pub buyback: Option<BuybackPolicy>,
    /// Crank `update_volatility`.
    pub volatility: bool,
    /// Seconds between fee sweeps; `None` unless sweeping is enabled.
    pub sweep_every_secs: Option<u64>,
    /// Seconds between poke passes; `None` unless poking is enabled.
    pub poke_every_secs: Option<u64>,
    /// Address lookup table to compile v0 transactions against; `None`: legacy ones.
    pub lookup_table: Option<Pubkey>,
}

pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8899";
pub const DEFAULT_COMPUTE_UNIT_LIMIT: u32 = 400_000;
pub const DEFAULT_MAX_PRIORITY_FEE: u64 = 100_000;
pub const DEFAULT_SWEEP_EVERY_SECS: u64 = 3_600;
/// A daily pass: rewards within 28 bps of exact under the standard lock config.
pub const DEFAULT_POKE_EVERY_SECS: u64 = 86_400;

impl Config {
    /// Merges `cli` (flags and environment, as clap read them) over `file`.
    pub fn resolve(cli: &Cli, file: FileConfig) -> Result<Config, String> {
        let policy = buyback_policy(cli, &file)?;
        let rpc_url = cli.rpc_url.clone().or(file.rpc_url).unwrap_or_else(|| DEFAULT_RPC_URL.to_string());
        if !(rpc_url.starts_with("http://") || rpc_url.starts_with("https://")) {
            return Err(format!("rpc_url must start with http:// or https://, got {rpc_url:?}"));
        }
        let ws_url = cli.ws_url.clone().or(file.ws_url).unwrap_or_else(|| ws_from_rpc(&rpc_url));
        let min_profit_usd = cli.min_profit_usd.or(file.min_profit_usd).unwrap_or(0.0);
        if !min_profit_usd.is_finite() || min_profit_usd < 0.0 {
            return Err(format!("min_profit_usd must be a non-negative number, got {min_profit_usd}"));
        }
        let compute_unit_limit =
            cli.compute_unit_limit.or(file.compute_unit_limit).unwrap_or(DEFAULT_COMPUTE_UNIT_LIMIT);
        if !(1..=1_400_000).contains(&compute_unit_limit) {
            return Err(format!("compute_unit_limit must be 1..=1400000, got {compute_unit_limit}"));
        }
        let poll_secs = cli.poll_secs.or(file.poll_secs).unwrap_or(10);
        if poll_secs == 0 {
            return Err("poll_secs must be at least 1".into());
        }
        let sweep_every_secs = cli.sweep_every_secs.or(file.sweep_every_secs).unwrap_or(DEFAULT_SWEEP_EVERY_SECS);
        if !(60..=30 * 86_400).contains(&sweep_every_secs) {
            return Err(format!("sweep_every_secs must be 60..=2592000, got {sweep_every_secs}"));
        }
        let poke_every_secs = cli.poke_every_secs.or(file.poke_every_secs).unwrap_or(DEFAULT_POKE_EVERY_SECS);
        if !(60..=30 * 86_400).contains(&poke_every_secs) {
            return Err(format!("poke_every_secs must be 60..=2592000, got {poke_every_secs}"));
        }
        let lookup_table = match cli.lookup_table.clone().or(file.lookup_table) {
            None => None,
            Some(text) => Some(
                Pubkey::from_str(text.trim())
                    .map_err(|e| format!("lookup_table must be a base58 address, got {text:?} ({e})"))?,
            ),
        };
        Ok(Config {
            rpc_url,
            ws_url,
            keypair: cli.keypair.clone().or(file.keypair).unwrap_or_else(default_keypair),
            // Off-chain only: dollars to WAD, rounded to the nearest micro-dollar.
            min_profit: (min_profit_usd * 1e6).round() as i128 * 1_000_000_000_000,
            max_priority_fee: cli.max_priority_fee.or(file.max_priority_fee).unwrap_or(DEFAULT_MAX_PRIORITY_FEE),
            compute_unit_limit,
            poll_secs,
            metrics_addr: cli.metrics_addr.or(file.metrics_addr).unwrap_or(([127, 0, 0, 1], 9464).into()),
            dry_run: cli.dry_run || file.dry_run.unwrap_or(false),
            once: cli.once,
            buyback: (cli.buyback || file.buyback.unwrap_or(false)).then_some(policy),
            volatility: cli.volatility || file.volatility.unwrap_or(false),
            sweep_every_secs: (cli.sweep || file.sweep.unwrap_or(false)).then_some(sweep_every_secs),
            poke_every_secs: (cli.poke || file.poke.unwrap_or(false)).then_some(poke_every_secs),
            lookup_table,
        })
    }
}

/// The buyback settings, checked even when the crank is off so a typo never waits to bite.
fn buyback_policy(cli: &Cli, file: &FileConfig) -> Result<BuybackPolicy, String> {
    let default = BuybackPolicy::default();
    let min_profit_bps = cli.buyback_min_profit_bps.or(file.buyback_min_profit_bps).unwrap_or(default.min_profit_bps);
    if min_profit_bps > 10_000 {
        return Err(format!("buyback_min_profit_bps must be 0..=10000, got {min_profit_bps}"));
    }
    let slippage_bps = cli.buyback_slippage_bps.or(file.buyback_slippage_bps).unwrap_or(default.slippage_bps);
    if slippage_bps > 10_000 {
        return Err(format!("buyback_slippage_bps must be 0..=10000, got {slippage_bps}"));
    }
    let max_native_per_fill = cli.buyback_max_native.or(file.buyback_max_native).unwrap_or(u64::MAX);
    if max_native_per_fill == 0 {
        return Err("buyback_max_native must be at least 1".into());
    }
    let reference = match cli.buyback_reference_price.or(file.buyback_reference_price) {
        None => ReferencePrice::OracleMid,
        // Off-chain only: dollars to WAD per whole token, to the nearest nano-dollar.
        Some(usd) if usd.is_finite() && (1e-9..=1e12).contains(&usd) => {
            ReferencePrice::PerToken((usd * 1e9).round() as u128 * 1_000_000_000)
        }
        Some(usd) => return Err(format!("buyback_reference_price must be a USD price in 1e-9..=1e12, got {usd}")),
    };
    Ok(BuybackPolicy { min_profit_bps, max_native_per_fill, reference, slippage_bps })
}

/// Parses a TOML config file's text.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| format!("config file: {e}"))
}

fn ws_from_rpc(rpc: &str) -> String {
    let ws = rpc.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    // A local validator serves websockets on the RPC port + 1.
    ws.replace(":8899", ":8900")
}

fn default_keypair() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".config/solana/id.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file = parse_file("rpc_url = \"https://rpc.example\"\nmin_profit_usd = 2.5\npoll_secs = 3\n").unwrap();
        let cli = Cli { poll_secs: Some(7), ..Cli::default() };
        let c = Config::resolve(&cli, file).unwrap();
        assert_eq!(c.rpc_url, "https://rpc.example");
        assert_eq!(c.ws_url, "wss://rpc.example");
        assert_eq!(c.poll_secs, 7);
        assert_eq!(c.min_profit, 2_500_000_000_000_000_000);
        assert_eq!(c.compute_unit_limit, DEFAULT_COMPUTE_UNIT_LIMIT);
        assert!(!c.dry_run && !c.once);
    }

    #[test]
    fn local_validator_defaults() {
        let c = Config::resolve(&Cli::default(), FileConfig::default()).unwrap();
        assert_eq!((c.rpc_url.as_str(), c.ws_url.as_str()), (DEFAULT_RPC_URL, "ws://127.0.0.1:8900"));
    }

    #[test]
    fn bad_values_are_named() {
        let bad = |cli: Cli| Config::resolve(&cli, FileConfig::default()).unwrap_err();
        assert!(bad(Cli { rpc_url: Some("ftp://x".into()), ..Cli::default() }).contains("rpc_url"));
        assert!(bad(Cli { min_profit_usd: Some(-1.0), ..Cli::default() }).contains("min_profit_usd"));
        assert!(bad(Cli { compute_unit_limit: Some(0), ..Cli::default() }).contains("compute_unit_limit"));
        assert!(bad(Cli { poll_secs: Some(0), ..Cli::default() }).contains("poll_secs"));
        assert!(parse_file("rpc_urll = \"x\"").unwrap_err().contains("unknown field"));
        assert!(parse_file("poll_secs = \"ten\"").is_err());
    }

    #[test]
    fn buyback_is_off_unless_asked_and_flags_beat_the_file() {
        assert_eq!(Config::resolve(&Cli::default(), FileConfig::default()).unwrap().buyback, None);
        let file = parse_file(
            "buyback = true\nbuyback_min_profit_bps = 25\nbuyback_max_native = 7000000\nbuyback_slippage_bps = 10\n",
        )
        .unwrap();
        let from_file = Config::resolve(&Cli::default(), file).unwrap().buyback.unwrap();
        let expected = BuybackPolicy {
            min_profit_bps: 25,
            max_native_per_fill: 7_000_000,
            reference: ReferencePrice::OracleMid,
            slippage_bps: 10,
        };
        assert_eq!(from_file, expected);
        // clap reads flags and BALLAST_* variables into the same fields: either beats the file.
        let cli = Cli { buyback_min_profit_bps: Some(80), buyback_reference_price: Some(1.85), ..Cli::default() };
        let file = parse_file("buyback = true\nbuyback_min_profit_bps = 25\nbuyback_reference_price = 3.0\n").unwrap();
        let merged = Config::resolve(&cli, file).unwrap().buyback.unwrap();
        assert_eq!(merged.min_profit_bps, 80);
        assert_eq!(merged.reference, ReferencePrice::PerToken(1_850_000_000_000_000_000));
        let defaults = Config::resolve(&Cli { buyback: true, ..Cli::default() }, FileConfig::default()).unwrap();
        assert_eq!(defaults.buyback, Some(BuybackPolicy::default()));
    }

    #[test]
    fn bad_buyback_values_are_named_even_when_it_is_off() {
        let bad = |cli: Cli| Config::resolve(&cli, FileConfig::default()).unwrap_err();
        assert!(bad(Cli { buyback_min_profit_bps: Some(10_001), ..Cli::default() }).contains("buyback_min_profit_bps"));
        assert!(bad(Cli { buyback_slippage_bps: Some(20_000), ..Cli::default() }).contains("buyback_slippage_bps"));
        assert!(bad(Cli { buyback_max_native: Some(0), ..Cli::default() }).contains("buyback_max_native"));
        for price in [0.0, -2.0, f64::NAN, f64::INFINITY] {
            let cli = Cli { buyback_reference_price: Some(price), ..Cli::default() };
            assert!(bad(cli).contains("buyback_reference_price"), "{price}");
        }
        assert!(parse_file("buyback_reference_price = \"two\"").is_err());
    }

    #[test]
    fn buyback_flags_parse_from_the_command_line() {
        let cli = Cli::try_parse_from([
            "keeper",
            "--buyback",
            "--buyback-min-profit-bps",
            "40",
            "--buyback-max-native",
            "5000000",
            "--buyback-reference-price",
            "2.05",
            "--buyback-slippage-bps",
            "20",
        ])
        .unwrap();
        assert!(cli.buyback);
        assert_eq!(
            (cli.buyback_min_profit_bps, cli.buyback_max_native, cli.buyback_slippage_bps),
            (Some(40), Some(5_000_000), Some(20))
        );
        assert_eq!(cli.buyback_reference_price, Some(2.05));
        assert!(Cli::try_parse_from(["keeper", "--buyback-max-native", "-1"]).is_err());
    }

    #[test]
    fn poking_is_off_unless_asked_and_its_interval_is_checked() {
        assert_eq!(Config::resolve(&Cli::default(), FileConfig::default()).unwrap().poke_every_secs, None);
        let on = Config::resolve(&Cli { poke: true, ..Cli::default() }, FileConfig::default()).unwrap();
        assert_eq!(on.poke_every_secs, Some(DEFAULT_POKE_EVERY_SECS));
        let file = parse_file("poke = true\npoke_every_secs = 3600\n").unwrap();
        assert_eq!(Config::resolve(&Cli::default(), file).unwrap().poke_every_secs, Some(3_600));
        let cli = Cli::try_parse_from(["keeper", "--poke", "--poke-every-secs", "7200"]).unwrap();
        assert_eq!(Config::resolve(&cli, FileConfig::default()).unwrap().poke_every_secs, Some(7_200));
        for bad in [0, 59, 30 * 86_400 + 1] {
            let cli = Cli { poke_every_secs: Some(bad), ..Cli::default() };
            assert!(Config::resolve(&cli, FileConfig::default()).unwrap_err().contains("poke_every_secs"), "{bad}");
        }
    }

    #[test]
    fn sweeping_is_off_unless_asked_and_its_interval_is_checked() {
        assert_eq!(Config::resolve(&Cli::default(), FileConfig::default()).unwrap().sweep_every_secs, None);
        let on = Config::resolve(&Cli { sweep: true, ..Cli::default() }, FileConfig::default()).unwrap();
        assert_eq!(on.sweep_every_secs, Some(DEFAULT_SWEEP_EVERY_SECS));
        let file = parse_file("sweep = true\nsweep_every_secs = 600\n").unwrap();
        assert_eq!(Config::resolve(&Cli::default(), file).unwrap().sweep_every_secs, Some(600));
        let cli = Cli::try_parse_from(["keeper", "--sweep", "--sweep-every-secs", "900"]).unwrap();
        assert_eq!(Config::resolve(&cli, FileConfig::default()).unwrap().sweep_every_secs, Some(900));
        for bad in [0, 59, 30 * 86_400 + 1] {
            let cli = Cli { sweep_every_secs: Some(bad), ..Cli::default() };
            assert!(Config::resolve(&cli, FileConfig::default()).unwrap_err().contains("sweep_every_secs"), "{bad}");
        }
    }

    #[test]
    fn the_lookup_table_comes_from_the_flag_or_the_file_and_is_checked() {
        assert_eq!(Config::resolve(&Cli::default(), FileConfig::default()).unwrap().lookup_table, None);
        let (from_file, from_flag) = (Pubkey::new_unique(), Pubkey::new_unique());
        let file = || parse_file(&format!("lookup_table = \"{from_file}\"\n")).unwrap();
        assert_eq!(Config::resolve(&Cli::default(), file()).unwrap().lookup_table, Some(from_file));
        let cli = Cli::try_parse_from(["keeper", "--lookup-table", &from_flag.to_string()]).unwrap();
        assert_eq!(Config::resolve(&cli, file()).unwrap().lookup_table, Some(from_flag));
        for bad in ["", "not-an-address", "0OIl", &format!("{from_flag}x")] {
            let cli = Cli { lookup_table: Some(bad.to_string()), ..Cli::default() };
            let err = Config::resolve(&cli, FileConfig::default()).unwrap_err();
            assert!(err.contains("lookup_table must be a base58 address"), "{bad}: {err}");
        }
        let file = parse_file("lookup_table = \"nope\"\n").unwrap();
        assert!(Config::resolve(&Cli::default(), file).unwrap_err().contains("lookup_table"));
        assert!(parse_file("lookup_table = 7\n").is_err());
    }

    #[test]
    fn flags_parse_from_the_command_line() {
        let cli = Cli::try_parse_from(["keeper", "--dry-run", "--once", "--min-profit-usd", "1.5"]).unwrap();
        assert!(cli.dry_run && cli.once);
        assert_eq!(cli.min_profit_usd, Some(1.5));
        assert!(Cli::try_parse_from(["keeper", "--min-profit-usd", "lots"]).is_err());
    }
}
