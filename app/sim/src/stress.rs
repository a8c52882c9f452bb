//! The stress simulation: the real program on the embedded runtime, a native token, a
//! quote stablecoin (USDC) and a collateral market (SOL) with Pyth feeds, and many
//! agents (lenders, leveraged traders, stakers) plus keepers, run hour by hour over a
//! price path. Each hour:
//!
//! * `+0 s`  the feeds publish the hour's prices (unless the oracle is out);
//! * `+5 s`  keepers refresh the markets, sample the native token's volatility (the
//!   program's regime follows it), liquidate every account below maintenance health,
//!   write off bad debt and, every six hours, sweep fees: all with the keeper library's
//!   own code;
//! * `+30 s` a random subset of agents acts (more of them when volatility is high);
//! * `+600 s` the volatility keeper tries again if the native feed held it back at
//!   `+5 s`; the buyback keeper fills the auction where its planner finds it worth it,
//!   and once more later in the hour if the planner says when that will be.
//!
//! Markets are listed without an outflow limit so the opening positions can be built in
//! one go; once they are, the admin sets the real limiter (a tightening, applied at once).
//!
//! While the oracle is out, the feeds stop two minutes before the first dark hour:
//! borrows and withdrawals are refused as stale (counted as expected refusals),
//! liquidations in that first hour still pass the looser liquidation age, and after
//! ten minutes nothing can be priced until the feeds return at the then-current price.
//!
//! Every day and at the end the books are checked (see [`crate::invariants`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::errors::BallastError;
use ballast::governance::GovernanceAction;
use ballast::health::{find_priced, PricedMarket};
use ballast::{MarginAccount, Market, OracleKind, Protocol, ProtocolConfig, StakeEscrow};
use ballast_client::decode;
use ballast_keeper::buyback::BuybackPolicy;
use ballast_keeper::poke::{plan_pokes, POKES_PER_TRANSACTION};
use ballast_keeper::scan::{self, LiquidationPlan, MarketSnapshot};
use ballast_keeper::sweep;
use ballast_keeper::volatility::Wait;
use ballast_risk::oracle::OracleAction;
use ballast_risk::regime::Regime;
use ballast_risk::shares::debt_amount;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction_error::TransactionError;

use crate::agents::{self, Agent, Intent, Profile, Role, StakeExit, View, BAL, MARKETS, MARKET_NAMES, SOL, USDC};
use crate::invariants::{self, MarketBooks};
use crate::ix::{self, MarketTransfer};
use crate::keeper::{buyback_pass, send_liquidation, snapshot_markets, volatility_crank, Liquidator};
use crate::paths::{PricePath, STEP_SECS};
use crate::pyth::PythPrice;
use crate::report::Timeline;
use crate::rng::Rng;
use crate::runtime::{health_pairs, standard_config, BalanceChange, MarketHandle, Runtime, GENESIS_TIME};
use crate::sweep::ConfigChanges;

/// The progress bar [`run`] reports on (`ProgressBar::hidden()` for none).
pub use indicatif::ProgressBar;

/// Fewest agents a run accepts (the roster needs a few of every kind).
pub const MIN_AGENTS: usize = 10;
/// Liquidators competing for each liquidation (a random one takes it).
const LIQUIDATORS: usize = 3;
/// Chance per hour that an agent acts in calm markets (about once a day); multiplied by
/// up to 4 when the observed volatility is high.
const CALM_ACTIVITY: f64 = 1.0 / 24.0;
/// Annualised volatility the sim calls calm: agents' activity and lenders' nerves scale
/// with the observed volatility over this.
const CALM_VOL: f64 = 0.5;
/// Fee sweeps every this many hours.
const SWEEP_EVERY: usize = 6;
/// Hours between the keeper's poke passes over stake escrows (daily, as the keeper's default).
const POKE_EVERY: usize = 24;
/// Books checked every this many hours (and at the end).
const INVARIANTS_EVERY: usize = 24;
/// At most this many liquidations of one account per keeper pass.
const MAX_LIQUIDATION_ROUNDS: usize = 4;
/// Staking emissions: 0.01 native token per second (6 decimals).
const EMISSION_RATE_PER_SEC: u64 = 10_000;
/// The native token's price moves with SOL's at this elasticity (in log terms), from $2.
const NATIVE_BETA: f64 = 0.7;
const NATIVE_START_USD: f64 = 2.0;
/// Pyth-style EMA of the published price: time constant one hour.
const PYTH_EMA_SECS: f64 = 3_600.0;
/// The sim's own observed measures on the path (EWMA of the price and of squared
/// returns): time constant one day.
const SIM_TAU_SECS: f64 = 86_400.0;
const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;
/// Lamports each agent gets for the rent of its accounts (fees are paid by the payer).
const AGENT_LAMPORTS: u64 = 100_000_000;
/// Seconds into each hour at which the keepers, the agents and the buyback keeper act.
const KEEPERS_AT: i64 = 5;
const AGENTS_AT: i64 = 30;
const BUYBACK_AT: i64 = 600;
const BUYBACK_UNTIL: i64 = 3_000;
/// The feeds stop this long before the first hour of an outage.
const OUTAGE_LEAD_SECS: i64 = 120;
const EXPO: i32 = -8;
/// Withdrawals and borrows worth up to this much always pass the outflow limiter; larger
/// ones count against its cap (a quarter of the market's deposits per six hours).
const SMALL_OUTFLOW_USD: f64 = 10_000.0;

/// What to simulate.
pub struct SimConfig {
    pub path: PricePath,
    pub seed: u64,
    /// Lenders, traders and stakers (keepers come on top).
    pub agents: usize,
    /// The feeds' format: PriceUpdateV2 push feeds (mainnet's), or legacy price accounts.
    pub oracle_kind: OracleKind,
}

