//! Attackers on a thin collateral: the scenario behind `tests/tests/pump.rs` and the
//! report's "Attackers" section.
//!
//! A deep USDC market (five lenders, $1M each) and a thin one, THIN ($1.00, its own
//! mint and Pyth feed, lower weights). The attacker deposits $200k of THIN and walks
//! its price up:
//!
//! * **slow**: +2% an hour for 48 hours (x2.59), every step inside the oracle's EMA band
//!   and under the price-move guard;
//! * **fast**: x3 in six one-minute steps, then held there for eight hours.
//!
//! The price then returns to the start in four hourly steps and stays there three hours.
//! At every step, as a real keeper would, the keepers first refresh both markets (the
//! stable price and the regimes only move on refresh), liquidate the attacker if it is
//! below maintenance health (with the keeper library's planner) and write off its debt
//! once no collateral is left. Then the attacker borrows all the USDC it can: it first
//! asks for what the program allowed before these defences (the oracle price and the
//! configured weights, sized by the program's own health code), and when the program
//! refuses that, the most the program allows now (found by binary search over the
//! amount with `Market::price` and `ballast::health::health_of` on the decoded accounts,
//! and the program's own outflow and borrow-limit rules). Each refusal is counted under
//! the program's error.
//!
//! What the attacker extracted is the debt its collateral no longer backs once the
//! price has returned: the USDC it borrowed (and keeps: it never repays) minus the value,
//! at the returned price, of the THIN it put up. Who pays for it depends on the way
//! down: liquidators who seized THIN at the intermediate prices (their loss at the
//! returned price is reported), then USDC's insurance fund and lenders (bad debt).
//!
//! [`Defences::Off`] lists both markets with the loosest legal settings of the new
//! defences (what the program did before them); [`Defences::On`] with the standard
//! ones plus USD limits. The older defences (EMA band, price-move guard, outflow
//! limiter) are on in both.

use std::collections::BTreeMap;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use ballast::health::{find_priced, health_of, PricedMarket};
use ballast::{MarginAccount, Market, MarketConfig, RegimeWeightsConfig, StablePriceConfig, UsdLimits};
use ballast_keeper::scan::MarketSnapshot;
use ballast_risk::oracle::OracleAction;
use ballast_risk::shares::{borrow_shares_for, debt_amount, deposit_amount};
use ballast_risk::stable_price::StablePriceParams;
use ballast_risk::{borrow_limit, outflow, WAD};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

use crate::ix::{self, MarketTransfer};
use crate::keeper::{liquidate_unhealthy, snapshot_markets, Liquidator};
use crate::pyth::PythPrice;
use crate::runtime::{health_pairs, BalanceChange, MarketHandle, Runtime, GENESIS_TIME};
use crate::stress::classify;

/// THIN's price before and after the pump (USD), and the attacker's deposit (USD).
pub const START_PRICE: f64 = 1.0;
pub const ATTACK_USD: f64 = 200_000.0;
/// USDC lenders and what each deposits (USD).
pub const LENDERS: usize = 5;
pub const LENDER_USD: f64 = 1_000_000.0;
/// THIN's deposit cap (tokens): one and a half times the attacker's deposit.
pub const THIN_DEPOSIT_CAP: f64 = 300_000.0;
/// With the defences on, THIN's initial asset weight is scaled down beyond $300k of
/// deposits: the deposit cap valued at the listing price. Whatever its price does, THIN
/// then never adds more than 60% of $300k to initial health across all accounts, so
/// no more than $150k can ever be borrowed against it (at the USDC liability weight of
/// 1.2), less than the attacker's $200k is worth once the price returns.
pub const THIN_INIT_LIMIT_USD: u64 = 300_000;
/// With the defences on, net USDC borrows are limited to $50k an hour (1% of the
/// market's deposits; the outflow limiter allows 25% per six hours): a pumped collateral
/// turns into loans at most that fast, so a pump must be held for hours, long enough for
/// the stable price and the regime to react.
pub const USDC_BORROW_LIMIT_USD: u64 = 50_000;
pub const USDC_BORROW_WINDOW_SECS: u32 = 3_600;

