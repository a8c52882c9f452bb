//! The simulated users and what they decide to do. Decisions are pure: they read the
//! agent's decoded accounts, prices priced by the program's own code and the agent's
//! wallet, and return an [`Intent`]; the simulator turns intents into transactions.

use anchor_lang::prelude::Pubkey;
use ballast::health::{find_priced, PricedMarket};
use ballast::{MarginAccount, Protocol, StakeEscrow, REWARD_STREAMS};
use ballast_keeper::scan;
use ballast_risk::WAD;
use solana_keypair::Keypair;

use crate::rng::Rng;

/// Market slots, in listing order (so also the program's market indices).
pub const USDC: usize = 0;
pub const SOL: usize = 1;
pub const BAL: usize = 2;
pub const MARKETS: usize = 3;
pub const MARKET_NAMES: [&str; MARKETS] = ["USDC", "SOL", "BAL"];

/// A trader keeps its borrow-limit usage within this distance of its target.
const BAND: f64 = 0.08;
/// Actions worth less than this (USD) are not worth a transaction.
const MIN_ACTION_USD: f64 = 10.0;
/// Smallest routine claim (USD): stakers do not claim dust.
const MIN_CLAIM_USD: f64 = 5.0;
/// Share of the lenders' supply the traders' opening borrows use: just under the rate
/// curve's kink (80%), where lending pays.
const TARGET_UTILISATION: f64 = 0.75;
/// Chance that a staker whose lock ended locks again rather than unstaking (outside a
/// crash).
const RELOCK_CHANCE: f64 = 0.6;
/// Drawdown from the peak at which panicky stakers exit early.
const PANIC_DRAWDOWN: f64 = 0.35;
/// Volatility multiple of calm (see [`View::stress`]) at which lenders start to run.
const RUN_STRESS: f64 = 2.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Supplies one market's token.
    Lender { market: usize },
    /// Posts `collateral` and borrows `debt`: a leveraged long (SOL or BAL against
    /// USDC) or short (USDC against SOL).
    Trader { collateral: usize, debt: usize },
    /// Locks native tokens in the staking escrow.
    Staker,
}

impl Role {
    pub fn label(&self) -> &'static str {
        match self {
            Role::Lender { .. } => "lender",
            Role::Trader { debt: USDC, .. } => "long",
            Role::Trader { .. } => "short",
            Role::Staker => "staker",
        }
    }
}

/// Who an agent is, before it exists on chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub role: Role,
    /// Funds in USD: collateral for traders, supply for lenders, native for stakers.
    pub size_usd: f64,
    /// Traders: the share of the borrow limit (initial health) they aim to use.
    pub target: f64,
    /// Traders: defends the position (repays, adds collateral) when the price moves
    /// against it; passive traders only ever lever up.
    pub active: bool,
    /// Stakers: lock length.
    pub lock_secs: u32,
    /// Stakers: exits early (paying the penalty) once the drawdown is deep.
    pub panicky: bool,
}