/// Transactions by action and outcome.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub ok: BTreeMap<&'static str, u64>,
    /// Refusals the program is expected to make under stress (an old, wide or jumpy
    /// price, health, liquidity, caps, a tripped limiter), by action and error.
    pub refused: BTreeMap<(&'static str, String), u64>,
    /// Every other failure: a bug in the simulator or in the program.
    pub failed: BTreeMap<(&'static str, String), u64>,
    /// Transactions a keeper held back because its planner said the program would
    /// refuse them, by action and reason.
    pub held_back: BTreeMap<(&'static str, String), u64>,
}

impl Tally {
    /// Counts `result` under `action`; true if it succeeded.
    pub fn record(&mut self, action: &'static str, result: &Result<(), BanksClientError>) -> bool {
        match result {
            Ok(()) => {
                *self.ok.entry(action).or_default() += 1;
                true
            }
            Err(e) => {
                let (expected, reason) = classify(e);
                let map = if expected { &mut self.refused } else { &mut self.failed };
                *map.entry((action, reason)).or_default() += 1;
                false
            }
        }
    }

    pub fn ok(&self, action: &str) -> u64 {
        self.ok.get(action).copied().unwrap_or(0)
    }

    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }

    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Refusals of `action` with the error `reason`.
    pub fn refused(&self, action: &'static str, reason: &str) -> u64 {
        self.refused.get(&(action, reason.to_string())).copied().unwrap_or(0)
    }
}

/// Program errors a stressed market is expected to produce.
const EXPECTED: [BallastError; 10] = {
    use ballast::errors::BallastError::*;
    [
        OracleStale,
        OracleTooUncertain,
        OracleTooVolatile,
        BelowInitialHealth,
        InsufficientLiquidity,
        BorrowCapExceeded,
        DepositCapExceeded,
        OutflowLimitExceeded,
        // The price move guard after a fast move: no new borrows for its cooldown.
        MarketReduceOnly,
        // A market's USD borrow limit per window (none in the stress run's markets).
        BorrowLimitExceeded,
    ]
};

/// Whether a failed transaction was an expected refusal, and its error's name.
pub fn classify(e: &BanksClientError) -> (bool, String) {
    use solana_instruction_error::InstructionError;
    let err = match e {
        BanksClientError::TransactionError(err) | BanksClientError::SimulationError { err, .. } => err,
        other => return (false, other.to_string()),
    };
    match err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => {
            match EXPECTED.iter().find(|x| u32::from(**x) == *code) {
                Some(x) => (true, x.name()),
                None => (false, format!("custom error {code}")),
            }
        }
        other => (false, other.to_string()),
    }
}

/// A failed transaction's error, with the program's name for its own errors
/// (`InvalidWeights (6040)`).
pub fn program_error(e: &BanksClientError) -> String {
    use solana_instruction_error::InstructionError;
    match e {
        BanksClientError::TransactionError(TransactionError::InstructionError(_, InstructionError::Custom(code)))
        | BanksClientError::SimulationError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(code)),
            ..
        } => match crate::sweep::error_name(*code) {
            Some(name) => format!("{name} ({code})"),
            None => format!("custom error {code}"),
        },
        other => other.to_string(),
    }
}

/// What a run did.
pub struct SimOutcome {
    pub path: PricePath,
    pub seed: u64,
    /// Agents per role label.
    pub roles: BTreeMap<&'static str, usize>,
    /// The liquidators, the buyback keeper and the payer (who refreshes markets, sweeps
    /// fees and writes off bad debt).
    pub keepers: usize,
    pub timeline: Timeline,
    pub tally: Tally,
    /// Every transaction sent (set-up included), accepted or not.
    pub transactions: u64,
    pub setup_transactions: u64,
    pub setup_secs: f64,
    pub wall_secs: f64,
    pub liquidations: u64,
    /// Liquidations made while the oracle was out, on a price older than borrows accept
    /// but within the liquidation age.
    pub outage_liquidations: u64,
    /// Liquidations that took an account's last collateral, the program then writing off
    /// the rest of its debt in that market (counted in `bad_debt_usd`).
    pub liquidation_write_offs: u64,
    /// Liquidations by the market slot of the collateral seized.
    pub liquidations_by_collateral: [u64; MARKETS],
    pub bad_debt_usd: f64,
    pub socialised_usd: f64,
    /// Broken invariants, each with the day it was found.
    pub violations: Vec<String>,
    pub protocol: Protocol,
    pub markets: Vec<(MarketHandle, Market, MarketBooks)>,
    pub native_supply: u64,
    /// The price-pump attackers' runs (see [`crate::attack`]): none from [`run`]; the
    /// `sim` binary adds them.
    pub attacks: Vec<crate::attack::AttackOutcome>,
}

impl SimOutcome {
    pub fn tx_per_sec(&self) -> f64 {
        self.transactions as f64 / self.wall_secs.max(1e-9)
    }
}

/// One Pyth feed as the sim publishes it: a price, a Pyth-style EMA integrated exactly
/// over a linear move between publications, and a confidence that widens with the
/// size of the last move (as Pyth's does when publishers disagree).
#[derive(Debug, Clone)]
struct Feed {
    oracles: Vec<Pubkey>,
    price: f64,
    ema: f64,
    conf: f64,
    publish_time: i64,
}

impl Feed {
    fn new(oracles: Vec<Pubkey>, price: f64, now: i64) -> Feed {
        Feed { oracles, price, ema: price, conf: 0.0005, publish_time: now }
    }

    fn publish(&mut self, price: f64, now: i64) {
        let dt = (now - self.publish_time).max(0) as f64;
        if dt > 0.0 {
            // d(ema)/dt = (p(t) - ema) / tau with p moving linearly from the last price.
            let slope = (price - self.price) / dt;
            let decay = (-dt / PYTH_EMA_SECS).exp();
            self.ema = price - slope * PYTH_EMA_SECS + (self.ema - self.price + slope * PYTH_EMA_SECS) * decay;
        }
        if price != self.price {
            self.conf = (0.0005 + 0.25 * (price / self.price).ln().abs()).min(0.05);
        }
        self.price = price;
        self.publish_time = now;
    }

    fn pyth(&self) -> PythPrice {
        let mantissa = |usd: f64| (usd * 1e8).round() as i64;
        PythPrice {
            price: mantissa(self.price),
            conf: mantissa(self.price * self.conf).unsigned_abs(),
            ema_price: mantissa(self.ema),
            expo: EXPO,
            publish_time: self.publish_time,
            trading: true,
        }
    }
}

/// The sim's own measure of the path: EWMA of the price and of the squared log return
/// per second, blended with weight `dt / (dt + tau)` like the program's estimator.
#[derive(Debug, Clone, Copy)]
struct Observed {
    last: f64,
    ema: f64,
    var_rate: f64,
}

