//! `ballast-cli`: operator commands against a live cluster.
//!
//!   ballast-cli deploy --config migrations/deploy.json [--dry-run] [--rpc-url URL]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anchor_lang::prelude::Pubkey;
use ballast_cli::config::DeployConfig;
use ballast_cli::deploy::{describe, plan, watched_accounts};
use clap::{Parser, Subcommand};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, Keypair};
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

#[derive(Parser)]
#[command(name = "ballast-cli", about = "Ballast operator commands", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initialise the protocol and list the config's markets; skips what already exists.
    Deploy {
        /// Deployment config (see migrations/deploy.example.json).
        #[arg(long)]
        config: PathBuf,
        /// Print the planned instructions without sending them.
        #[arg(long)]
        dry_run: bool,
        /// Overrides the config's cluster URL.
        #[arg(long)]
        rpc_url: Option<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Deploy { config, dry_run, rpc_url } => deploy(&config, dry_run, rpc_url),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn deploy(path: &Path, dry_run: bool, rpc_url: Option<String>) -> Result<(), String> {
    let config = DeployConfig::load(path)?;
    let keypair_path = config.admin_keypair_path();
    let admin: Keypair =
        read_keypair_file(&keypair_path).map_err(|e| format!("keypair {}: {e}", keypair_path.display()))?;
    let url = rpc_url.unwrap_or_else(|| config.cluster.clone());
    let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
    println!("program {} on {url}, admin {}", ballast::ID, admin.pubkey());

    let watched = watched_accounts(&config);
    let found = rpc.get_multiple_accounts(&watched).map_err(|e| format!("reading accounts: {e}"))?;
    let existing: Vec<Pubkey> = watched
        .iter()
        .zip(&found)
        .filter(|(_, a)| a.as_ref().is_some_and(|a| a.owner == ballast::ID))
        .map(|(k, _)| *k)
        .collect();
    if let Some(protocol) = found[0].as_ref().filter(|a| a.owner == ballast::ID) {
        // Protocol.admin sits right after the discriminator.
        let current = Pubkey::try_from(&protocol.data[8..40]).map_err(|_| "protocol account too short")?;
        if current != admin.pubkey() {
            return Err(format!("the protocol admin is {current}, not {}", admin.pubkey()));
        }
    }
    let steps = plan(&config, admin.pubkey(), &|k: &Pubkey| existing.contains(k));
    if steps.is_empty() {
        println!("nothing to do: the protocol and every market exist");
    }
    for step in &steps {
        if dry_run {
            print!("would send {}", describe(step));
            continue;
        }
        let blockhash = rpc.get_latest_blockhash().map_err(|e| format!("blockhash: {e}"))?;
        let tx = Transaction::new_signed_with_payer(
            std::slice::from_ref(&step.instruction),
            Some(&admin.pubkey()),
            &[&admin],
            blockhash,
        );
        let signature = rpc.send_and_confirm_transaction(&tx).map_err(|e| format!("{}: {e}", step.label))?;
        println!("{}: {signature}", step.label);
    }
    Ok(())
}
