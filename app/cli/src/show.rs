//! Read commands (`show protocol`, `show market`, `show account`, `show stake`): what the
//! chain holds, computed from decoded accounts with the program's own code
//! (`Market::price`, `health_of`, `StakeEscrow::weight_at`), so the numbers are the
//! program's. Pure: `main.rs` fetches, this
//! computes; each view prints as a table or serialises to JSON.

use anchor_lang::prelude::Pubkey;
use ballast::health::{health_of, PricedMarket};
use ballast::{MarginAccount, Market, Protocol, StakeEscrow};
use ballast_risk::gates;
use ballast_risk::interest::{borrow_rate_wad, utilization_wad};
use ballast_risk::oracle::{OracleAction, OracleReading};
use ballast_risk::regime::Regime;
use ballast_risk::WAD;
use serde::Serialize;

/// A WAD quote value as dollars, for display.
fn usd(wad: i128) -> f64 {
    wad as f64 / WAD as f64
}

/// Base units as whole tokens, for display.
fn tokens(amount: u128, decimals: u8) -> f64 {
    amount as f64 / 10f64.powi(i32::from(decimals))
}

fn regime_name(byte: u8) -> String {
    Regime::from_u8(byte).map_or_else(|_| format!("unknown ({byte})"), |r| format!("{r:?}"))
}

/// The names of the gate bits set in `mask`.
pub fn gate_names(mask: u64) -> Vec<&'static str> {
    const NAMES: [(u64, &str); 13] = [
        (gates::DEPOSIT, "deposit"),
        (gates::WITHDRAW, "withdraw"),
        (gates::BORROW, "borrow"),
        (gates::REPAY, "repay"),
        (gates::LIQUIDATE, "liquidate"),
        (gates::STAKE, "stake"),
        (gates::UNSTAKE, "unstake"),
        (gates::CLAIM, "claim"),
        (gates::SWEEP_FEES, "sweep_fees"),
        (gates::BUYBACK, "buyback"),
        (gates::RESOLVE_BAD_DEBT, "resolve_bad_debt"),
        (gates::CREATE_MARGIN_ACCOUNT, "create_margin_account"),
        (gates::UPDATE_VOLATILITY, "update_volatility"),
    ];
    NAMES.iter().filter(|(bit, _)| mask & bit != 0).map(|(_, name)| *name).collect()
}

/// The gate mask of comma-separated gate names (`none` or empty for none).
pub fn gate_mask(names: &str) -> Result<u64, String> {
    names.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "none").try_fold(0u64, |mask, name| {
        let bit = (0..64)
            .map(|i| 1u64 << i)
            .find(|bit| gate_names(*bit) == [name])
            .ok_or(format!("unknown gate {name:?}"))?;
        Ok(mask | bit)
    })
}

#[derive(Debug, Serialize)]
pub struct ProtocolView {
    pub address: String,
    pub admin: String,
    pub pending_admin: String,
    pub guardian: String,
    pub native_mint: String,
    pub native_oracle: String,
    pub launched: bool,
    pub market_count: u16,
    pub regime: String,
    pub annual_vol_bps: u32,
    pub drawdown_bps: u32,
    pub admin_gates: Vec<&'static str>,
    pub guardian_gates: Vec<&'static str>,
    pub guardian_paused_until: i64,
    pub timelock_delay_secs: u32,
    pub timelock_grace_secs: u32,
    pub proposals_created: u64,
    pub total_staked: u64,
    /// Sum of the escrows' checkpointed weights.
    pub total_weight: u128,
    pub total_emitted: u64,
    pub total_burned: u64,
}

pub fn protocol_view(address: &Pubkey, p: &Protocol, now: i64) -> ProtocolView {
    let guardian_active = p.breakers.guardian_paused_until_ts > now;
    ProtocolView {
        address: address.to_string(),
        admin: p.admin.to_string(),
        pending_admin: p.pending_admin.to_string(),
        guardian: p.guardian.to_string(),
        native_mint: p.native_mint.to_string(),
        native_oracle: p.native_oracle.address.to_string(),
        launched: p.governance.is_launched(),
        market_count: p.market_count,
        regime: regime_name(p.volatility.regime),
        annual_vol_bps: p.volatility.annual_vol_bps,
        drawdown_bps: p.volatility.drawdown_bps,
        admin_gates: gate_names(p.breakers.gates),
        guardian_gates: if guardian_active { gate_names(p.breakers.guardian_mask) } else { Vec::new() },
        guardian_paused_until: p.breakers.guardian_paused_until_ts,
        timelock_delay_secs: p.config.timelock.delay_secs,
        timelock_grace_secs: p.config.timelock.grace_secs,
        proposals_created: p.governance.proposal_count,
        total_staked: p.total_staked,
        total_weight: p.total_weight(),
        total_emitted: p.total_emitted,
        total_burned: p.total_burned,
    }
}