impl Observed {
    fn update(&mut self, price: f64, dt: f64) {
        let w = dt / (dt + SIM_TAU_SECS);
        let r = (price / self.last).ln();
        self.var_rate += w * (r * r / dt - self.var_rate);
        self.ema += w * (price - self.ema);
        self.last = price;
    }

    fn annual_vol(&self) -> f64 {
        (self.var_rate * SECONDS_PER_YEAR).sqrt()
    }
}

/// The breaker state last seen, to tell a new trip from one already reported.
#[derive(Debug, Default, Clone, Copy)]
struct BreakerWatch {
    /// Each market's `reduce_only_until_ts` when last read.
    reduce_only_until: [i64; MARKETS],
    /// The limiter refused an outflow of the market this hour, and the hour before.
    outflow_refused: [bool; MARKETS],
    outflow_refused_before: [bool; MARKETS],
}

/// Running totals of the current step and of the run.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    liquidations: u64,
    outage_liquidations: u64,
    liquidation_write_offs: u64,
    liquidations_by_collateral: [u64; MARKETS],
    step_liquidations: u32,
    step_ok: u32,
    step_refused: u32,
    liquidated_usd: f64,
    bad_debt_usd: f64,
    socialised_usd: f64,
    /// Claimed staker rewards in USD at claim time: native stream, then each market's.
    claimed_usd: [f64; 1 + MARKETS],
}

struct Sim {
    rt: Runtime,
    path: PricePath,
    markets: [MarketHandle; MARKETS],
    feeds: [Feed; MARKETS],
    live: bool,
    agents: Vec<Agent>,
    by_margin: HashMap<Pubkey, usize>,
    liquidators: Vec<Liquidator>,
    buyer: Liquidator,
    breakers: BreakerWatch,
    rng: Rng,
    tally: Tally,
    timeline: Timeline,
    violations: Vec<String>,
    snapshots: Vec<MarketSnapshot>,
    observed: Observed,
    peak: f64,
    step: usize,
    totals: Totals,
}

/// A keypair drawn from the run's generator, so a seed gives the same accounts.
fn keypair(rng: &mut Rng) -> Keypair {
    let mut secret = [0u8; 32];
    for chunk in secret.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    Keypair::new_from_array(secret)
}

/// Markets priced by the program's code at their feeds' own publish times: what an
/// agent's screen shows, whether or not the program would accept the price now.
fn screen_prices(snapshots: &[MarketSnapshot]) -> Vec<PricedMarket> {
    snapshots
        .iter()
        .filter_map(|m| m.market.price(&m.reading, OracleAction::Liquidation, m.reading.publish_time).ok())
        .collect()
}

/// The `p`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs `config`, reporting progress on `progress` (pass `ProgressBar::hidden()` for none).
pub async fn run(config: SimConfig, progress: &ProgressBar) -> Result<SimOutcome, String> {
    run_with_changes(config, &ConfigChanges::none(), progress).await
}

/// Checks that the program accepts the protocol and market configs `changes` make (it
/// validates them when the protocol is initialised and the markets listed): the
/// program's error, named, if not.
pub async fn check_changes(changes: &ConfigChanges, oracle_kind: OracleKind) -> Result<(), String> {
    Sim::start(crate::paths::default_stress(crate::paths::MIN_DAYS, 0), 0, oracle_kind, changes).await.map(drop)
}

/// [`run`] with the protocol's and markets' configs changed by `changes` (a sweep's point).
pub async fn run_with_changes(
    config: SimConfig,
    changes: &ConfigChanges,
    progress: &ProgressBar,
) -> Result<SimOutcome, String> {
    if config.agents < MIN_AGENTS {
        return Err(format!("at least {MIN_AGENTS} agents are needed, got {}", config.agents));
    }
    if config.path.steps() < 2 {
        return Err("the price path needs at least two steps".into());
    }
    let started = Instant::now();
    let mut sim = Sim::start(config.path, config.seed, config.oracle_kind, changes).await?;
    let mut rng = Rng::new(config.seed).fork(3);
    let profiles = agents::roster(config.agents, &mut rng);
    progress.set_length(profiles.len() as u64);
    progress.set_message("setting up agents");
    for profile in &profiles {
        sim.add_agent(*profile).await?;
        progress.inc(1);
    }
    sim.limit_outflows().await?;
    let setup_transactions = sim.rt.transactions;
    let setup_secs = started.elapsed().as_secs_f64();

    let steps = sim.path.steps();
    progress.reset();
    progress.set_length(steps as u64);
    for step in 0..steps {
        sim.step(step).await;
        if (step + 1).is_multiple_of(INVARIANTS_EVERY) {
            sim.check_books().await;
        }
        progress.set_message(format!(
            "day {}/{}  SOL ${:.2}  {} tx",
            step / 24 + 1,
            steps.div_ceil(24),
            sim.path.prices[step],
            sim.rt.transactions
        ));
        progress.inc(1);
    }
    if !steps.is_multiple_of(INVARIANTS_EVERY) {
        sim.check_books().await;
    }
    progress.finish_and_clear();
    sim.finish(config.seed, &profiles, setup_transactions, setup_secs, started).await
}