/// Pyth's EMA, as modelled here: a continuous-time exponential average of the published
/// price with a one-hour half-life (Pyth's is of about that length), the price held
/// constant between publications (the attacker moves it in steps).
const EMA_HALF_LIFE_SECS: f64 = 3_600.0;
/// The attacker moves every venue the publishers read, so they agree: the confidence
/// stays at 0.1% (the worst case for the protocol: the confidence check never helps).
const CONF_SHARE: f64 = 0.001;
const EXPO: i32 = -8;
const DECIMALS: u8 = 6;
/// The first step, an hour after listing; keepers and the attacker act this many
/// seconds into each step.
const FIRST_STEP_SECS: i64 = 3_600;
const KEEPERS_AT: i64 = 5;
const ATTACKER_AT: i64 = 30;
/// A greedy ask is sent only when it exceeds what the program allows by a whole USDC.
const ASK_MARGIN: u64 = 1_000_000;
/// At most this many liquidations of the attacker per keeper pass.
const LIQUIDATION_ROUNDS: usize = 4;

/// How the attacker pumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pump {
    Slow,
    Fast,
}

impl Pump {
    pub const ALL: [Pump; 2] = [Pump::Slow, Pump::Fast];

    pub fn label(self) -> &'static str {
        match self {
            Pump::Slow => "slow pump",
            Pump::Fast => "fast pump",
        }
    }

    /// The path as the report describes it.
    pub fn description(self) -> &'static str {
        match self {
            Pump::Slow => "+2% an hour for 48 hours (x2.59), inside the EMA band and under the price-move guard",
            Pump::Fast => "x3 in six one-minute steps, held for eight hours",
        }
    }

    /// Every step of the run: a calm start, the pump, the return and the settling hours.
    pub fn schedule(self) -> Vec<Step> {
        let mut steps = vec![Step { at: 0, price: START_PRICE, phase: Phase::Start }];
        let (peak, mut at) = match self {
            Pump::Slow => {
                for hour in 1..=48 {
                    steps.push(Step {
                        at: hour * 3_600,
                        price: START_PRICE * 1.02f64.powi(hour as i32),
                        phase: Phase::Pump,
                    });
                }
                (START_PRICE * 1.02f64.powi(48), 48 * 3_600)
            }
            Pump::Fast => {
                for minute in 1..=6 {
                    let price = START_PRICE * 3f64.powf(minute as f64 / 6.0);
                    steps.push(Step { at: minute * 60, price, phase: Phase::Pump });
                }
                for hour in 1..=8 {
                    steps.push(Step { at: hour * 3_600, price: START_PRICE * 3.0, phase: Phase::Hold });
                }
                (START_PRICE * 3.0, 8 * 3_600)
            }
        };
        const RETURN_STEPS: i32 = 4;
        for k in 1..=RETURN_STEPS {
            at += 3_600;
            // Geometric steps down; the last one exactly at the start.
            let price =
                if k == RETURN_STEPS { START_PRICE } else { peak * (START_PRICE / peak).powf(f64::from(k) / 4.0) };
            steps.push(Step { at, price, phase: Phase::Return });
        }
        for _ in 0..3 {
            at += 3_600;
            steps.push(Step { at, price: START_PRICE, phase: Phase::Settle });
        }
        steps
    }
}

/// Which of the new defences the markets are listed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Defences {
    /// The loosest legal settings: the stable price may move 100% an hour (its delayed
    /// price too, and it is slowed only 100% away from it), no regime multipliers, no
    /// USD limits. What the program did before these defences.
    Off,
    /// The standard stable price and regime weights, THIN's init limit
    /// ([`THIN_INIT_LIMIT_USD`]) and USDC's borrow limit ([`USDC_BORROW_LIMIT_USD`]).
    On,
}

impl Defences {
    pub const ALL: [Defences; 2] = [Defences::Off, Defences::On];

    pub fn label(self) -> &'static str {
        match self {
            Defences::Off => "off",
            Defences::On => "on",
        }
    }

    /// `config` with this setting of the new defences and, when on, `limits`.
    pub fn apply(self, mut config: MarketConfig, limits: UsdLimits) -> MarketConfig {
        match self {
            Defences::Off => {
                config.stable_price = StablePriceConfig {
                    max_hourly_move_bps: 10_000,
                    delay_interval_secs: StablePriceParams::standard().delay_interval_secs,
                    max_delay_move_bps: 10_000,
                    slow_band_bps: 10_000,
                };
                config.regime_weights = RegimeWeightsConfig {
                    asset_multiplier_bps: [10_000; 4],
                    liability_multiplier_bps: [10_000; 4],
                    ..RegimeWeightsConfig::standard()
                };
                config.limits = UsdLimits::none();
            }
            Defences::On => {
                config.stable_price = StablePriceConfig::standard();
                config.regime_weights = RegimeWeightsConfig::standard();
                config.limits = limits;
            }
        }
        config
    }
}