/// The agents of a run of `n` (at least 10): 15% lenders, then traders (65%: of them 70%
/// SOL longs, 15% native-token longs, 15% SOL shorts), then 20% stakers. Lenders are
/// sized so that the traders' target borrowing uses [`TARGET_UTILISATION`] of the supply.
pub fn roster(n: usize, rng: &mut Rng) -> Vec<Profile> {
    let stakers = n * 20 / 100;
    let lenders = (n * 15 / 100).max(2);
    let traders = n - stakers - lenders;
    let shorts = traders * 15 / 100;
    let bal_longs = traders * 15 / 100;
    let mut trading = Vec::with_capacity(traders);
    for i in 0..traders {
        let (collateral, debt) = if i < shorts {
            (USDC, SOL)
        } else if i < shorts + bal_longs {
            (BAL, USDC)
        } else {
            (SOL, USDC)
        };
        trading.push(Profile {
            role: Role::Trader { collateral, debt },
            size_usd: rng.log_range(1_000.0, 100_000.0),
            target: rng.range(0.3, 0.95),
            active: rng.chance(0.45),
            lock_secs: 0,
            panicky: false,
        });
    }
    // What the traders will borrow at their targets, per debt market (USD): initial
    // weights 0.8 on collateral and 1.2 on debt give a limit of 2/3 of the collateral.
    let mut demand = [0.0; MARKETS];
    for p in &trading {
        if let Role::Trader { debt, .. } = p.role {
            demand[debt] += p.size_usd * 2.0 / 3.0 * p.target;
        }
    }
    let sol_lenders = if shorts > 0 { (lenders / 4).max(1) } else { 0 };
    // Lenders first, so that the traders' opening borrows find liquidity.
    let mut out = Vec::with_capacity(n);
    // Each lender takes a random share of its market's supply.
    let weights: Vec<f64> = (0..lenders).map(|_| rng.log_range(1.0, 25.0)).collect();
    let (sol_weights, usdc_weights) = weights.split_at(sol_lenders);
    let (sol_total, usdc_total) = (sol_weights.iter().sum::<f64>(), usdc_weights.iter().sum::<f64>());
    for (i, w) in weights.iter().enumerate() {
        let (market, total) = if i < sol_lenders { (SOL, sol_total) } else { (USDC, usdc_total) };
        let supply = (demand[market] / TARGET_UTILISATION).max(100_000.0);
        out.push(Profile {
            role: Role::Lender { market },
            size_usd: supply * w / total,
            target: 0.0,
            active: false,
            lock_secs: 0,
            panicky: false,
        });
    }
    out.extend(trading);
    for _ in 0..stakers {
        out.push(Profile {
            role: Role::Staker,
            size_usd: rng.log_range(500.0, 50_000.0),
            target: 0.0,
            active: false,
            // Clamped: a log-uniform draw can land a hair outside the program's bounds.
            lock_secs: ((rng.log_range(7.0, 365.0) * 86_400.0) as u32).clamp(7 * 86_400, 365 * 86_400),
            panicky: rng.chance(0.15),
        });
    }
    out
}

/// An agent on chain: its keys, accounts and the simulator's copy of their state.
pub struct Agent {
    pub key: Keypair,
    pub profile: Profile,
    /// Token accounts by market slot.
    pub tokens: [Option<Pubkey>; MARKETS],
    pub margin_account: Option<Pubkey>,
    /// The margin account as last read (refreshed after every transaction touching it).
    pub account: Option<MarginAccount>,
    /// The stake escrow as last read; `None` when there is none.
    pub escrow: Option<StakeEscrow>,
}

/// What an agent sees when it decides.
pub struct View<'a> {
    pub now: i64,
    /// Markets priced by the program's code at their feeds' publish times: what the
    /// agent's screen shows, even when the feed is too old for the program to act on.
    pub priced: &'a [PricedMarket],
    pub protocol: &'a Protocol,
    /// USD per whole token, from the feeds, by market slot.
    pub prices: [f64; MARKETS],
    pub decimals: [u8; MARKETS],
    /// The sim's observed volatility over its calm level (1 = calm).
    pub stress: f64,
    /// How far the collateral's price sits below its running peak (0.4 = -40%).
    pub drawdown: f64,
}

impl View<'_> {
    fn usd(&self, market: usize, amount: u64) -> f64 {
        usd_value(amount as f64, self.prices[market], self.decimals[market])
    }

    fn tokens(&self, market: usize, usd: f64) -> u64 {
        base_units(usd, self.prices[market], self.decimals[market])
    }
}

/// USD value of `units` base units of a token with `decimals`, at `price` per whole token.
pub fn usd_value(units: f64, price: f64, decimals: u8) -> f64 {
    units * price / 10f64.powi(i32::from(decimals))
}

/// Base units of a token with `decimals` worth `usd` at `price` per whole token
/// (saturating at the bounds of `u64`).
pub fn base_units(usd: f64, price: f64, decimals: u8) -> u64 {
    (usd / price * 10f64.powi(i32::from(decimals))) as u64
}

/// How a staker leaves (or not) after claiming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StakeExit {
    Stay,
    Unstake,
    WithdrawStake,
    ExitEarly,
    /// Locks the whole stake again, from now (its boost starts over).
    Relock {
        lock_secs: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Nothing,
    Deposit {
        market: usize,
        amount: u64,
    },
    Borrow {
        market: usize,
        amount: u64,
    },
    Repay {
        market: usize,
        amount: u64,
        all: bool,
    },
    Withdraw {
        market: usize,
        amount: u64,
        all: bool,
    },
    Stake {
        amount: u64,
        lock_secs: u32,
    },
    IncreaseStake {
        amount: u64,
    },
    /// Claims every stream with rewards owed (index 0 native, 1 + i market i), then exits.
    Claim {
        owed: [u64; REWARD_STREAMS],
        then: StakeExit,
    },
}