impl Sim {
    async fn start(
        path: PricePath,
        seed: u64,
        oracle_kind: OracleKind,
        changes: &ConfigChanges,
    ) -> Result<Sim, String> {
        let mut rt = Runtime::start().await;
        rt.oracle_kind = oracle_kind;
        // Emissions fall as the regime worsens (Calm, Elevated, Stressed, Crisis).
        let mut config = ProtocolConfig::standard();
        for (row, tenths) in config.regimes.iter_mut().zip([10, 6, 2, 0]) {
            row.emission_rate_per_sec = EMISSION_RATE_PER_SEC * tenths / 10;
        }
        changes.protocol(&mut config)?;
        let native_mint = rt
            .try_initialize_protocol_with(6, config)
            .await
            .map_err(|e| format!("the program refuses the protocol config: {}", program_error(&e)))?;
        let usdc_mint = rt.create_mint(6).await;
        let sol_mint = rt.create_mint(9).await;
        let now = rt.now;
        let prices = prices_at(&path, 0);
        let mut feeds = Vec::new();
        let mut markets = Vec::new();
        for (slot, mint) in [usdc_mint, sol_mint, native_mint].into_iter().enumerate() {
            let feed = Feed::new(Vec::new(), prices[slot], now);
            let mut cfg = standard_config(u64::MAX / 4, u64::MAX / 8);
            changes.market(slot, &mut cfg)?;
            let handle = rt.try_list_market(mint, feed.pyth(), cfg).await.map_err(|e| {
                format!("the program refuses the {} market's config: {}", MARKET_NAMES[slot], program_error(&e))
            })?;
            markets.push(handle);
            feeds.push(Feed { oracles: vec![handle.oracle], ..feed });
        }
        // The protocol's own native feed publishes the native market's price.
        feeds[BAL].oracles.push(rt.native().oracle);
        let markets: [MarketHandle; MARKETS] = markets.try_into().expect("three markets");
        let feeds: [Feed; MARKETS] = feeds.try_into().expect("three feeds");
        // Liquidators hold a billion dollars of each debt token: liquidations never
        // wait for funding. The buyback keeper pays with a million native tokens.
        let sol_units = ((1e9 / prices[SOL]).min(1e9) as u64).saturating_mul(1_000_000_000);
        let mut liquidators = Vec::new();
        for _ in 0..LIQUIDATORS {
            liquidators.push(Liquidator::new(&mut rt, &[1_000_000_000 * 1_000_000, sol_units, 0]).await);
        }
        let buyer = Liquidator::new(&mut rt, &[0, 0, 1_000_000 * 1_000_000]).await;
        let mut sim = Sim {
            rt,
            markets,
            feeds,
            live: true,
            agents: Vec::new(),
            by_margin: HashMap::new(),
            liquidators,
            buyer,
            breakers: BreakerWatch::default(),
            rng: Rng::new(seed).fork(4),
            tally: Tally::default(),
            timeline: Timeline::default(),
            violations: Vec::new(),
            snapshots: Vec::new(),
            observed: Observed { last: path.prices[0], ema: path.prices[0], var_rate: 0.0 },
            peak: path.prices[0],
            path,
            step: 0,
            totals: Totals::default(),
        };
        sim.publish(&prices, now);
        sim.snapshots = snapshot_markets(&mut sim.rt).await;
        Ok(sim)
    }

    /// Publishes `prices` on every feed as of `at`.
    fn publish(&mut self, prices: &[f64; MARKETS], at: i64) {
        for (feed, &price) in self.feeds.iter_mut().zip(prices) {
            feed.publish(price, at);
            let pyth = feed.pyth();
            for oracle in &feed.oracles {
                self.rt.set_price(oracle, &pyth);
            }
        }
    }

    /// Moves the clock to `at`; live feeds keep publishing (the same prices, fresh).
    fn clock(&mut self, at: i64) {
        self.rt.set_time(at);
        if self.live {
            let prices = self.feeds.each_ref().map(|f| f.price);
            self.publish(&prices, at);
        }
    }

    /// The admin's change once the opening positions stand: every market gets the
    /// conservative configuration's outflow limiter, with outflows up to
    /// [`SMALL_OUTFLOW_USD`] always passing.
    async fn limit_outflows(&mut self) -> Result<(), String> {
        let admin = self.rt.admin.insecure_clone();
        for (slot, name) in MARKET_NAMES.iter().enumerate() {
            let key = self.markets[slot].key;
            let mut config = self.rt.market(&key).await.config;
            config.breakers.small_outflow_threshold = self.tokens_for(slot, SMALL_OUTFLOW_USD);
            let change = ix::apply_change(admin.pubkey(), GovernanceAction::SetMarketConfig { market: key, config });
            if !self.send("apply_change", &[change], &[&admin]).await {
                return Err(format!("setting the outflow limit of {} failed: {:?}", name, self.tally.failed));
            }
        }
        Ok(())
    }

    /// The slot of the market with program index `index`.
    fn slot_of(&self, index: u16) -> Option<usize> {
        self.markets.iter().position(|m| m.index == index)
    }

    fn decimals(&self) -> [u8; MARKETS] {
        self.markets.each_ref().map(|m| m.decimals)
    }

    fn tokens_for(&self, market: usize, usd: f64) -> u64 {
        agents::base_units(usd, self.feeds[market].price, self.markets[market].decimals)
    }

    /// USD value of `units` base units of the token of market slot `market`, at its feed.
    fn usd(&self, market: usize, units: f64) -> f64 {
        agents::usd_value(units, self.feeds[market].price, self.markets[market].decimals)
    }

    async fn send(&mut self, action: &'static str, ixs: &[Instruction], signers: &[&Keypair]) -> bool {
        let result = self.rt.send(ixs, signers).await;
        self.tally.record(action, &result)
    }