/// The deep market: the conservative configuration with its standard breakers.
pub fn usdc_config(defences: Defences) -> MarketConfig {
    let cap = units(20_000_000.0, 1.0);
    let limits = UsdLimits {
        borrow_limit_per_window_usd: USDC_BORROW_LIMIT_USD,
        borrow_limit_window_secs: USDC_BORROW_WINDOW_SECS,
        ..UsdLimits::none()
    };
    defences.apply(MarketConfig::conservative(cap, cap / 10 * 8), limits)
}

/// The thin market: the conservative configuration with 60% / 70% asset weights and a
/// deposit cap of [`THIN_DEPOSIT_CAP`] tokens.
pub fn thin_config(defences: Defences) -> MarketConfig {
    let cap = units(THIN_DEPOSIT_CAP, 1.0);
    let mut config = MarketConfig::conservative(cap, cap / 10 * 8);
    config.init_asset_weight_bps = 6_000;
    config.maint_asset_weight_bps = 7_000;
    let limits = UsdLimits { asset_value_init_limit_usd: THIN_INIT_LIMIT_USD, ..UsdLimits::none() };
    defences.apply(config, limits)
}

/// Where a step is in the attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Start,
    Pump,
    Hold,
    Return,
    Settle,
}

impl Phase {
    /// On the way down or after: the attacker no longer borrows.
    pub fn is_return(self) -> bool {
        matches!(self, Phase::Return | Phase::Settle)
    }
}

/// One step: THIN's price from `at` seconds after the first step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub at: i64,
    pub price: f64,
    pub phase: Phase,
}

/// What one step looked like once the attacker had acted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackStep {
    /// Hours since the first step.
    pub hours: f64,
    pub phase: Phase,
    /// THIN's published price and EMA, and its market's stable price (USD).
    pub price: f64,
    pub ema: f64,
    pub stable_price: f64,
    /// The attacker's debt and THIN collateral at the oracle price (USD).
    pub debt_usd: f64,
    pub collateral_usd: f64,
    /// What the attacker asked for this step (what the program allowed before these
    /// defences) and the most the program allowed (USD).
    pub wanted_usd: f64,
    pub allowed_usd: f64,
    /// THIN's asset weight multiplier in force (bps), and whether its price-move guard
    /// holds it reduce-only.
    pub asset_multiplier_bps: u32,
    pub thin_reduce_only: bool,
}

/// What one attack run did.
#[derive(Debug, Clone)]
pub struct AttackOutcome {
    pub name: &'static str,
    pub pump: Pump,
    pub defences: Defences,
    /// The attacker's THIN at the start price.
    pub deposited_usd: f64,
    /// USDC the attacker borrowed (and kept: it never repays).
    pub borrowed_usd: f64,
    /// Its largest debt.
    pub peak_debt_usd: f64,
    /// The THIN the attacker had put up when the price turned (none was seized before),
    /// valued at the returned price: the most its lenders can recover.
    pub collateral_value_after_usd: f64,
    /// The unbacked debt: `borrowed_usd - collateral_value_after_usd`, or 0.
    pub extracted_usd: f64,
    /// The attacker's net gain at the returned price once keepers are done: the USDC it
    /// keeps plus what its account still holds (THIN less debt), minus the THIN it put
    /// up. More than `extracted_usd` when liquidators bought its THIN on the way down
    /// above the returned price.
    pub attacker_gain_usd: f64,
    /// When the price was back, before that hour's keeper pass: the attacker's debt and
    /// the THIN still there to seize, at the returned price (liquidations on the way
    /// down took the rest); and USDC's insurance fund, which pays for bad debt first.
    pub debt_when_back_usd: f64,
    pub collateral_when_back_usd: f64,
    pub insurance_fund_usd: f64,
    /// Debt written off once the attacker had no collateral left, and the part the
    /// insurance fund did not cover (taken from the lenders).
    pub bad_debt_usd: f64,
    pub socialised_usd: f64,
    pub liquidations: u64,
    /// USDC the liquidator repaid for the attacker, and its profit (negative: loss) on
    /// the THIN it seized, valued at the returned price.
    pub liquidated_usd: f64,
    pub liquidator_pnl_usd: f64,
    /// Borrows the program accepted, and those it refused by error name.
    pub borrows: u64,
    pub refusals: BTreeMap<String, u64>,
    /// Amounts the attacker's sizing (the program's own pricing) said fit and the program
    /// refused anyway: 0 unless the sizing and the program disagree.
    pub sizing_misses: u64,
    /// Steps after which the program would still have lent one more USDC (asked by
    /// simulation, not sent): 0 when the attacker always took the most it allows.
    pub more_allowed: u64,
    /// Any other failure (a keeper transaction refused): a bug in the sim or the program.
    pub failures: BTreeMap<String, u64>,
    pub timeline: Vec<AttackStep>,
    pub transactions: u64,
    pub wall_secs: f64,
}