#[derive(Debug, Serialize)]
pub struct MarketView {
    pub address: String,
    pub mint: String,
    pub index: u16,
    pub decimals: u8,
    /// Whole tokens, interest accrued to now.
    pub deposits: f64,
    pub borrows: f64,
    pub utilisation_pct: f64,
    pub borrow_apr_pct: f64,
    pub deposit_cap: f64,
    pub borrow_cap: f64,
    pub insurance_fund: f64,
    pub buyback_pool: f64,
    pub staker_pool: f64,
    pub unswept_fees: f64,
    pub oracle: String,
    /// The feed's price (USD per token) and age, if it reads.
    pub price: Option<f64>,
    pub oracle_age_secs: Option<i64>,
    /// Why the feed is unusable even for liquidations, if it is.
    pub oracle_problem: Option<String>,
    pub regime: String,
    /// Weights in force now (regime multipliers where their ramps stand), bps.
    pub init_asset_weight_bps: u32,
    pub maint_asset_weight_bps: u32,
    pub init_liability_weight_bps: u32,
    pub maint_liability_weight_bps: u32,
    pub reduce_only: bool,
}

pub fn market_view(address: &Pubkey, m: &Market, reading: Option<&OracleReading>, now: i64) -> MarketView {
    let accrual = m.accrual_at(now).ok();
    let indices = ballast_risk::interest::MarketIndices {
        deposit_index: accrual.map_or(m.deposit_index.get(), |a| a.deposit_index),
        borrow_index: accrual.map_or(m.borrow_index.get(), |a| a.borrow_index),
        ..m.indices()
    };
    let (deposits, borrows) = (indices.total_deposits().unwrap_or(0), indices.total_borrows().unwrap_or(0));
    let util = utilization_wad(deposits, borrows).unwrap_or(0);
    let rate = borrow_rate_wad(&m.config.rate_curve(), util).unwrap_or(0);
    let weights = m.weights_at(now);
    let priced = reading.map(|r| m.price(r, OracleAction::Liquidation, now));
    let d = m.decimals;
    MarketView {
        address: address.to_string(),
        mint: m.mint.to_string(),
        index: m.market_index,
        decimals: d,
        deposits: tokens(deposits, d),
        borrows: tokens(borrows, d),
        utilisation_pct: util as f64 / WAD as f64 * 100.0,
        borrow_apr_pct: rate as f64 / WAD as f64 * 100.0,
        deposit_cap: tokens(m.config.deposit_cap.into(), d),
        borrow_cap: tokens(m.config.borrow_cap.into(), d),
        insurance_fund: tokens(m.insurance_fund.into(), d),
        buyback_pool: tokens(m.buyback_pool.into(), d),
        staker_pool: tokens(m.staker_pool.into(), d),
        unswept_fees: tokens(m.accrued_protocol_fees.into(), d),
        oracle: m.oracle.address.to_string(),
        price: reading.map(|r| r.price as f64 * 10f64.powi(r.expo)),
        oracle_age_secs: reading.map(|r| now - r.publish_time),
        oracle_problem: match priced {
            None => Some("the feed account does not read".into()),
            Some(Err(e)) => Some(e.to_string()),
            Some(Ok(p)) => p.unusable.map(|e| format!("{e:?}")),
        },
        regime: regime_name(m.volatility.regime),
        init_asset_weight_bps: weights.init_asset_bps,
        maint_asset_weight_bps: weights.maint_asset_bps,
        init_liability_weight_bps: weights.init_liability_bps,
        maint_liability_weight_bps: weights.maint_liability_bps,
        reduce_only: m.is_reduce_only(now),
    }
}

#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub market: String,
    pub index: u16,
    /// Whole tokens (one of the two is zero).
    pub deposit: f64,
    pub debt: f64,
    /// At the oracle mid price.
    pub value_usd: f64,
    /// For a deposit: the price (USD per token) at which the account's maintenance health
    /// reaches zero, every other price held; `None` when no price of it would.
    pub liquidation_price: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub address: String,
    pub owner: String,
    pub balances: Vec<BalanceView>,
    pub init_health_usd: f64,
    pub maint_health_usd: f64,
    /// Maintenance assets over maintenance liabilities (`None` without debt).
    pub health_ratio: Option<f64>,
    pub liquidatable: bool,
}