    /// Creates an agent's wallet (one transaction: rent lamports, token accounts, funds)
    /// and its opening position (a second: margin account and deposit, plus the
    /// opening borrow for traders; or the stake).
    async fn add_agent(&mut self, profile: Profile) -> Result<(), String> {
        let key = keypair(&mut self.rng);
        let owner = key.pubkey();
        let (wallet_markets, funded, extra): (Vec<usize>, usize, f64) = match profile.role {
            // Lenders keep a third of their funds aside to deposit later.
            Role::Lender { market } => (vec![market], market, 0.3),
            // Active traders keep collateral aside to defend their positions.
            Role::Trader { collateral, debt } => {
                (vec![collateral, debt], collateral, if profile.active { 0.3 } else { 0.0 })
            }
            Role::Staker => (vec![BAL, USDC, SOL], BAL, 0.0),
        };
        let token_keys: Vec<Keypair> = wallet_markets.iter().map(|_| keypair(&mut self.rng)).collect();
        let mut tokens = [None; MARKETS];
        let mut ixs = vec![system_instruction::transfer(&self.rt.payer(), &owner, AGENT_LAMPORTS)];
        for (&m, token) in wallet_markets.iter().zip(&token_keys) {
            ixs.extend(self.rt.token_account_instructions(&token.pubkey(), &self.markets[m].mint, &owner));
            tokens[m] = Some(token.pubkey());
        }
        let amount = self.tokens_for(funded, profile.size_usd);
        let wallet = amount + (amount as f64 * extra) as u64;
        let funded_token = tokens[funded].expect("funded market has an account");
        ixs.push(self.rt.fund_instruction(&self.markets[funded].mint, &funded_token, wallet));
        let signers: Vec<&Keypair> = token_keys.iter().collect();
        if !self.send("setup", &ixs, &signers).await {
            return Err(format!("setting up a {} failed: {:?}", profile.role.label(), self.tally.failed));
        }

        let margin_account = ix::margin_account_pda(&owner, 0);
        let transfer = |m: usize| MarketTransfer {
            owner,
            margin_account,
            market: self.markets[m].key,
            user_token: tokens[m].expect("agent holds the token"),
        };
        let opening: Vec<Instruction> = match profile.role {
            Role::Lender { market } => {
                vec![ix::create_margin_account(owner, 0), ix::deposit(&transfer(market), amount)]
            }
            Role::Trader { collateral, debt } => {
                let priced = screen_prices(&self.snapshots);
                let (Ok(c), Ok(d)) = (find_priced(&priced, collateral as u16), find_priced(&priced, debt as u16))
                else {
                    return Err("the opening prices do not price".into());
                };
                let borrow = agents::opening_borrow(amount, profile.target, c, d);
                // Fresh account: the deposit takes slot 0, the borrow slot 1.
                let pairs = [collateral, debt].map(|m| (self.markets[m].key, self.markets[m].oracle));
                vec![
                    ix::create_margin_account(owner, 0),
                    ix::deposit(&transfer(collateral), amount),
                    ix::borrow(&transfer(debt), borrow, &ix::health_metas(&pairs)),
                ]
            }
            Role::Staker => vec![self.staker_ix(&owner, &tokens).stake(amount, profile.lock_secs)],
        };
        if !self.send("open", &opening, &[&key]).await {
            return Err(format!("opening a {} position failed: {:?}", profile.role.label(), self.tally.failed));
        }
        let has_margin = !matches!(profile.role, Role::Staker);
        let index = self.agents.len();
        self.agents.push(Agent {
            key,
            profile,
            tokens,
            margin_account: has_margin.then_some(margin_account),
            account: None,
            escrow: None,
        });
        if has_margin {
            self.by_margin.insert(margin_account, index);
        }
        self.refresh_agent(index).await;
        Ok(())
    }

    fn staker_ix(&self, owner: &Pubkey, tokens: &[Option<Pubkey>; MARKETS]) -> ix::Staker {
        ix::Staker {
            owner: *owner,
            native_mint: self.markets[BAL].mint,
            owner_native: tokens[BAL].expect("stakers hold the native token"),
        }
    }

    /// Re-reads an agent's margin account and stake escrow.
    async fn refresh_agent(&mut self, i: usize) {
        if let Some(key) = self.agents[i].margin_account {
            let raw = self.rt.raw_account(&key).await;
            self.agents[i].account = raw.and_then(|a| decode::margin_account(&a.data).map(|c| c.into_owned()));
        }
        if self.agents[i].profile.role == Role::Staker {
            let key = ix::stake_escrow_pda(&self.agents[i].key.pubkey());
            let raw = self.rt.raw_account(&key).await;
            self.agents[i].escrow = raw.and_then(|a| decode::view::<StakeEscrow>(&a.data).map(|c| c.into_owned()));
        }
    }

    async fn step(&mut self, step: usize) {
        self.step = step;
        self.totals.step_liquidations = 0;
        self.totals.step_ok = 0;
        self.totals.step_refused = 0;
        let start = GENESIS_TIME + step as i64 * STEP_SECS;
        let prices = prices_at(&self.path, step);
        if step > 0 {
            self.observed.update(self.path.prices[step], STEP_SECS as f64);
        }
        let live = !self.path.in_outage(step);
        if live {
            self.live = true;
            self.publish(&prices, start);
        } else if self.live {
            // The outage begins: the last publication is two minutes old by the keepers' pass.
            self.publish(&prices, start - OUTAGE_LEAD_SECS);
            self.live = false;
        }
        self.peak = self.peak.max(self.feeds[SOL].price);

        self.clock(start + KEEPERS_AT);
        let held_back = self.keeper_pass().await;
        self.clock(start + AGENTS_AT);
        self.agents_pass().await;
        self.clock(start + BUYBACK_AT);
        if held_back {
            self.crank_volatility().await;
        }
        self.buyback(start + BUYBACK_UNTIL).await;
        self.record().await;
    }

    /// The keepers' pass. Returns true if the native feed held the volatility keeper
    /// back.
    async fn keeper_pass(&mut self) -> bool {
        let refresh: Vec<Instruction> = self.markets.iter().map(|m| ix::refresh_market(m.key, m.oracle)).collect();
        self.send("refresh_market", &refresh, &[]).await;
        let held_back = self.crank_volatility().await;
        self.snapshots = snapshot_markets(&mut self.rt).await;
        self.sample_health();
        self.liquidate().await;
        self.resolve_bad_debt().await;
        if self.step.is_multiple_of(SWEEP_EVERY) {
            let sweeps = sweep::plan_sweeps(&self.snapshots, self.rt.now);
            if !sweeps.is_empty() {
                self.send("sweep_fees", &sweeps, &[]).await;
            }
        }
        if self.step.is_multiple_of(POKE_EVERY) {
            self.poke_stakes().await;
        }
        held_back
    }

    /// The keeper's poke pass: checkpoints every escrow whose weight decayed since.
    async fn poke_stakes(&mut self) {
        let mut escrows = Vec::new();
        for agent in self.agents.iter().filter(|a| a.profile.role == Role::Staker) {
            let key = ix::stake_escrow_pda(&agent.key.pubkey());
            if let Some(raw) = self.rt.raw_account(&key).await {
                escrows.extend(decode::view::<StakeEscrow>(&raw.data).map(|e| (key, e.into_owned())));
            }
        }
        let locks = self.rt.protocol().await.config.locks();
        for batch in plan_pokes(&escrows, &locks, self.rt.now).chunks(POKES_PER_TRANSACTION) {
            self.send("poke_stake", batch, &[]).await;
        }
    }