impl AttackOutcome {
    pub fn refused(&self, error: &str) -> u64 {
        self.refusals.get(error).copied().unwrap_or(0)
    }

    /// `refusals` as "12 × BelowInitialHealth, 3 × OracleTooVolatile" ("none" if empty).
    pub fn refusals_text(&self) -> String {
        if self.refusals.is_empty() {
            return "none".into();
        }
        self.refusals.iter().map(|(e, n)| format!("{n} × {e}")).collect::<Vec<_>>().join(", ")
    }
}

/// Base units of a 6-decimal token worth `usd` at `price`.
fn units(usd: f64, price: f64) -> u64 {
    (usd / price * 10f64.powi(i32::from(DECIMALS))).round() as u64
}

/// USD value of `amount` base units of a 6-decimal token at `price`.
fn usd(amount: u128, price: f64) -> f64 {
    amount as f64 * price / 10f64.powi(i32::from(DECIMALS))
}

/// A Pyth feed as the attacker's market makes it publish (see [`EMA_HALF_LIFE_SECS`]).
#[derive(Debug, Clone, Copy)]
struct Feed {
    key: Pubkey,
    price: f64,
    ema: f64,
    at: i64,
}

impl Feed {
    fn publish(&mut self, price: f64, now: i64) {
        let dt = (now - self.at).max(0) as f64;
        self.ema = self.price + (self.ema - self.price) * 0.5f64.powf(dt / EMA_HALF_LIFE_SECS);
        self.price = price;
        self.at = now;
    }

    fn pyth(&self) -> PythPrice {
        let mantissa = |usd: f64| (usd * 1e8).round() as i64;
        PythPrice {
            price: mantissa(self.price),
            conf: mantissa(self.price * CONF_SHARE).unsigned_abs(),
            ema_price: mantissa(self.ema),
            expo: EXPO,
            publish_time: self.at,
            trading: true,
        }
    }
}

struct Attack {
    rt: Runtime,
    usdc: MarketHandle,
    thin: MarketHandle,
    feeds: [Feed; 2],
    attacker: Keypair,
    margin: Pubkey,
    attacker_usdc: Pubkey,
    keeper: Liquidator,
    /// The liquidator's USDC at the start.
    keeper_usdc: u64,
    outcome: AttackOutcome,
}

/// The four runs: slow and fast, each with the defences off and on.
pub async fn run_all() -> Result<Vec<AttackOutcome>, String> {
    let mut out = Vec::new();
    for pump in Pump::ALL {
        for defences in Defences::ALL {
            out.push(run(pump, defences).await?);
        }
    }
    Ok(out)
}

/// One attack run.
pub async fn run(pump: Pump, defences: Defences) -> Result<AttackOutcome, String> {
    let started = Instant::now();
    let mut attack = Attack::start(pump, defences).await?;
    let t0 = GENESIS_TIME + FIRST_STEP_SECS;
    let schedule = pump.schedule();
    for (i, step) in schedule.iter().enumerate() {
        let returned = step.phase == Phase::Return && schedule.get(i + 1).is_none_or(|s| s.phase != Phase::Return);
        attack.step(t0, step, returned).await;
        if schedule.get(i + 1).is_some_and(|next| next.phase == Phase::Return) && !step.phase.is_return() {
            // The top: the THIN the attacker put up, at the price it will return to.
            let (_, collateral) = attack.position().await;
            attack.outcome.collateral_value_after_usd = usd(collateral, START_PRICE);
        }
    }
    Ok(attack.finish(started).await)
}