impl Intent {
    /// The market slot an outflow (a borrow or withdrawal) draws from: what the
    /// program's outflow limiter counts.
    pub fn outflow_market(&self) -> Option<usize> {
        match *self {
            Intent::Borrow { market, .. } | Intent::Withdraw { market, .. } => Some(market),
            _ => None,
        }
    }
}

/// What `agent` does now, holding `wallet` (token balances by market slot).
pub fn decide(agent: &Agent, view: &View, wallet: &[u64; MARKETS], rng: &mut Rng) -> Intent {
    match agent.profile.role {
        Role::Trader { collateral, debt } => trader(agent, collateral, debt, view, wallet, rng),
        Role::Lender { market } => lender(agent, market, view, wallet, rng),
        Role::Staker => staker(agent, view, wallet, rng),
    }
}

/// Tokens of `debt` that move initial liabilities by `value` (WAD), at the program's
/// conservative liability price and initial weight.
fn debt_tokens(value: f64, debt: &PricedMarket) -> u64 {
    let per_token = debt.prices.liability as f64 * f64::from(debt.weights.init_liability_bps) / 10_000.0;
    if per_token <= 0.0 {
        return 0;
    }
    (value / per_token).max(0.0) as u64
}

/// Tokens of `debt` a fresh account can borrow against `collateral` tokens of the
/// collateral market to use `target` of its limit (a little under, for rounding).
pub fn opening_borrow(collateral: u64, target: f64, collateral_market: &PricedMarket, debt: &PricedMarket) -> u64 {
    let init_assets =
        collateral as f64 * collateral_market.prices.asset as f64 * f64::from(collateral_market.weights.init_asset_bps)
            / 10_000.0;
    debt_tokens(init_assets * target * 0.99, debt)
}

fn trader(
    agent: &Agent,
    collateral: usize,
    debt: usize,
    view: &View,
    wallet: &[u64; MARKETS],
    rng: &mut Rng,
) -> Intent {
    let Some(account) = &agent.account else { return Intent::Nothing };
    let Some(health) = scan::health(account, view.priced) else { return Intent::Nothing };
    let Ok(debt_market) = find_priced(view.priced, debt as u16) else { return Intent::Nothing };
    if health.init_assets == 0 {
        // Liquidated down to nothing: some come back with what is left in the wallet.
        if wallet[collateral] > 0 && view.usd(collateral, wallet[collateral]) > MIN_ACTION_USD && rng.chance(0.2) {
            return Intent::Deposit { market: collateral, amount: wallet[collateral] };
        }
        return Intent::Nothing;
    }
    let (assets, liabilities) = (health.init_assets as f64, health.init_liabilities as f64);
    let usage = liabilities / assets;
    let target = agent.profile.target;
    let usd = |tokens: u64| view.usd(debt, tokens);
    if usage < target - BAND {
        let amount = debt_tokens((target * assets - liabilities) * 0.99, debt_market);
        if usd(amount) >= MIN_ACTION_USD {
            return Intent::Borrow { market: debt, amount };
        }
    } else if usage > target + BAND && agent.profile.active {
        let excess = debt_tokens(liabilities - target * assets, debt_market);
        let owed = account
            .active_balances()
            .find(|b| b.market_index == debt as u16)
            .and_then(|b| debt_market.debt(b.borrow_shares.get()).ok())
            .unwrap_or(0);
        let owed = u64::try_from(owed).unwrap_or(u64::MAX);
        if wallet[debt] > 0 && owed > 0 {
            if wallet[debt] >= owed && excess >= owed {
                return Intent::Repay { market: debt, amount: 0, all: true };
            }
            let amount = excess.min(wallet[debt]).min(owed);
            if usd(amount) >= MIN_ACTION_USD {
                return Intent::Repay { market: debt, amount, all: false };
            }
        }
        if view.usd(collateral, wallet[collateral]) >= MIN_ACTION_USD {
            return Intent::Deposit { market: collateral, amount: wallet[collateral] };
        }
    }
    Intent::Nothing
}