    /// The volatility keeper's turn: sends the crank when its planner says it is due and
    /// the program would take the native feed's price. Returns true when the feed held
    /// it back (worth another try later in the hour).
    async fn crank_volatility(&mut self) -> bool {
        match volatility_crank(&mut self.rt).await {
            Ok(crank) => {
                self.send("update_volatility", &[crank], &[]).await;
                false
            }
            Err(Wait::Until(_)) => false,
            Err(Wait::NativeOracle(reason)) => {
                *self.tally.held_back.entry(("update_volatility", format!("{reason:?}"))).or_default() += 1;
                true
            }
        }
    }

    /// Samples the borrowers' health ratios at the hour's new price, before the
    /// keepers act on it.
    fn sample_health(&mut self) {
        let priced = screen_prices(&self.snapshots);
        let mut ratios: Vec<f64> =
            self.agents.iter().filter_map(|a| agents::health_ratio(a.account.as_ref()?, &priced)).collect();
        ratios.sort_by(f64::total_cmp);
        let t = &mut self.timeline;
        if ratios.is_empty() {
            t.health.push(None);
            t.below_maint.push(0.0);
        } else {
            t.health.push(Some([0.05, 0.25, 0.5, 0.75, 0.95].map(|p| quantile(&ratios, p))));
            t.below_maint.push(ratios.iter().filter(|r| **r < 1.0).count() as f64 / ratios.len() as f64);
        }
    }