impl Attack {
    async fn start(pump: Pump, defences: Defences) -> Result<Attack, String> {
        let mut rt = Runtime::start().await;
        rt.initialize_protocol(6).await;
        let now = rt.now;
        let usdc_mint = rt.create_mint(DECIMALS).await;
        let thin_mint = rt.create_mint(DECIMALS).await;
        let usdc_feed = Feed { key: Pubkey::default(), price: 1.0, ema: 1.0, at: now };
        let thin_feed = Feed { key: Pubkey::default(), price: START_PRICE, ema: START_PRICE, at: now };
        let usdc = rt.list_market(usdc_mint, usdc_feed.pyth(), usdc_config(defences)).await;
        let thin = rt.list_market(thin_mint, thin_feed.pyth(), thin_config(defences)).await;
        let feeds = [Feed { key: usdc.oracle, ..usdc_feed }, Feed { key: thin.oracle, ..thin_feed }];

        for _ in 0..LENDERS {
            let lender = rt.new_user().await;
            let amount = units(LENDER_USD, 1.0);
            let token = rt.funded_token_account(&usdc.mint, &lender.pubkey(), amount).await;
            let deposit = ix::deposit(&transfer(&lender.pubkey(), &usdc, token), amount);
            let open = ix::create_margin_account(lender.pubkey(), 0);
            rt.send(&[open, deposit], &[&lender]).await.map_err(|e| format!("a lender's deposit failed: {e}"))?;
        }
        let attacker = rt.new_user().await;
        let owner = attacker.pubkey();
        let amount = units(ATTACK_USD, START_PRICE);
        let attacker_thin = rt.funded_token_account(&thin.mint, &owner, amount).await;
        let attacker_usdc = rt.create_token_account(&usdc.mint, &owner).await;
        let margin = ix::margin_account_pda(&owner, 0);
        let deposit = ix::deposit(&transfer(&owner, &thin, attacker_thin), amount);
        rt.send(&[ix::create_margin_account(owner, 0), deposit], &[&attacker])
            .await
            .map_err(|e| format!("the attacker's deposit failed: {e}"))?;
        // The liquidator holds $10M of USDC: liquidations never wait for funding.
        let keeper_usdc = units(10_000_000.0, 1.0);
        let keeper = Liquidator::new(&mut rt, &[keeper_usdc, 0]).await;

        let outcome = AttackOutcome {
            name: pump.label(),
            pump,
            defences,
            deposited_usd: ATTACK_USD,
            borrowed_usd: 0.0,
            peak_debt_usd: 0.0,
            collateral_value_after_usd: 0.0,
            extracted_usd: 0.0,
            attacker_gain_usd: 0.0,
            debt_when_back_usd: 0.0,
            collateral_when_back_usd: 0.0,
            insurance_fund_usd: 0.0,
            bad_debt_usd: 0.0,
            socialised_usd: 0.0,
            liquidations: 0,
            liquidated_usd: 0.0,
            liquidator_pnl_usd: 0.0,
            borrows: 0,
            refusals: BTreeMap::new(),
            sizing_misses: 0,
            more_allowed: 0,
            failures: BTreeMap::new(),
            timeline: Vec::new(),
            transactions: 0,
            wall_secs: 0.0,
        };
        Ok(Attack { rt, usdc, thin, feeds, attacker, margin, attacker_usdc, keeper, keeper_usdc, outcome })
    }

    /// Moves the clock to `at`; both feeds publish (THIN at `thin_price` if given, else
    /// unchanged), fresh.
    fn clock(&mut self, at: i64, thin_price: Option<f64>) {
        self.rt.set_time(at);
        for (i, feed) in self.feeds.iter_mut().enumerate() {
            let price = if i == 1 { thin_price.unwrap_or(feed.price) } else { feed.price };
            feed.publish(price, at);
            let pyth = feed.pyth();
            self.rt.set_price(&feed.key, &pyth);
        }
    }

    fn fail(&mut self, action: &str, e: &BanksClientError) {
        let (_, reason) = classify(e);
        *self.outcome.failures.entry(format!("{action}: {reason}")).or_default() += 1;
    }

    /// One step: THIN's new price, the keepers' pass, the attacker's turn. With
    /// `returned` (the price is back), the position is measured before the keepers act.
    async fn step(&mut self, t0: i64, step: &Step, returned: bool) {
        let start = t0 + step.at;
        self.clock(start, Some(step.price));
        self.clock(start + KEEPERS_AT, None);
        let refresh = [self.usdc, self.thin].map(|m| ix::refresh_market(m.key, m.oracle));
        if let Err(e) = self.rt.send(&refresh, &[]).await {
            self.fail("refresh_market", &e);
        }
        if returned {
            let (debt, collateral) = self.position().await;
            self.outcome.debt_when_back_usd = usd(debt, 1.0);
            self.outcome.collateral_when_back_usd = usd(collateral, self.feeds[1].price);
            let usdc = self.rt.market(&self.usdc.key).await;
            self.outcome.insurance_fund_usd = usd(usdc.insurance_fund.into(), 1.0);
        }
        self.keeper_pass().await;
        self.clock(start + ATTACKER_AT, None);
        // The attacker borrows while it pumps and holds; on the way down it has nothing
        // left to gain.
        let (wanted, allowed) = if step.phase.is_return() { (0, 0) } else { self.borrow_all().await };
        self.record(step, wanted, allowed).await;
    }