fn lender(agent: &Agent, market: usize, view: &View, wallet: &[u64; MARKETS], rng: &mut Rng) -> Intent {
    let Some(account) = &agent.account else { return Intent::Nothing };
    let supplied = account
        .active_balances()
        .find(|b| b.market_index == market as u16)
        .and_then(|b| find_priced(view.priced, market as u16).ok()?.deposit(b.deposit_shares.get()).ok())
        .map_or(0, |d| u64::try_from(d).unwrap_or(u64::MAX));
    // In a storm lenders run for the exit; otherwise they shuffle funds in and out.
    let running = view.stress >= RUN_STRESS && rng.chance(0.5);
    if supplied > 0 && (running || rng.chance(0.4)) {
        let share = if running { rng.range(0.3, 1.0) } else { rng.range(0.1, 0.3) };
        if share > 0.95 {
            return Intent::Withdraw { market, amount: 0, all: true };
        }
        let amount = (supplied as f64 * share) as u64;
        if view.usd(market, amount) >= MIN_ACTION_USD {
            return Intent::Withdraw { market, amount, all: false };
        }
        return Intent::Nothing;
    }
    let amount = (wallet[market] as f64 * rng.range(0.2, 0.6)) as u64;
    if !running && view.usd(market, amount) >= MIN_ACTION_USD {
        return Intent::Deposit { market, amount };
    }
    Intent::Nothing
}

/// Rewards `escrow` could claim now: the program's own accrual and settlement, run on
/// copies of the accounts.
pub fn owed_rewards(protocol: &Protocol, escrow: &StakeEscrow, now: i64) -> [u64; REWARD_STREAMS] {
    let (mut protocol, mut escrow) = (*protocol, *escrow);
    if ballast::staking::accrue(&mut protocol, now).is_err()
        || ballast::staking::settle_all(&mut escrow, &protocol).is_err()
    {
        return [0; REWARD_STREAMS];
    }
    escrow.rewards_owed
}

/// USD value of rewards owed, by stream (0 native, 1 + i market i).
fn rewards_usd(owed: &[u64; REWARD_STREAMS], view: &View) -> f64 {
    view.usd(BAL, owed[0]) + (0..MARKETS).map(|m| view.usd(m, owed[1 + m])).sum::<f64>()
}

fn staker(agent: &Agent, view: &View, wallet: &[u64; MARKETS], rng: &mut Rng) -> Intent {
    let min_stake = view.tokens(BAL, MIN_ACTION_USD);
    let Some(escrow) = &agent.escrow else {
        // Unstaked: stake again with most of the wallet, unless this staker fled the
        // crash and the price has not come back.
        if agent.profile.panicky && view.drawdown > PANIC_DRAWDOWN / 2.0 {
            return Intent::Nothing;
        }
        let amount = (wallet[BAL] as f64 * rng.range(0.6, 1.0)) as u64;
        if amount >= min_stake.max(1) {
            return Intent::Stake { amount, lock_secs: agent.profile.lock_secs };
        }
        return Intent::Nothing;
    };
    let owed = owed_rewards(view.protocol, escrow, view.now);
    let claim = |then| Intent::Claim { owed, then };
    if escrow.cooldown_end != 0 {
        return if view.now >= escrow.cooldown_end { claim(StakeExit::WithdrawStake) } else { Intent::Nothing };
    }
    if view.now >= escrow.lock_end {
        // The boost has run out: committed stakers lock again, the others leave.
        let calm = view.drawdown < PANIC_DRAWDOWN / 2.0;
        if calm && rng.chance(RELOCK_CHANCE) {
            return claim(StakeExit::Relock { lock_secs: agent.profile.lock_secs });
        }
        return claim(StakeExit::Unstake);
    }
    if agent.profile.panicky && view.drawdown > PANIC_DRAWDOWN {
        return claim(StakeExit::ExitEarly);
    }
    if rng.chance(0.1) && wallet[BAL] >= min_stake.max(1) {
        return Intent::IncreaseStake { amount: wallet[BAL] };
    }
    if rewards_usd(&owed, view) >= MIN_CLAIM_USD {
        return claim(StakeExit::Stay);
    }
    Intent::Nothing
}

/// Maintenance health over maintenance liabilities (1.0 = liquidation threshold), or
/// `None` for an account without debt or one whose markets cannot be priced.
pub fn health_ratio(account: &MarginAccount, priced: &[PricedMarket]) -> Option<f64> {
    let health = scan::health(account, priced)?;
    (health.maint_liabilities > 0).then(|| health.maint_assets as f64 / health.maint_liabilities as f64)
}

/// USD value of `amount` base units at a priced market's mid price.
pub fn usd_at_mid(amount: u128, market: &PricedMarket) -> f64 {
    amount as f64 * market.mid_down as f64 / WAD as f64
}