    /// Liquidates every account below maintenance health, deepest first, with the
    /// keeper library's scan and sizing (each liquidation restores initial health, so
    /// an account needs another only if the collateral ran short).
    async fn liquidate(&mut self) {
        let priced = scan::price_markets(&self.snapshots, self.rt.now);
        let accounts: Vec<(Pubkey, MarginAccount)> =
            self.agents.iter().filter_map(|a| Some((a.margin_account?, a.account?))).collect();
        let unhealthy = scan::find_unhealthy(accounts.iter().map(|(k, a)| (*k, a)), &priced);
        for u in unhealthy {
            let i = self.by_margin[&u.key];
            for _ in 0..MAX_LIQUIDATION_ROUNDS {
                let Some(account) = self.agents[i].account else { break };
                // Underwater with nothing a liquidation may repay or seize (every feed it
                // needs dead): no keeper acts, and none is drawn.
                let Some(plan) = scan::plan_liquidation(&account, &priced, &self.snapshots, u64::MAX, 0) else {
                    break;
                };
                let keeper = &self.liquidators[self.rng.below(LIQUIDATORS)];
                let liability_slot = self.slot_of(plan.liability_market);
                let liability_before = match liability_slot {
                    Some(slot) => Some(self.rt.market(&self.markets[slot].key).await),
                    None => None,
                };
                let result = send_liquidation(&mut self.rt, keeper, u.key, &account, &self.snapshots, &plan)
                    .await
                    .map(|sent| sent.then_some(plan));
                match result {
                    Ok(Some(plan)) => {
                        self.tally.record("liquidate", &Ok(()));
                        self.totals.liquidations += 1;
                        self.totals.outage_liquidations += u64::from(!self.live);
                        if let Some(slot) = self.slot_of(plan.asset_market) {
                            self.totals.liquidations_by_collateral[slot] += 1;
                        }
                        self.totals.step_liquidations += 1;
                        if let Ok(liability) = find_priced(&priced, plan.liability_market) {
                            self.totals.liquidated_usd += agents::usd_at_mid(plan.quote.repay, liability);
                        }
                        self.refresh_agent(i).await;
                        if let (Some(slot), Some(before)) = (liability_slot, liability_before) {
                            self.count_liquidation_write_off(i, &account, &plan, slot, &before).await;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.tally.record("liquidate", &Err(e));
                        break;
                    }
                }
            }
        }
    }

    /// Counts the debt a liquidation wrote off: when it takes an account's last
    /// collateral, the program writes off the rest of its debt in the liability market
    /// at once (the insurance fund first, then the lenders), as `resolve_bad_debt` would.
    /// `account` is agent `i`'s account before the liquidation, `before` the liability
    /// market (in `slot`) then.
    async fn count_liquidation_write_off(
        &mut self,
        i: usize,
        account: &MarginAccount,
        plan: &LiquidationPlan,
        slot: usize,
        before: &Market,
    ) {
        let Some(after_account) = self.agents[i].account else { return };
        let bankrupt = !after_account.active_balances().any(|b| b.deposit_shares.get() > 0)
            && !after_account.active_balances().any(|b| b.market_index == plan.liability_market);
        let shares = account
            .active_balances()
            .find(|b| b.market_index == plan.liability_market)
            .map_or(0, |b| b.borrow_shares.get());
        if !bankrupt || shares == 0 {
            return;
        }
        let index_now = before.accrual_at(self.rt.now).map_or(before.borrow_index.get(), |a| a.borrow_index);
        let written_off = debt_amount(shares, index_now).unwrap_or(0).saturating_sub(plan.quote.repay);
        if written_off == 0 {
            return;
        }
        let after = self.rt.market(&self.markets[slot].key).await;
        // The liquidator's fee went into the fund before the write-off drew on it.
        let funded = u128::from(before.insurance_fund) + plan.quote.insurance_fee;
        let covered = funded.saturating_sub(u128::from(after.insurance_fund)).min(written_off);
        self.totals.liquidation_write_offs += 1;
        self.totals.bad_debt_usd += self.usd(slot, written_off as f64);
        self.totals.socialised_usd += self.usd(slot, (written_off - covered) as f64);
    }

    /// Writes off the debt of every account left with debt and no collateral: the
    /// market's insurance fund pays first, the rest is socialised.
    async fn resolve_bad_debt(&mut self) {
        for i in 0..self.agents.len() {
            let (Some(key), Some(account)) = (self.agents[i].margin_account, self.agents[i].account) else { continue };
            let debts: Vec<(u16, u128)> = account
                .active_balances()
                .filter(|b| b.borrow_shares.get() > 0)
                .map(|b| (b.market_index, b.borrow_shares.get()))
                .collect();
            if debts.is_empty() || account.active_balances().any(|b| b.deposit_shares.get() > 0) {
                continue;
            }
            for (index, shares) in debts {
                let Some(slot) = self.slot_of(index) else { continue };
                let handle = self.markets[slot];
                let before = self.rt.market(&handle.key).await;
                let index_now = before.accrual_at(self.rt.now).map_or(before.borrow_index.get(), |a| a.borrow_index);
                let debt = debt_amount(shares, index_now).unwrap_or(0);
                let metas = health_pairs(&account, &self.markets, BalanceChange::None);
                if self.send("resolve_bad_debt", &[ix::resolve_bad_debt(key, handle.key, &metas)], &[]).await {
                    let after = self.rt.market(&handle.key).await;
                    let covered = u128::from(before.insurance_fund.saturating_sub(after.insurance_fund));
                    self.totals.bad_debt_usd += self.usd(slot, debt as f64);
                    self.totals.socialised_usd += self.usd(slot, debt.saturating_sub(covered) as f64);
                }
            }
            self.refresh_agent(i).await;
        }
    }

    async fn agents_pass(&mut self) {
        let stress = (self.observed.annual_vol() / CALM_VOL).clamp(1.0, 4.0);
        let chance = CALM_ACTIVITY * stress;
        let priced = screen_prices(&self.snapshots);
        let mut protocol = self.rt.protocol().await;
        for i in 0..self.agents.len() {
            if !self.rng.chance(chance) {
                continue;
            }
            let is_staker = self.agents[i].profile.role == Role::Staker;
            if is_staker {
                // Earlier stakers this hour changed the pool: decide on the current one.
                protocol = self.rt.protocol().await;
            }
            let wallet = self.wallet(i).await;
            let view = View {
                now: self.rt.now,
                priced: &priced,
                protocol: &protocol,
                prices: self.feeds.each_ref().map(|f| f.price),
                decimals: self.decimals(),
                stress,
                drawdown: 1.0 - self.feeds[SOL].price / self.peak,
            };
            let intent = agents::decide(&self.agents[i], &view, &wallet, &mut self.rng);
            let Some((action, ixs)) = self.instructions(i, &intent) else { continue };
            let result = self.rt.send(&ixs, &[&self.agents[i].key]).await;
            if let (Err(e), Some(market)) = (&result, intent.outflow_market()) {
                self.breakers.outflow_refused[market] |= classify(e).1 == BallastError::OutflowLimitExceeded.name();
            }
            if self.tally.record(action, &result) {
                self.totals.step_ok += 1;
                if let Intent::Claim { owed, .. } = intent {
                    self.count_claim(&owed);
                }
            } else {
                self.totals.step_refused += 1;
            }
            self.refresh_agent(i).await;
        }
    }

    fn count_claim(&mut self, owed: &[u64; ballast::REWARD_STREAMS]) {
        // The native stream pays native tokens, whose market is the BAL slot.
        self.totals.claimed_usd[0] += self.usd(BAL, owed[0] as f64);
        for slot in 0..MARKETS {
            let stream = 1 + usize::from(self.markets[slot].index);
            self.totals.claimed_usd[1 + slot] += self.usd(slot, owed[stream] as f64);
        }
    }

    async fn wallet(&mut self, i: usize) -> [u64; MARKETS] {
        let mut out = [0; MARKETS];
        for (m, token) in self.agents[i].tokens.iter().enumerate() {
            if let Some(token) = token {
                out[m] = self.rt.token_balance(token).await;
            }
        }
        out
    }

    /// The transaction carrying out `intent` for agent `i`, with the action's name.
    fn instructions(&self, i: usize, intent: &Intent) -> Option<(&'static str, Vec<Instruction>)> {
        let agent = &self.agents[i];
        let owner = agent.key.pubkey();
        let transfer = |m: usize| -> Option<MarketTransfer> {
            Some(MarketTransfer {
                owner,
                margin_account: agent.margin_account?,
                market: self.markets[m].key,
                user_token: agent.tokens[m]?,
            })
        };
        let health = |change: BalanceChange| -> Option<Vec<anchor_lang::solana_program::instruction::AccountMeta>> {
            Some(health_pairs(agent.account.as_ref()?, &self.markets, change))
        };
        let staker = || self.staker_ix(&owner, &agent.tokens);
        Some(match *intent {
            Intent::Nothing => return None,
            Intent::Deposit { market, amount } => ("deposit", vec![ix::deposit(&transfer(market)?, amount)]),
            Intent::Borrow { market, amount } => {
                let metas = health(BalanceChange::Opens(self.markets[market].key))?;
                ("borrow", vec![ix::borrow(&transfer(market)?, amount, &metas)])
            }
            Intent::Repay { market, amount, all } => ("repay", vec![ix::repay(&transfer(market)?, amount, all)]),
            Intent::Withdraw { market, amount, all } => {
                let change = if all { BalanceChange::Closes(self.markets[market].key) } else { BalanceChange::None };
                ("withdraw", vec![ix::withdraw(&transfer(market)?, amount, all, &health(change)?)])
            }
            Intent::Stake { amount, lock_secs } => ("stake", vec![staker().stake(amount, lock_secs)]),
            Intent::IncreaseStake { amount } => ("increase_stake", vec![staker().increase_stake(amount)]),
            Intent::Claim { owed, then } => {
                let s = staker();
                let mut ixs = Vec::new();
                if owed[0] > 0 {
                    ixs.push(s.claim_rewards());
                }
                for (slot, m) in self.markets.iter().enumerate() {
                    if owed[1 + usize::from(m.index)] > 0 {
                        ixs.push(s.claim_market_rewards(m.key, agent.tokens[slot]?));
                    }
                }
                let action = match then {
                    StakeExit::Stay => "claim",
                    StakeExit::Unstake => {
                        ixs.push(s.unstake());
                        "unstake"
                    }
                    StakeExit::WithdrawStake => {
                        ixs.push(s.withdraw_stake());
                        "withdraw_stake"
                    }
                    StakeExit::ExitEarly => {
                        ixs.push(s.exit_early());
                        "exit_early"
                    }
                    StakeExit::Relock { lock_secs } => {
                        ixs.push(s.extend_lock(lock_secs));
                        "extend_lock"
                    }
                };
                if ixs.is_empty() {
                    return None;
                }
                (action, ixs)
            }
        })
    }

    /// The buyback keeper's pass, and a second one later in the hour if its planner
    /// says when the auction becomes worth a fill.
    async fn buyback(&mut self, until: i64) {
        let policy = BuybackPolicy::default();
        for _ in 0..2 {
            let pass = buyback_pass(&mut self.rt, &self.buyer, &policy).await;
            for _ in &pass.filled {
                self.tally.record("buyback", &Ok(()));
            }
            for (_, e) in pass.failed {
                self.tally.record("buyback", &Err(e));
            }
            match pass.wake_at {
                Some(at) if at > self.rt.now && at <= until => self.clock(at),
                _ => break,
            }
        }
    }

    /// Samples everything the report plots.
    async fn record(&mut self) {
        self.snapshots = snapshot_markets(&mut self.rt).await;
        let protocol = self.rt.protocol().await;
        let supply = self.rt.mint_supply(&self.markets[BAL].mint).await;
        // Each slot's market as just read (`None` if its feed did not parse).
        let read: [Option<Market>; MARKETS] =
            self.markets.each_ref().map(|m| self.snapshots.iter().find(|s| s.key == m.key).map(|s| s.market));
        let mut insurance = [0.0; MARKETS];
        for (slot, market) in read.iter().enumerate() {
            if let Some(market) = market {
                insurance[slot] = self.usd(slot, market.insurance_fund as f64);
            }
        }
        let t = &mut self.timeline;
        let step = self.step;
        t.day.push(step as f64 * STEP_SECS as f64 / 86_400.0);
        t.path_price.push(self.path.prices[step]);
        t.oracle_price.push(self.feeds[SOL].price);
        t.oracle_ema.push(self.feeds[SOL].ema);
        t.sim_ema.push(self.observed.ema);
        t.sim_vol.push(self.observed.annual_vol());
        t.outage.push(!self.live);

        t.liquidations.push(self.totals.step_liquidations);
        t.liquidated_usd.push(self.totals.liquidated_usd);
        t.bad_debt_usd.push(self.totals.bad_debt_usd);
        t.socialised_usd.push(self.totals.socialised_usd);
        t.insurance_usd.push(insurance);
        let whole = |units: u64| units as f64 / 1e6;
        t.supply.push(whole(supply));
        t.burned.push(whole(protocol.total_burned));
        t.emitted.push(whole(protocol.total_emitted));
        t.staked.push(whole(protocol.total_staked));
        t.weight.push(protocol.total_weight() as f64 / 1e6);
        t.rewards_usd.push(self.totals.claimed_usd);
        t.actions_ok.push(self.totals.step_ok);
        t.actions_refused.push(self.totals.step_refused);

        // The program's own risk state: its volatility estimate of the native token, its
        // regime (a band starts where it changes) and the breakers tripped this hour.
        let day = *t.day.last().expect("pushed above");
        let v = &protocol.volatility;
        t.program_vol.push(f64::from(v.annual_vol_bps) / 100.0);
        t.program_drawdown.push(f64::from(v.drawdown_bps) / 100.0);
        t.native_weight_multiplier
            .push(read[BAL].map_or(100.0, |m| f64::from(m.asset_multiplier.current(self.rt.now)) / 100.0));
        let regime = protocol.regime().unwrap_or(Regime::Calm);
        if t.regimes.last().map(|(_, r)| *r) != Some(regime) {
            t.regimes.push((day, regime));
        }
        for (slot, market) in read.iter().enumerate() {
            let Some(market) = market else { continue };
            let until = market.breakers.reduce_only_until_ts;
            if until > self.breakers.reduce_only_until[slot] {
                t.breaker_trips.push((day, format!("{} price-move guard", MARKET_NAMES[slot])));
                self.breakers.reduce_only_until[slot] = until;
            }
        }
        let w = &mut self.breakers;
        for (slot, name) in MARKET_NAMES.iter().enumerate() {
            // One trip per run of hours in which the limiter refused an outflow.
            if w.outflow_refused[slot] && !w.outflow_refused_before[slot] {
                t.breaker_trips.push((day, format!("{name} outflow limiter")));
            }
        }
        w.outflow_refused_before = std::mem::take(&mut w.outflow_refused);
    }

    async fn check_books(&mut self) {
        let day = self.step as f64 / 24.0;
        for v in invariants::violations(&mut self.rt, &MARKET_NAMES).await {
            self.violations.push(format!("day {day:.1}: {v}"));
        }
    }

    async fn finish(
        mut self,
        seed: u64,
        profiles: &[Profile],
        setup_transactions: u64,
        setup_secs: f64,
        started: Instant,
    ) -> Result<SimOutcome, String> {
        let protocol = self.rt.protocol().await;
        let native_supply = self.rt.mint_supply(&self.markets[BAL].mint).await;
        let mut markets = Vec::new();
        for (handle, books) in invariants::market_books(&mut self.rt).await {
            let market = self.rt.market(&handle.key).await;
            markets.push((handle, market, books));
        }
        let mut roles = BTreeMap::new();
        for p in profiles {
            *roles.entry(p.role.label()).or_default() += 1;
        }
        Ok(SimOutcome {
            path: self.path,
            seed,
            roles,
            keepers: LIQUIDATORS + 2,
            timeline: self.timeline,
            tally: self.tally,
            transactions: self.rt.transactions,
            setup_transactions,
            setup_secs,
            wall_secs: started.elapsed().as_secs_f64(),
            liquidations: self.totals.liquidations,
            outage_liquidations: self.totals.outage_liquidations,
            liquidation_write_offs: self.totals.liquidation_write_offs,
            liquidations_by_collateral: self.totals.liquidations_by_collateral,
            bad_debt_usd: self.totals.bad_debt_usd,
            socialised_usd: self.totals.socialised_usd,
            violations: self.violations,
            protocol,
            markets,
            native_supply,
            attacks: Vec::new(),
        })
    }
}

/// USDC, SOL and native prices at `step`: USDC holds its peg, the native token follows
/// SOL with elasticity [`NATIVE_BETA`].
fn prices_at(path: &PricePath, step: usize) -> [f64; MARKETS] {
    let sol = path.prices[step];
    let native = NATIVE_START_USD * (sol / path.prices[0]).powf(NATIVE_BETA);
    let mut out = [0.0; MARKETS];
    out[USDC] = 1.0;
    out[SOL] = sol;
    out[BAL] = native;
    out
}