    /// The attacker's USDC debt and THIN deposit (base units, interest included).
    async fn position(&mut self) -> (u128, u128) {
        let account = self.rt.margin_account(&self.margin).await;
        let now = self.rt.now;
        let held = |market: &Market| {
            let balance = account.active_balances().find(|b| b.market_index == market.market_index)?;
            let accrual = market.accrual_at(now).ok()?;
            let debt = debt_amount(balance.borrow_shares.get(), accrual.borrow_index).ok()?;
            let deposit = deposit_amount(balance.deposit_shares.get(), accrual.deposit_index).ok()?;
            Some((debt, deposit))
        };
        let usdc = self.rt.market(&self.usdc.key).await;
        let debt = held(&usdc).map_or(0, |(debt, _)| debt);
        let thin = self.rt.market(&self.thin.key).await;
        let collateral = held(&thin).map_or(0, |(_, deposit)| deposit);
        (debt, collateral)
    }

    /// Liquidates the attacker while it is below maintenance health, then writes off its
    /// debt if no collateral is left.
    async fn keeper_pass(&mut self) {
        for _ in 0..LIQUIDATION_ROUNDS {
            match liquidate_unhealthy(&mut self.rt, &self.keeper, &[self.margin], 0).await {
                Ok(plans) if plans.is_empty() => break,
                Ok(plans) => self.outcome.liquidations += plans.len() as u64,
                Err(e) => {
                    self.fail("liquidate", &e);
                    break;
                }
            }
        }
        let account = self.rt.margin_account(&self.margin).await;
        let owes = account.active_balances().any(|b| b.market_index == self.usdc.index && b.borrow_shares.get() > 0);
        if !owes || account.active_balances().any(|b| b.deposit_shares.get() > 0) {
            return;
        }
        let (debt, _) = self.position().await;
        let before = self.rt.market(&self.usdc.key).await.insurance_fund;
        let metas = health_pairs(&account, &self.rt.markets, BalanceChange::None);
        match self.rt.send(&[ix::resolve_bad_debt(self.margin, self.usdc.key, &metas)], &[]).await {
            Ok(()) => {
                let after = self.rt.market(&self.usdc.key).await.insurance_fund;
                let covered = u128::from(before.saturating_sub(after));
                self.outcome.bad_debt_usd += usd(debt, 1.0);
                self.outcome.socialised_usd += usd(debt.saturating_sub(covered), 1.0);
            }
            Err(e) => self.fail("resolve_bad_debt", &e),
        }
    }

    /// The attacker's turn: asks for what the program allowed before these defences;
    /// if that is refused (or more than allowed now), borrows the most allowed now.
    /// Returns both amounts (base units).
    async fn borrow_all(&mut self) -> (u64, u64) {
        let now = self.rt.now;
        let snapshots = snapshot_markets(&mut self.rt).await;
        let account = self.rt.margin_account(&self.margin).await;
        let vault = self.rt.token_balance(&self.usdc.vault).await;
        let usdc = snapshots.iter().find(|s| s.key == self.usdc.key).expect("USDC priced").market;
        let before: Option<Vec<PricedMarket>> = snapshots.iter().map(|s| priced_before_defences(s, now)).collect();
        let wanted = before.map_or(0, |p| max_borrow(&account, &p, &usdc, vault, now, false));
        let program: Option<Vec<PricedMarket>> =
            snapshots.iter().map(|s| s.market.price(&s.reading, OracleAction::RiskIncreasing, now).ok()).collect();
        let allowed = program.map_or(0, |p| max_borrow(&account, &p, &usdc, vault, now, true));

        let mut asked_ok = false;
        if wanted >= allowed.saturating_add(ASK_MARGIN) {
            match self.borrow(&account, wanted).await {
                Ok(()) => asked_ok = true,
                Err(e) => self.refused(&e, false),
            }
        }
        if !asked_ok && allowed > 0 {
            let account = self.rt.margin_account(&self.margin).await;
            if let Err(e) = self.borrow(&account, allowed).await {
                self.refused(&e, true);
            }
        }
        // Was that the most? The program must refuse one more USDC now.
        let account = self.rt.margin_account(&self.margin).await;
        let ix = self.borrow_ix(&account, ASK_MARGIN);
        let key = self.attacker.insecure_clone();
        if self.rt.simulate(&[ix], &[&key]).await.is_ok() {
            self.outcome.more_allowed += 1;
        }
        (wanted, allowed)
    }

