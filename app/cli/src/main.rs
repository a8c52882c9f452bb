//! `ballast-cli`: operator commands against a live cluster.
//!
//!   ballast-cli deploy --config migrations/deploy.json [--dry-run] [--rpc-url URL]
//!
//! Governance transactions, built unsigned for a multisig vault (`--authority`, the signer
//! and fee payer) and printed in base58 after a diff of what they change:
//!
//!   ballast-cli apply-change   --rpc-url URL --authority VAULT --change change.json [--blockhash HASH]
//!   ballast-cli propose-change --rpc-url URL --authority VAULT --change change.json
//!   ballast-cli execute-change --rpc-url URL --authority PAYER --proposal ID
//!   ballast-cli cancel-change  --rpc-url URL --authority VAULT --proposal ID
//!   ballast-cli add-market     --rpc-url URL --authority VAULT --change listing.json [--proposal ID]
//!   ballast-cli launch | accept-admin | cancel-admin-transfer --rpc-url URL --authority VAULT
//!
//! The keeper's address lookup table, created, extended and paid for by `--keypair`:
//!
//!   ballast-cli lookup-table create --rpc-url URL --keypair PAYER.json [--dry-run]
//!   ballast-cli lookup-table extend --rpc-url URL --keypair PAYER.json TABLE [--dry-run]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::{GovernanceAction, Market, Proposal, ProposalStatus, Protocol};
use ballast_cli::config::DeployConfig;
use ballast_cli::deploy::{describe, plan, watched_accounts};
use ballast_cli::governance::{
    classify, clock_unix_timestamp, render_diff, render_proposal, to_base58, unsigned_transaction, ChangeFile,
};
use ballast_cli::lookup_table::{addresses_to_add, extend_instructions};
use ballast_cli::show;
use ballast_client::lookup_table::{
    create_lookup_table, decode_table, protocol_addresses, AddressLookupTableAccount, LookupTable,
};
use ballast_client::{decode, ix};
use ballast_risk::governance::ChangeKind;
use ballast_risk::oracle::OracleReading;
use clap::{Args, Parser, Subcommand};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, Keypair};
use solana_rpc_client::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_signer::Signer;
use solana_transaction::{Hash, Transaction};

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
    /// Apply a change at once: a tightening one, or any change before launch.
    ApplyChange {
        #[command(flatten)]
        tx: TxArgs,
        /// Change file (one of set_market_config, set_protocol_config, set_guardian, transfer_admin).
        #[arg(long)]
        change: PathBuf,
    },
    /// Queue a change in the timelock.
    ProposeChange {
        #[command(flatten)]
        tx: TxArgs,
        /// Change file (as for apply-change, or list_market).
        #[arg(long)]
        change: PathBuf,
    },
    /// Execute a ready proposal (anyone may; --authority pays the fee).
    ExecuteChange {
        #[command(flatten)]
        tx: TxArgs,
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
    },
    /// Cancel a queued proposal.
    CancelChange {
        #[command(flatten)]
        tx: TxArgs,
        #[arg(long)]
        proposal: u64,
    },
    /// List a market: directly before launch, with its ready ListMarket proposal after.
    AddMarket {
        #[command(flatten)]
        tx: TxArgs,
        /// A list_market change file.
        #[arg(long)]
        change: PathBuf,
        /// The ListMarket proposal's id (default: the ready one that matches, after launch).
        #[arg(long)]
        proposal: Option<u64>,
    },
    /// End the setup phase, for good.
    Launch {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Accept a pending admin transfer (--authority is the new admin).
    AcceptAdmin {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Withdraw a pending admin transfer.
    CancelAdminTransfer {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Replace the admin's gates (names: deposit, withdraw, borrow, repay, liquidate, stake,
    /// unstake, claim, sweep_fees, buyback, resolve_bad_debt, create_margin_account,
    /// update_volatility; none for all open). Applies at once.
    SetGates {
        #[command(flatten)]
        tx: TxArgs,
        /// Comma-separated gate names to pause.
        #[arg(long)]
        pause: String,
    },
    /// Pause instruction families for a while, as the guardian (--authority): never
    /// liquidate or repay; time-boxed by the protocol's guardian limits.
    GuardianTrip {
        #[command(flatten)]
        tx: TxArgs,
        /// Comma-separated gate names to pause (as for set-gates).
        #[arg(long)]
        pause: String,
        /// How long, in seconds.
        #[arg(long)]
        secs: u32,
    },
    /// End the guardian's trip (the admin at any time).
    Resume {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Show what the chain holds: the protocol, a market, a margin account or a stake escrow.
    Show {
        /// JSON-RPC URL of the cluster.
        #[arg(long)]
        rpc_url: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        what: Show,
    },
    /// The address lookup table the keeper compiles v0 transactions against (its
    /// `lookup_table` setting): every protocol address, so a liquidation fits a packet.
    LookupTable {
        #[command(subcommand)]
        action: LookupTableAction,
    },
}

#[derive(Subcommand)]
enum LookupTableAction {
    /// Create a table (--keypair is its authority) holding every protocol address; prints
    /// its address for the keeper config.
    Create {
        #[command(flatten)]
        payer: PayerArgs,
    },
    /// Add the protocol addresses the table lacks (markets listed since it was filled).
    Extend {
        #[command(flatten)]
        payer: PayerArgs,
        /// The table's address.
        #[arg(value_parser = Pubkey::from_str)]
        table: Pubkey,
    },
}

/// Where to read the chain, and the key that signs and pays for itself.
#[derive(Args)]
struct PayerArgs {
    /// JSON-RPC URL of the cluster.
    #[arg(long)]
    rpc_url: String,
    /// Keypair file of the payer (the table's authority).
    #[arg(long)]
    keypair: PathBuf,
    /// List the addresses that would be added without sending anything.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand)]
enum Show {
    /// Admin, guardian, gates, regime, timelock and totals.
    Protocol,
    /// A market's books, rates, caps, pools, feed and weights in force.
    Market {
        /// The market's index, mint or address.
        market: String,
    },
    /// A margin account's balances, health and liquidation prices.
    Account {
        /// The margin account's address.
        account: String,
    },
    /// Every queued proposal (waiting, ready or expired) with its diff.
    Proposals,
    /// A stake escrow's amount, lock, weight now (decayed since its checkpoint) and the
    /// penalty of leaving now.
    Stake {
        /// The escrow's address, or its owner's.
        escrow: String,
    },
}

/// Where to read the chain and who signs.
#[derive(Args)]
struct TxArgs {
    /// JSON-RPC URL of the cluster.
    #[arg(long)]
    rpc_url: String,
    /// The key that signs and pays: the admin's multisig vault (e.g. a Squads vault PDA).
    #[arg(long, value_parser = Pubkey::from_str)]
    authority: Pubkey,
    /// A recent blockhash to build with instead of fetching one.
    #[arg(long, value_parser = Hash::from_str)]
    blockhash: Option<Hash>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Deploy { config, dry_run, rpc_url } => deploy(&config, dry_run, rpc_url),
        Command::ApplyChange { tx, change } => change_tx(&tx, &change, false),
        Command::ProposeChange { tx, change } => change_tx(&tx, &change, true),
        Command::ExecuteChange { tx, proposal } => execute_change(&tx, proposal),
        Command::CancelChange { tx, proposal } => cancel_change(&tx, proposal),
        Command::AddMarket { tx, change, proposal } => add_market(&tx, &change, proposal),
        Command::Launch { tx } => launch(&tx),
        Command::AcceptAdmin { tx } => accept_admin(&tx),
        Command::CancelAdminTransfer { tx } => cancel_admin_transfer(&tx),
        Command::SetGates { tx, pause } => set_gates(&tx, &pause),
        Command::GuardianTrip { tx, pause, secs } => guardian_trip(&tx, &pause, secs),
        Command::Resume { tx } => resume(&tx),
        Command::Show { rpc_url, json, what } => show(&rpc_url, json, &what),
        Command::LookupTable { action: LookupTableAction::Create { payer } } => lookup_table_create(&payer),
        Command::LookupTable { action: LookupTableAction::Extend { payer, table } } => {
            lookup_table_extend(&payer, table)
        }
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
    let admin = read_keypair(&keypair_path)?;
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
    let launched = match &found[0] {
        Some(a) if a.owner == ballast::ID => {
            decode::protocol(&a.data).ok_or("the protocol account does not decode")?.governance.is_launched()
        }
        _ => false,
    };
    let steps = plan(&config, admin.pubkey(), &|k: &Pubkey| existing.contains(k), launched)?;
    if steps.is_empty() {
        println!("nothing to do: the protocol and every market exist");
    }
    for step in &steps {
        if dry_run {
            print!("would send {}", describe(step));
            continue;
        }
        send(&rpc, &admin, &step.instruction, &step.label)?;
    }
    Ok(())
}

fn read_keypair(path: &Path) -> Result<Keypair, String> {
    read_keypair_file(path).map_err(|e| format!("keypair {}: {e}", path.display()))
}

/// Sends `instruction` alone, signed and paid by `signer`, and waits for confirmation.
fn send(rpc: &RpcClient, signer: &Keypair, instruction: &Instruction, label: &str) -> Result<(), String> {
    let blockhash = rpc.get_latest_blockhash().map_err(|e| format!("blockhash: {e}"))?;
    let tx = Transaction::new_signed_with_payer(
        std::slice::from_ref(instruction),
        Some(&signer.pubkey()),
        &[signer],
        blockhash,
    );
    let signature = rpc.send_and_confirm_transaction(&tx).map_err(|e| format!("{label}: {e}"))?;
    println!("{label}: {signature}");
    Ok(())
}

/// Every protocol address a lookup table should hold, from the protocol and its markets.
fn protocol_table_addresses(chain: &Chain) -> Result<Vec<Pubkey>, String> {
    let protocol = chain.protocol()?;
    let markets: Vec<(Pubkey, Market)> = chain.markets()?.into_iter().map(|(key, m, _)| (key, m)).collect();
    Ok(protocol_addresses(&protocol, &markets))
}

/// Sends `extends` one by one (each its own transaction) unless this is a dry run.
fn send_extends(
    chain: &Chain,
    payer: &Keypair,
    table: Pubkey,
    added: &[Pubkey],
    extends: &[Instruction],
    dry_run: bool,
) -> Result<(), String> {
    for key in added {
        println!("  + {key}");
    }
    if dry_run {
        println!("dry run: would send {} extend transactions", extends.len());
        return Ok(());
    }
    for (i, extend) in extends.iter().enumerate() {
        send(&chain.rpc, payer, extend, &format!("extend {table} ({}/{})", i + 1, extends.len()))?;
    }
    println!(
        "lookup table {table} is ready from the next slot: set lookup_table = \"{table}\" in the keeper config \
         (or --lookup-table {table})"
    );
    Ok(())
}

fn lookup_table_create(args: &PayerArgs) -> Result<(), String> {
    let payer = read_keypair(&args.keypair)?;
    let chain = Chain::new(&args.rpc_url);
    let wanted = protocol_table_addresses(&chain)?;
    // The table's address derives from a recent slot the runtime still knows: a finalized one.
    let slot = chain.rpc.get_slot_with_commitment(CommitmentConfig::finalized()).map_err(|e| format!("slot: {e}"))?;
    let (create, table) = create_lookup_table(payer.pubkey(), payer.pubkey(), slot);
    let empty = LookupTable {
        account: AddressLookupTableAccount { key: table, addresses: Vec::new() },
        authority: Some(payer.pubkey()),
        deactivated: false,
    };
    // The same checks as an extend of the new, empty table (e.g. too many addresses).
    let wanted = addresses_to_add(&empty, payer.pubkey(), &wanted)?;
    println!("lookup table {table} (authority {}): {} protocol addresses", payer.pubkey(), wanted.len());
    if !args.dry_run {
        send(&chain.rpc, &payer, &create, &format!("create {table}"))?;
    }
    let extends = extend_instructions(table, payer.pubkey(), &wanted);
    send_extends(&chain, &payer, table, &wanted, &extends, args.dry_run)
}

fn lookup_table_extend(args: &PayerArgs, table: Pubkey) -> Result<(), String> {
    let payer = read_keypair(&args.keypair)?;
    let chain = Chain::new(&args.rpc_url);
    let wanted = protocol_table_addresses(&chain)?;
    let account = chain.rpc.get_account(&table).map_err(|e| format!("lookup table {table}: {e}"))?;
    let current = decode_table(table, &account.owner, &account.data)?;
    let added = addresses_to_add(&current, payer.pubkey(), &wanted)?;
    println!(
        "lookup table {table}: holds {} addresses, {} protocol addresses to add",
        current.account.addresses.len(),
        added.len()
    );
    if added.is_empty() {
        return Ok(());
    }
    let extends = extend_instructions(table, payer.pubkey(), &added);
    send_extends(&chain, &payer, table, &added, &extends, args.dry_run)
}

/// The cluster, read through RPC.
struct Chain {
    rpc: RpcClient,
}

impl Chain {
    fn new(url: &str) -> Chain {
        Chain { rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()) }
    }

    fn data(&self, key: &Pubkey, what: &str) -> Result<Vec<u8>, String> {
        let account = self.rpc.get_account(key).map_err(|e| format!("{what} {key}: {e}"))?;
        if account.owner != ballast::ID {
            return Err(format!("{what} {key} is not owned by the Ballast program {}", ballast::ID));
        }
        Ok(account.data)
    }

    fn protocol(&self) -> Result<Protocol, String> {
        let data = self.data(&ix::protocol_pda(), "protocol")?;
        Ok(*decode::protocol(&data).ok_or("the protocol account does not decode")?)
    }

    fn market(&self, key: &Pubkey) -> Result<Market, String> {
        let data = self.data(key, "market")?;
        Ok(*decode::market(&data).ok_or(format!("market {key} does not decode"))?)
    }

    /// Every market of the protocol with its feed's reading (`None` if it does not read).
    fn markets(&self) -> Result<Vec<(Pubkey, Market, Option<OracleReading>)>, String> {
        let config = RpcProgramAccountsConfig {
            filters: Some(ballast_keeper::bot::market_filters()),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let raw =
            self.rpc.get_program_ui_accounts_with_config(&ballast::ID, config).map_err(|e| format!("markets: {e}"))?;
        let markets: Vec<(Pubkey, Market)> =
            raw.into_iter().filter_map(|(key, ui)| Some((key, *decode::market(&ui.data.decode()?)?))).collect();
        let oracles: Vec<Pubkey> = markets.iter().map(|(_, m)| m.oracle.address).collect();
        let feeds = self.rpc.get_multiple_accounts(&oracles).map_err(|e| format!("feeds: {e}"))?;
        let mut out: Vec<_> = markets
            .into_iter()
            .zip(feeds)
            .map(|((key, m), feed)| {
                let reading = feed.and_then(|f| ballast::oracle::parse_oracle(&m.oracle, &f.owner, &f.data).ok());
                (key, m, reading)
            })
            .collect();
        out.sort_by_key(|(_, m, _)| m.market_index);
        Ok(out)
    }

    fn proposal(&self, id: u64) -> Result<(Pubkey, Proposal), String> {
        let key = ix::proposal_pda(id);
        let data = self.data(&key, "proposal")?;
        Ok((key, decode::proposal(&data).ok_or(format!("proposal {id} ({key}) does not decode"))?))
    }

    fn now(&self) -> Result<i64, String> {
        use anchor_lang::solana_program::sysvar::SysvarId;
        let clock = anchor_lang::prelude::Clock::id();
        let account = self.rpc.get_account(&clock).map_err(|e| format!("clock: {e}"))?;
        clock_unix_timestamp(&account.data).ok_or("clock sysvar too short".to_string())
    }

    /// Prints the transaction for `instruction`, unsigned, in base58.
    fn print_transaction(&self, tx: &TxArgs, label: &str, instruction: Instruction) -> Result<(), String> {
        let blockhash = match tx.blockhash {
            Some(hash) => hash,
            None => {
                let hash = self.rpc.get_latest_blockhash().map_err(|e| format!("blockhash: {e}"))?;
                Hash::new_from_array(hash.to_bytes())
            }
        };
        let transaction = unsigned_transaction(instruction, &tx.authority, blockhash);
        println!(
            "\n{label}: unsigned transaction, signer and fee payer {}, blockhash {blockhash} (base58):",
            tx.authority
        );
        println!("{}", to_base58(&transaction));
        Ok(())
    }
}

/// Warns when `authority` is not the key the program will check.
fn check_signer(tx: &TxArgs, expected: &Pubkey, role: &str) {
    if tx.authority != *expected {
        eprintln!("warning: --authority {} is not the {role} {expected}: the program will refuse it", tx.authority);
    }
}

/// apply-change and propose-change: diff, checks, transaction.
fn change_tx(tx: &TxArgs, path: &Path, propose: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let change = ChangeFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    let market = change.market().map(|key| chain.market(&key)).transpose()?;
    let action = change.resolve(&protocol, market.as_ref())?;
    action.validate().map_err(|e| format!("out of bounds: {e}"))?;
    let base = action.current(&protocol, market.as_ref()).map_err(|e| e.to_string())?;
    print!("{}", render_diff(&action, &base, &protocol)?);
    check_signer(tx, &protocol.admin, "protocol admin");
    let (_, kind) = classify(&action, &base)?;
    if kind == ChangeKind::NoChange {
        return Err("the change leaves every parameter as it is".into());
    }
    // Turning emissions on: the program checks the native mint's authority.
    let with_mint = |instruction: Instruction| match action.turns_emissions_on(&base) {
        true => ix::with_native_mint(instruction, protocol.native_mint),
        false => instruction,
    };
    if propose {
        let id = protocol.governance.proposal_count;
        println!(
            "proposal id {id} ({}); ready {} s after it lands",
            ix::proposal_pda(id),
            protocol.config.timelock.delay_secs
        );
        return chain.print_transaction(
            tx,
            "propose_change",
            with_mint(ix::propose_change(tx.authority, id, action.clone())),
        );
    }
    if matches!(action, GovernanceAction::ListMarket { .. }) {
        return Err("a listing goes through add-market (after launch: propose-change, then add-market)".into());
    }
    if kind.needs_timelock() && protocol.governance.is_launched() {
        return Err("this change loosens a parameter: use propose-change".into());
    }
    chain.print_transaction(tx, "apply_change", with_mint(ix::apply_change(tx.authority, action.clone())))
}

fn execute_change(tx: &TxArgs, id: u64) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    let (key, proposal) = chain.proposal(id)?;
    let market = proposal.action.market().map(|k| chain.market(&k)).transpose()?;
    let current = proposal.action.current(&protocol, market.as_ref()).ok();
    let now = chain.now()?;
    print!("{}", render_proposal(&key, &proposal, current.as_ref(), now));
    if proposal.status != ProposalStatus::Queued {
        return Err("the proposal is no longer queued".into());
    }
    if now > proposal.expires_at {
        return Err("the proposal has expired".into());
    }
    if matches!(proposal.action, GovernanceAction::ListMarket { .. }) {
        return Err("a ListMarket proposal is executed by add-market".into());
    }
    if current.as_ref() != Some(&proposal.base) {
        return Err("the proposal is stale: propose it again".into());
    }
    if now < proposal.ready_at {
        eprintln!("warning: not ready for {} s: the transaction fails until then", proposal.ready_at - now);
    }
    let mut instruction = ix::execute_change(key, &proposal.action);
    if proposal.action.turns_emissions_on(&proposal.base) {
        instruction = ix::with_native_mint(instruction, protocol.native_mint);
    }
    chain.print_transaction(tx, "execute_change", instruction)
}

fn cancel_change(tx: &TxArgs, id: u64) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    let (key, proposal) = chain.proposal(id)?;
    print!("{}", render_proposal(&key, &proposal, None, chain.now()?));
    check_signer(tx, &protocol.admin, "protocol admin");
    if proposal.status != ProposalStatus::Queued {
        return Err("the proposal is no longer queued".into());
    }
    chain.print_transaction(tx, "cancel_change", ix::cancel_change(tx.authority, key))
}

fn add_market(tx: &TxArgs, path: &Path, proposal: Option<u64>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ChangeFile::ListMarket(entry) = ChangeFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
    else {
        return Err(format!("{}: add-market takes a list_market change file", path.display()));
    };
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    let action = GovernanceAction::ListMarket { mint: entry.mint, oracle: entry.oracle, config: entry.config };
    action.validate().map_err(|e| format!("out of bounds: {e}"))?;
    print!("{}", render_diff(&action, &action, &protocol)?);
    check_signer(tx, &protocol.admin, "protocol admin");
    let proposal = match proposal {
        Some(id) => Some(chain.proposal(id)?),
        None if protocol.governance.is_launched() => Some(find_listing(&chain, &protocol, &action)?),
        None => None,
    };
    if let Some((key, p)) = &proposal {
        print!("{}", render_proposal(key, p, None, chain.now()?));
        if p.action != action {
            return Err("the proposal lists another mint, oracle or config".into());
        }
    }
    let instruction =
        ix::add_market_with(tx.authority, entry.mint, entry.oracle, entry.config, proposal.map(|(key, _)| key));
    chain.print_transaction(tx, &format!("add_market {}", entry.name), instruction)
}

/// The queued ListMarket proposal for exactly `action`.
fn find_listing(chain: &Chain, protocol: &Protocol, action: &GovernanceAction) -> Result<(Pubkey, Proposal), String> {
    let keys: Vec<Pubkey> = (0..protocol.governance.proposal_count).map(ix::proposal_pda).collect();
    for chunk in keys.chunks(100) {
        let accounts = chain.rpc.get_multiple_accounts(chunk).map_err(|e| format!("proposals: {e}"))?;
        for (key, account) in chunk.iter().zip(accounts) {
            let found = account.filter(|a| a.owner == ballast::ID).and_then(|a| decode::proposal(&a.data));
            if let Some(p) = found.filter(|p| p.status == ProposalStatus::Queued && p.action == *action) {
                return Ok((*key, p));
            }
        }
    }
    Err("the protocol is launched and no queued ListMarket proposal matches: propose-change first".into())
}

fn launch(tx: &TxArgs) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    if protocol.governance.is_launched() {
        return Err(format!("already launched at {}", protocol.governance.launched_at));
    }
    println!(
        "launch: ends the setup phase for good; loosening changes and listings then wait {} s",
        protocol.config.timelock.delay_secs
    );
    check_signer(tx, &protocol.admin, "protocol admin");
    chain.print_transaction(tx, "launch", ix::launch(tx.authority))
}

fn set_gates(tx: &TxArgs, pause: &str) -> Result<(), String> {
    let gates = show::gate_mask(pause)?;
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    println!("set_gates: {:?} -> {:?}", show::gate_names(protocol.breakers.gates), show::gate_names(gates));
    if ballast_risk::gates::repay_without_liquidate(gates) {
        return Err("repay may be paused only together with liquidate".into());
    }
    check_signer(tx, &protocol.admin, "protocol admin");
    chain.print_transaction(tx, "set_gates", ix::set_gates(tx.authority, gates))
}

fn guardian_trip(tx: &TxArgs, pause: &str, secs: u32) -> Result<(), String> {
    let mask = show::gate_mask(pause)?;
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    if !ballast_risk::gates::guardian_mask_is_valid(mask) {
        return Err("the guardian may pause something, and never liquidate or repay".into());
    }
    println!("guardian_trip: pauses {:?} for {secs} s", show::gate_names(mask));
    check_signer(tx, &protocol.guardian, "guardian");
    chain.print_transaction(tx, "guardian_trip", ix::guardian_trip(tx.authority, secs, mask))
}

fn resume(tx: &TxArgs) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = chain.protocol()?;
    println!(
        "resume: ends the guardian's trip (paused until {}: {:?})",
        protocol.breakers.guardian_paused_until_ts,
        show::gate_names(protocol.breakers.guardian_mask)
    );
    check_signer(tx, &protocol.admin, "protocol admin");
    chain.print_transaction(tx, "resume", ix::resume(tx.authority))
}

