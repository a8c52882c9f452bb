//! `keeper`: liquidates unhealthy Ballast margin accounts on a live cluster and, with
//! `--buyback`, cranks the buyback auction; with `--volatility`, samples the native
//! token's volatility (`update_volatility`) whenever a sample is due; with `--sweep`,
//! sweeps every market's protocol fees (`sweep_fees`) on a timer; with `--poke`,
//! checkpoints decaying stake weights (`poke_stake`) on a timer.
//!
//! Reacts to margin-account changes over websockets and rescans on a timer as a
//! fallback (sooner when a buyback curve is about to reach the profit threshold);
//! `--once` scans and acts once, `--dry-run` simulates but never sends. With
//! `--lookup-table` (or `lookup_table` in the config file) transactions are v0 messages
//! compiled against that address lookup table; legacy ones otherwise.
//! Serves Prometheus metrics on /metrics and liveness on /healthz.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ballast_keeper::bot::{margin_account_filters, Bot};
use ballast_keeper::buyback::sleep_secs;
use ballast_keeper::config::{parse_file, Cli, Config, FileConfig};
use ballast_keeper::metrics::{serve, unix_now, Metrics};
use clap::Parser;
use futures_util::StreamExt;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::RpcProgramAccountsConfig;
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|t| parse_file(&t))
        {
            Ok(file) => file,
            Err(e) => return fail(&e),
        },
        None => FileConfig::default(),
    };
    let config = match Config::resolve(&cli, file) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    let payer = match solana_keypair::read_keypair_file(&config.keypair) {
        Ok(k) => k,
        Err(e) => return fail(&format!("keypair {}: {e}", config.keypair.display())),
    };
    let metrics = Arc::new(Metrics::default());
    if !config.once {
        let listener = match tokio::net::TcpListener::bind(config.metrics_addr).await {
            Ok(l) => l,
            Err(e) => return fail(&format!("metrics address {}: {e}", config.metrics_addr)),
        };
        tokio::spawn(serve(listener, metrics.clone(), 3 * config.poll_secs as i64 + 30));
    }
    let changed = Arc::new(Notify::new());
    if !config.once {
        tokio::spawn(watch_accounts(config.ws_url.clone(), changed.clone()));
    }
    let bot = Bot::new(config.clone(), payer, metrics);
    if let Err(e) = bot.load_lookup_table().await {
        return fail(&format!("lookup_table: {e}"));
    }
    loop {
        let mut failed = false;
        if let Err(e) = bot.run_once().await {
            eprintln!("scan failed: {e}");
            failed = true;
        }
        let mut wake_at = None;
        if let Some(policy) = &config.buyback {
            match bot.run_buybacks_once(policy).await {
                Ok(pass) => wake_at = pass.wake_at,
                Err(e) => {
                    eprintln!("buyback pass failed: {e}");
                    failed = true;
                }
            }
        }
        if config.volatility {
            match bot.run_volatility_once().await {
                Ok(due) => wake_at = [wake_at, due].into_iter().flatten().min(),
                Err(e) => {
                    eprintln!("volatility pass failed: {e}");
                    failed = true;
                }
            }
        }
        if let Some(every_secs) = config.sweep_every_secs {
            match bot.run_sweeps_once(every_secs).await {
                Ok(due) => wake_at = [wake_at, Some(due)].into_iter().flatten().min(),
                Err(e) => {
                    eprintln!("sweep pass failed: {e}");
                    failed = true;
                }
            }
        }
        if let Some(every_secs) = config.poke_every_secs {
            match bot.run_pokes_once(every_secs).await {
                Ok(due) => wake_at = [wake_at, Some(due)].into_iter().flatten().min(),
                Err(e) => {
                    eprintln!("poke pass failed: {e}");
                    failed = true;
                }
            }
        }
        if config.once {
            return if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
        let sleep = sleep_secs(config.poll_secs, wake_at, unix_now());
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(sleep)) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
    }
}

/// Wakes the main loop whenever a margin account changes; reconnects with a delay.
async fn watch_accounts(ws_url: String, changed: Arc<Notify>) {
    loop {
        match PubsubClient::new(ws_url.as_str()).await {
            Ok(client) => {
                let config = RpcProgramAccountsConfig { filters: Some(margin_account_filters()), ..Default::default() };
                match client.program_subscribe(&ballast::ID, Some(config)).await {
                    Ok((mut stream, _unsubscribe)) => {
                        while stream.next().await.is_some() {
                            changed.notify_one();
                        }
                        eprintln!("websocket subscription ended; reconnecting");
                    }
                    Err(e) => eprintln!("programSubscribe failed: {e}"),
                }
            }
            Err(e) => eprintln!("websocket {ws_url}: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