    fn borrow_ix(&self, account: &MarginAccount, amount: u64) -> anchor_lang::solana_program::instruction::Instruction {
        let metas = health_pairs(account, &self.rt.markets, BalanceChange::Opens(self.usdc.key));
        let t = transfer(&self.attacker.pubkey(), &self.usdc, self.attacker_usdc);
        ix::borrow(&t, amount, &metas)
    }

    async fn borrow(&mut self, account: &MarginAccount, amount: u64) -> Result<(), BanksClientError> {
        let ix = self.borrow_ix(account, amount);
        let key = self.attacker.insecure_clone();
        let result = self.rt.send(&[ix], &[&key]).await;
        if result.is_ok() {
            self.outcome.borrows += 1;
        }
        result
    }

    /// Counts a refused borrow; `sized` if the attacker's sizing said it fits.
    fn refused(&mut self, e: &BanksClientError, sized: bool) {
        let (expected, reason) = classify(e);
        if !expected {
            *self.outcome.failures.entry(format!("borrow: {reason}")).or_default() += 1;
            return;
        }
        *self.outcome.refusals.entry(reason).or_default() += 1;
        self.outcome.sizing_misses += u64::from(sized);
    }

    async fn record(&mut self, step: &Step, wanted: u64, allowed: u64) {
        let (debt, collateral) = self.position().await;
        let thin = self.rt.market(&self.thin.key).await;
        let stable = thin.stable_price.stable_price.get() as f64 / WAD as f64 * 10f64.powi(i32::from(DECIMALS));
        let feed = self.feeds[1];
        let point = AttackStep {
            hours: step.at as f64 / 3_600.0,
            phase: step.phase,
            price: feed.price,
            ema: feed.ema,
            stable_price: stable,
            debt_usd: usd(debt, 1.0),
            collateral_usd: usd(collateral, feed.price),
            wanted_usd: usd(wanted.into(), 1.0),
            allowed_usd: usd(allowed.into(), 1.0),
            asset_multiplier_bps: thin.asset_multiplier.current(self.rt.now),
            thin_reduce_only: thin.is_reduce_only(self.rt.now),
        };
        self.outcome.peak_debt_usd = self.outcome.peak_debt_usd.max(point.debt_usd);
        self.outcome.timeline.push(point);
    }

    async fn finish(mut self, started: Instant) -> AttackOutcome {
        let borrowed = self.rt.token_balance(&self.attacker_usdc).await;
        let (debt, collateral) = self.position().await;
        let o = &mut self.outcome;
        o.attacker_gain_usd =
            usd(borrowed.into(), 1.0) + usd(collateral, START_PRICE) - usd(debt, 1.0) - o.deposited_usd;
        o.borrowed_usd = usd(borrowed.into(), 1.0);
        o.extracted_usd = (o.borrowed_usd - o.collateral_value_after_usd).max(0.0);
        let paid = self.keeper_usdc - self.rt.token_balance(&self.keeper.tokens[&self.usdc.key]).await;
        let seized = self.rt.token_balance(&self.keeper.tokens[&self.thin.key]).await;
        self.outcome.liquidated_usd = usd(paid.into(), 1.0);
        self.outcome.liquidator_pnl_usd = usd(seized.into(), START_PRICE) - self.outcome.liquidated_usd;
        self.outcome.transactions = self.rt.transactions;
        self.outcome.wall_secs = started.elapsed().as_secs_f64();
        self.outcome
    }
}

fn transfer(owner: &Pubkey, market: &MarketHandle, user_token: Pubkey) -> MarketTransfer {
    MarketTransfer { owner: *owner, margin_account: ix::margin_account_pda(owner, 0), market: market.key, user_token }
}