fn show(rpc_url: &str, json: bool, what: &Show) -> Result<(), String> {
    let chain = Chain::new(rpc_url);
    let now = chain.now()?;
    let print = |text: Result<String, serde_json::Error>| text.map(|t| println!("{t}")).map_err(|e| e.to_string());
    macro_rules! out {
        ($view:expr) => {{
            let view = $view;
            if json {
                print(serde_json::to_string_pretty(&view))
            } else {
                print(Ok(show::table(&view)))
            }
        }};
    }
    match what {
        Show::Protocol => out!(show::protocol_view(&ix::protocol_pda(), &chain.protocol()?, now)),
        Show::Market { market } => {
            let markets = chain.markets()?;
            let (key, m, reading) = markets
                .iter()
                .find(|(key, m, _)| {
                    market.parse::<u16>().is_ok_and(|i| i == m.market_index)
                        || Pubkey::from_str(market).is_ok_and(|k| k == *key || k == m.mint)
                })
                .ok_or(format!("no market {market}"))?;
            out!(show::market_view(key, m, reading.as_ref(), now))
        }
        Show::Account { account } => {
            let key = Pubkey::from_str(account).map_err(|e| format!("{account}: {e}"))?;
            let data = chain.data(&key, "margin account")?;
            let margin = *decode::margin_account(&data).ok_or(format!("{key} is not a margin account"))?;
            let markets: Vec<_> = chain.markets()?.into_iter().filter_map(|(k, m, r)| Some((k, m, r?))).collect();
            out!(show::account_view(&key, &margin, &markets, now)?)
        }
        Show::Stake { escrow } => {
            let key = Pubkey::from_str(escrow).map_err(|e| format!("{escrow}: {e}"))?;
            // An owner's key reads as no escrow: look up the escrow PDA of that owner.
            let (key, data) = match chain.data(&key, "stake escrow") {
                Ok(data) if decode::stake_escrow(&data).is_some() => (key, data),
                _ => {
                    let pda = ix::stake_escrow_pda(&key);
                    (pda, chain.data(&pda, "stake escrow")?)
                }
            };
            let stake = *decode::stake_escrow(&data).ok_or(format!("{key} is not a stake escrow"))?;
            out!(show::stake_view(&key, &stake, &chain.protocol()?, now)?)
        }
        Show::Proposals => {
            let protocol = chain.protocol()?;
            let mut queued = Vec::new();
            for id in 0..protocol.governance.proposal_count {
                // A proposal account that no longer reads is not queued.
                let Ok((key, p)) = chain.proposal(id) else { continue };
                if p.status != ProposalStatus::Queued {
                    continue;
                }
                let market = p.action.market().map(|k| chain.market(&k)).transpose()?;
                let current = p.action.current(&protocol, market.as_ref()).ok();
                queued.push(render_proposal(&key, &p, current.as_ref(), now));
            }
            if queued.is_empty() {
                queued.push("no queued proposal\n".into());
            }
            if json {
                print(serde_json::to_string_pretty(&queued))
            } else {
                print(Ok(queued.concat()))
            }
        }
    }
}

/// The protocol, with an admin transfer pending.
fn pending_transfer(chain: &Chain) -> Result<Protocol, String> {
    let protocol = chain.protocol()?;
    if protocol.pending_admin == Pubkey::default() {
        return Err("no admin transfer is pending".into());
    }
    Ok(protocol)
}

fn accept_admin(tx: &TxArgs) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = pending_transfer(&chain)?;
    println!("accept_admin: admin {} -> {}", protocol.admin, protocol.pending_admin);
    check_signer(tx, &protocol.pending_admin, "pending admin");
    chain.print_transaction(tx, "accept_admin", ix::accept_admin(tx.authority))
}

fn cancel_admin_transfer(tx: &TxArgs) -> Result<(), String> {
    let chain = Chain::new(&tx.rpc_url);
    let protocol = pending_transfer(&chain)?;
    println!("cancel_admin_transfer: pending admin {} withdrawn", protocol.pending_admin);
    check_signer(tx, &protocol.admin, "protocol admin");
    chain.print_transaction(tx, "cancel_admin_transfer", ix::cancel_admin_transfer(tx.authority))
}