/// `account` priced at `now` for a liquidation's check (as a liquidator sees it): every
/// balance's market must be in `markets` with its feed's reading.
pub fn account_view(
    address: &Pubkey,
    account: &MarginAccount,
    markets: &[(Pubkey, Market, OracleReading)],
    now: i64,
) -> Result<AccountView, String> {
    // The market of each balance, in slot order.
    let held = account
        .active_balances()
        .map(|b| {
            markets
                .iter()
                .find(|(_, m, _)| m.market_index == b.market_index)
                .ok_or(format!("market {} of a balance was not found", b.market_index))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let priced = held
        .iter()
        .map(|(_, market, reading)| market.price(reading, OracleAction::Liquidation, now).map_err(|e| e.to_string()))
        .collect::<Result<Vec<PricedMarket>, _>>()?;
    let health = health_of(account, &priced).map_err(|e| e.to_string())?;
    let maint = health.maint().map_err(|e| e.to_string())?;
    let mut balances = Vec::new();
    for ((balance, (key, market, reading)), p) in account.active_balances().zip(&held).zip(&priced) {
        let deposit = p.deposit(balance.deposit_shares.get()).map_err(|e| e.to_string())?;
        let debt = p.debt(balance.borrow_shares.get()).map_err(|e| e.to_string())?;
        let price = reading.price as f64 * 10f64.powi(reading.expo);
        // This deposit's share of maintenance assets scales with its price.
        let weighted = deposit as f64 * p.prices.asset as f64 * f64::from(p.weights.maint_asset_bps) / 10_000.0;
        let liquidation_price = (deposit > 0 && weighted > maint as f64 && p.prices.asset > 0)
            .then(|| price * (weighted - maint as f64) / weighted);
        balances.push(BalanceView {
            market: key.to_string(),
            index: balance.market_index,
            deposit: tokens(deposit, market.decimals),
            debt: tokens(debt, market.decimals),
            value_usd: usd((deposit.max(debt) * p.mid_down) as i128),
            liquidation_price,
        });
    }
    Ok(AccountView {
        address: address.to_string(),
        owner: account.owner.to_string(),
        balances,
        init_health_usd: usd(health.init().map_err(|e| e.to_string())?),
        maint_health_usd: usd(maint),
        health_ratio: (health.maint_liabilities > 0)
            .then(|| health.maint_assets as f64 / health.maint_liabilities as f64),
        liquidatable: maint < 0,
    })
}

#[derive(Debug, Serialize)]
pub struct StakeView {
    pub address: String,
    pub owner: String,
    /// Base units staked (or cooling down).
    pub amount: u64,
    pub lock_start: i64,
    pub lock_end: i64,
    /// When a requested unstake may be withdrawn; 0 while none is pending.
    pub cooldown_end: i64,
    /// The weight the program stored at its last checkpoint, and when.
    pub checkpointed_weight: u128,
    pub checkpoint_ts: i64,
    /// The weight now (what a poke would store): what a governance tool weights votes by.
    pub weight_now: u128,
    /// Base units burned if the escrow exited early now (0 once the lock has ended).
    pub exit_penalty_now: u64,
}

/// `escrow` at `now`, with the protocol's lock config, regime and penalty bounds.
pub fn stake_view(address: &Pubkey, escrow: &StakeEscrow, protocol: &Protocol, now: i64) -> Result<StakeView, String> {
    let weight_now = escrow.weight_at(&protocol.config.locks(), now).map_err(|e| e.to_string())?;
    let lock_running = escrow.lock_end > now && !escrow.is_cooling_down();
    let exit_penalty_now = if lock_running {
        ballast::staking::exit_penalty(escrow, protocol, now).map_err(|e| e.to_string())?
    } else {
        0
    };
    Ok(StakeView {
        address: address.to_string(),
        owner: escrow.owner.to_string(),
        amount: escrow.amount,
        lock_start: escrow.lock_start,
        lock_end: escrow.lock_end,
        cooldown_end: escrow.cooldown_end,
        checkpointed_weight: escrow.weight.get(),
        checkpoint_ts: escrow.checkpoint_ts,
        weight_now,
        exit_penalty_now,
    })
}

/// `view` as `key  value` lines, sorted by name (nested views as `outer.inner`, lists
/// of views as `list[i].field`).
pub fn table<T: Serialize>(view: &T) -> String {
    let value = serde_json::to_value(view).unwrap_or_default();
    let mut out = String::new();
    render(&value, "", &mut out);
    out
}

fn render(value: &serde_json::Value, prefix: &str, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                render(v, &name, out);
            }
        }
        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            for (i, item) in items.iter().enumerate() {
                render(item, &format!("{prefix}[{i}]"), out);
            }
        }
        other => out.push_str(&format!("{prefix:<32} {}\n", plain(other))),
    }
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) if items.is_empty() => "none".into(),
        serde_json::Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_names_and_masks_round_trip() {
        assert_eq!(gate_mask("repay, liquidate"), Ok(gates::REPAY | gates::LIQUIDATE));
        assert_eq!(gate_mask("none"), Ok(0));
        assert_eq!(gate_names(gate_mask("borrow,withdraw").unwrap()), ["withdraw", "borrow"]);
        assert_eq!(gate_mask("everything"), Err("unknown gate \"everything\"".into()));
        assert_eq!(gate_names(gates::ALL).len(), 13);
    }

    #[test]
    fn tables_flatten_nested_views() {
        #[derive(Serialize)]
        struct Inner {
            x: u8,
        }
        #[derive(Serialize)]
        struct View {
            name: &'static str,
            items: Vec<Inner>,
            tags: Vec<&'static str>,
            none: Option<u8>,
        }
        let text = table(&View { name: "a", items: vec![Inner { x: 1 }], tags: vec![], none: None });
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines, [vec!["items[0].x", "1"], vec!["name", "a"], vec!["none", "-"], vec!["tags", "none"]]);
    }
}