/// A market priced as the program priced it before these defences: initial health at
/// the oracle's prices (no stable price), the configured weights (no regime multiplier,
/// no USD limit). The EMA band is left out: the attacker asks regardless, and the
/// program answers.
fn priced_before_defences(s: &MarketSnapshot, now: i64) -> Option<PricedMarket> {
    let mut p = s.market.price(&s.reading, OracleAction::Liquidation, now).ok()?;
    if p.unusable.is_some() {
        return None;
    }
    p.init_prices = p.prices;
    p.weights = s.market.config.weights();
    Some(p)
}

/// The most USDC `account` may borrow from `usdc` (whose vault holds `vault`) with
/// markets priced as `priced`, by binary search over the amount with the program's own
/// rules: the borrow cap, free liquidity, the outflow limiter, initial health after the
/// borrow and, with `limit`, the USD borrow limit per window.
fn max_borrow(
    account: &MarginAccount,
    priced: &[PricedMarket],
    usdc: &Market,
    vault: u64,
    now: i64,
    limit: bool,
) -> u64 {
    let Ok(p) = find_priced(priced, usdc.market_index) else { return 0 };
    let (Ok(borrows), Ok(deposits), Ok(reserved)) =
        (p.indices.total_borrows(), p.indices.total_deposits(), usdc.reserved_tokens())
    else {
        return 0;
    };
    let cap_room = u128::from(usdc.config.borrow_cap).saturating_sub(borrows);
    let hi = vault.saturating_sub(reserved).min(u64::try_from(cap_room).unwrap_or(u64::MAX));
    let deposits = u64::try_from(deposits).unwrap_or(u64::MAX);
    let fits = |amount: u64| -> bool {
        let outflow_ok =
            outflow::record_outflow(&usdc.breakers.outflow(), amount, deposits, now, &usdc.config.breakers.outflow())
                .is_ok();
        let limit_ok = !limit
            || borrow_limit::record_borrow(
                &usdc.borrow_window.state(),
                amount,
                p.prices.liability,
                now,
                &usdc.config.limits.borrow_limit(),
            )
            .is_ok();
        outflow_ok && limit_ok && init_health_after(account, priced, p, amount).is_some_and(|h| h >= 0)
    };
    largest(hi, fits)
}

/// Initial health of `account` after borrowing `amount` from the market priced `p`, as
/// the program computes it (the same shares, the same slot).
fn init_health_after(account: &MarginAccount, priced: &[PricedMarket], p: &PricedMarket, amount: u64) -> Option<i128> {
    let mut after = *account;
    let shares = borrow_shares_for(amount.into(), p.indices.borrow_index).ok()?;
    let balance = after.find_or_open_balance(p.market_index)?;
    if balance.deposit_shares.get() > 0 {
        return None;
    }
    balance.borrow_shares.set(balance.borrow_shares.get().checked_add(shares)?);
    health_of(&after, priced).ok()?.init().ok()
}

/// The largest amount in `[0, hi]` that `fits` (monotone: fits up to some amount, not
/// beyond), 0 if not even one unit fits.
fn largest(hi: u64, fits: impl Fn(u64) -> bool) -> u64 {
    if hi == 0 || !fits(1) {
        return 0;
    }
    if fits(hi) {
        return hi;
    }
    let (mut lo, mut hi) = (1, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_finds_the_boundary() {
        assert_eq!(largest(0, |_| true), 0);
        assert_eq!(largest(100, |a| a <= 37), 37);
        assert_eq!(largest(100, |_| true), 100);
        assert_eq!(largest(100, |a| a == 0), 0);
        assert_eq!(largest(u64::MAX, |a| a <= 1 << 40), 1 << 40);
    }

    #[test]
    fn schedules_start_calm_and_end_at_the_start_price() {
        for pump in Pump::ALL {
            let s = pump.schedule();
            assert_eq!(s[0].phase, Phase::Start);
            assert!(s.windows(2).all(|w| w[1].at > w[0].at));
            let back = s.iter().position(|x| x.phase == Phase::Return).unwrap();
            assert!(s[back - 1].price > 2.5 * START_PRICE);
            assert!(s.iter().rev().take(4).all(|x| x.price == START_PRICE));
        }
        // The slow pump's steps stay well inside the EMA band (10%) and the guard (20%).
        let slow = Pump::Slow.schedule();
        assert!(slow.windows(2).filter(|w| w[1].phase == Phase::Pump).all(|w| w[1].price / w[0].price < 1.021));
    }

    #[test]
    fn both_settings_are_legal() {
        for d in Defences::ALL {
            for config in [usdc_config(d), thin_config(d)] {
                assert!(config.validate().is_ok(), "{d:?}: {config:?}");
            }
        }
    }
}
