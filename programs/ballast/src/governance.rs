//! Governance actions: what the admin may change, how each change is classified field by
//! field (tightening applies at once; loosening, and any change of what sets maintenance
//! health, waits in the timelock; the directions are `ballast_risk::governance::direction`),
//! its bounds and how it is written.
//!
//! Pure: no accounts, no clock. The instructions (`apply_change`, `propose_change`,
//! `execute_change`, `add_market`) and the CLI's diff call the same functions.
//!
//! Adding a variant: append it at the end of [`GovernanceAction`] (stored proposals keep
//! their variant byte), then one arm in each of [`GovernanceAction::name`],
//! [`GovernanceAction::market`], [`GovernanceAction::validate`],
//! [`GovernanceAction::current`], [`GovernanceAction::changes`] (a small `*_changes`
//! function using `direction::*`) and [`GovernanceAction::apply`], its size in
//! [`GovernanceAction::MAX_LEN`] and its case in the `max_len_covers_every_variant` test.
//! A new group of config fields: one `*_changes` call in [`market_config_changes`] or
//! [`protocol_config_changes`] (`every_config_field_is_classified` fails until then; on
//! chain an unclassified difference counts as loosening).

use anchor_lang::prelude::*;
use ballast_risk::governance::{classify, direction, ChangeKind, FieldChange, Looser};

use crate::errors::BallastError;
use crate::state::{
    FeedIdHex, Market, MarketConfig, OracleSource, Protocol, ProtocolConfig, RegimeRow, UsdLimits, VolatilityConfig,
};

/// One governance change. Stored whole in a `Proposal` while it waits in the timelock.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub enum GovernanceAction {
    /// Replaces a listed market's `MarketConfig`.
    SetMarketConfig { market: Pubkey, config: MarketConfig },
    /// Replaces the `ProtocolConfig` (the timelock's own settings included).
    SetProtocolConfig { config: ProtocolConfig },
    /// Sets the guardian key (`Pubkey::default()`: no guardian).
    SetGuardian { guardian: Pubkey },
    /// Proposes a new admin, who must then `accept_admin`.
    TransferAdmin { new_admin: Pubkey },
    /// Lists a market: consumed by `add_market` with the same mint, oracle and config.
    ListMarket { mint: Pubkey, oracle: OracleSource, config: MarketConfig },
    /// Replaces a listed market's feed (kind, price account, feed id). The new account
    /// is passed as a remaining account and must price the market sanely.
    SetMarketOracle { market: Pubkey, oracle: OracleSource },
    /// Replaces the native token's feed, passed likewise.
    SetNativeOracle { oracle: OracleSource },
}

const fn largest(sizes: &[usize]) -> usize {
    let (mut i, mut max) = (0, 0);
    while i < sizes.len() {
        if sizes[i] > max {
            max = sizes[i];
        }
        i += 1;
    }
    max
}

const KEY: usize = 32;
const ORACLE: usize = core::mem::size_of::<OracleSource>();
const MARKET_CONFIG: usize = core::mem::size_of::<MarketConfig>();
const PROTOCOL_CONFIG: usize = core::mem::size_of::<ProtocolConfig>();

impl GovernanceAction {
    /// Largest Borsh size of an action: the variant byte and the largest variant, listed
    /// in declaration order. (The config structs are `Pod` with integer fields only, so
    /// their Borsh size is their size.)
    pub const MAX_LEN: usize = 1 + largest(&[
        KEY + MARKET_CONFIG,          // SetMarketConfig
        PROTOCOL_CONFIG,              // SetProtocolConfig
        KEY,                          // SetGuardian
        KEY,                          // TransferAdmin
        KEY + ORACLE + MARKET_CONFIG, // ListMarket
        KEY + ORACLE,                 // SetMarketOracle
        ORACLE,                       // SetNativeOracle
    ]);

    /// Short name, for logs and the CLI.
    pub fn name(&self) -> &'static str {
        match self {
            GovernanceAction::SetMarketConfig { .. } => "set_market_config",
            GovernanceAction::SetProtocolConfig { .. } => "set_protocol_config",
            GovernanceAction::SetGuardian { .. } => "set_guardian",
            GovernanceAction::TransferAdmin { .. } => "transfer_admin",
            GovernanceAction::ListMarket { .. } => "list_market",
            GovernanceAction::SetMarketOracle { .. } => "set_market_oracle",
            GovernanceAction::SetNativeOracle { .. } => "set_native_oracle",
        }
    }

    /// The listed market the change writes to, which the instruction must be given.
    pub fn market(&self) -> Option<Pubkey> {
        match self {
            GovernanceAction::SetMarketConfig { market, .. } | GovernanceAction::SetMarketOracle { market, .. } => {
                Some(*market)
            }
            GovernanceAction::SetProtocolConfig { .. }
            | GovernanceAction::SetGuardian { .. }
            | GovernanceAction::TransferAdmin { .. }
            | GovernanceAction::ListMarket { .. }
            | GovernanceAction::SetNativeOracle { .. } => None,
        }
    }

    /// The feed this change installs in place of another, whose account the instruction
    /// must be given (and reads, so that no unparsable or insane feed is ever written). A
    /// listing's feed is `add_market`'s own `oracle` account.
    pub fn new_oracle(&self) -> Option<&OracleSource> {
        match self {
            GovernanceAction::SetMarketOracle { oracle, .. } | GovernanceAction::SetNativeOracle { oracle } => {
                Some(oracle)
            }
            _ => None,
        }
    }

    /// Every new value within its bounds, with the error of its group.
    pub fn validate(&self) -> Result<()> {
        match self {
            GovernanceAction::ListMarket { config, oracle, .. } => {
                config.validate()?;
                oracle.validate_for_listing()
            }
            GovernanceAction::SetMarketConfig { config, .. } => config.validate(),
            GovernanceAction::SetMarketOracle { oracle, .. } | GovernanceAction::SetNativeOracle { oracle } => {
                oracle.validate_for_listing()
            }
            GovernanceAction::SetProtocolConfig { config } => config.validate(),
            GovernanceAction::SetGuardian { .. } => Ok(()),
            GovernanceAction::TransferAdmin { new_admin } => {
                require_keys_neq!(*new_admin, Pubkey::default(), BallastError::InvalidAdmin);
                Ok(())
            }
        }
    }

    /// The same action holding the values in force now: what the change is measured
    /// against, and what a proposal records so that execution can tell it went stale.
    /// `market` is the target market's state (see [`GovernanceAction::market`]).
    pub fn current(&self, protocol: &Protocol, market: Option<&Market>) -> Result<GovernanceAction> {
        Ok(match self {
            GovernanceAction::SetMarketConfig { market: key, .. } => {
                let market = market.ok_or(BallastError::MarketAccountRequired)?;
                GovernanceAction::SetMarketConfig { market: *key, config: market.config }
            }
            GovernanceAction::SetProtocolConfig { .. } => {
                GovernanceAction::SetProtocolConfig { config: protocol.config }
            }
            GovernanceAction::SetGuardian { .. } => GovernanceAction::SetGuardian { guardian: protocol.guardian },
            GovernanceAction::TransferAdmin { .. } => GovernanceAction::TransferAdmin { new_admin: protocol.admin },
            // Nothing listed yet to compare with: `add_market` refuses an existing market.
            GovernanceAction::ListMarket { .. } => self.clone(),
            GovernanceAction::SetMarketOracle { market: key, .. } => {
                let market = market.ok_or(BallastError::MarketAccountRequired)?;
                GovernanceAction::SetMarketOracle { market: *key, oracle: market.oracle }
            }
            GovernanceAction::SetNativeOracle { .. } => {
                GovernanceAction::SetNativeOracle { oracle: protocol.native_oracle }
            }
        })
    }

    /// Every field this action changes relative to `base` (the same variant, from
    /// [`GovernanceAction::current`]), with the direction in which it loosens.
    pub fn changes(&self, base: &GovernanceAction) -> Result<Vec<FieldDiff>> {
        use GovernanceAction as A;
        let mut out = Vec::new();
        match (base, self) {
            (A::SetMarketConfig { config: old, .. }, A::SetMarketConfig { config: new, .. }) => {
                market_config_changes(old, new, &mut out)
            }
            (A::SetProtocolConfig { config: old }, A::SetProtocolConfig { config: new }) => {
                protocol_config_changes(old, new, &mut out)
            }
            (A::SetGuardian { guardian: old }, A::SetGuardian { guardian: new }) => {
                key_change(&mut out, "guardian", *old, *new, direction::GUARDIAN)
            }
            (A::TransferAdmin { new_admin: old }, A::TransferAdmin { new_admin: new }) => {
                key_change(&mut out, "admin", *old, *new, direction::NEW_MARKET_OR_ADMIN)
            }
            (A::ListMarket { .. }, A::ListMarket { .. }) => {
                // A new market is loosening whatever its parameters.
                out.push(FieldDiff::int("listed", 0, 1, direction::NEW_MARKET_OR_ADMIN))
            }
            (A::SetMarketOracle { oracle: old, .. }, A::SetMarketOracle { oracle: new, .. })
            | (A::SetNativeOracle { oracle: old }, A::SetNativeOracle { oracle: new }) => {
                oracle_changes(old, new, &mut out)
            }
            _ => return err!(BallastError::ProposalStale),
        }
        Ok(out)
    }

    /// Whether, from `base`, this change turns staking emissions on: the program then
    /// checks that the protocol is the native mint's mint authority (the native mint is a
    /// remaining account), or every staking instruction would fail to mint.
    pub fn turns_emissions_on(&self, base: &GovernanceAction) -> bool {
        matches!(
            (base, self),
            (GovernanceAction::SetProtocolConfig { config: old }, GovernanceAction::SetProtocolConfig { config: new })
                if !old.emits() && new.emits()
        )
    }

    /// Tightening, loosening or no change relative to `base`.
    pub fn classify(&self, base: &GovernanceAction) -> Result<ChangeKind> {
        Ok(classify_diffs(&self.changes(base)?))
    }

    /// Writes the change. `market` is the target market's state.
    /// What accrues over time accrues to `now` at the old values first: a market's
    /// interest (rate curve, protocol fee) and the staking streams (emission rates,
    /// drips), so a change never reaches back. A new market config's multipliers for
    /// the market's regime are reached over its ramp from `now`, like a regime change's,
    /// never in one jump.
    pub fn apply(&self, protocol: &mut Protocol, market: Option<&mut Market>, now: i64) -> Result<()> {
        match self {
            GovernanceAction::SetMarketConfig { config, .. } => {
                let market = market.ok_or(BallastError::MarketAccountRequired)?;
                market.accrue_interest(now)?;
                market.config = *config;
                market.retarget_multipliers(market.regime()?, now);
            }
            GovernanceAction::SetProtocolConfig { config } => {
                crate::staking::accrue(protocol, now)?;
                protocol.config = *config;
            }
            GovernanceAction::SetGuardian { guardian } => protocol.guardian = *guardian,
            // Two steps: the new key becomes admin when it accepts.
            GovernanceAction::TransferAdmin { new_admin } => protocol.pending_admin = *new_admin,
            GovernanceAction::ListMarket { .. } => return err!(BallastError::ListingThroughAddMarket),
            GovernanceAction::SetMarketOracle { oracle, .. } => {
                market.ok_or(BallastError::MarketAccountRequired)?.oracle = *oracle
            }
            GovernanceAction::SetNativeOracle { oracle } => protocol.native_oracle = *oracle,
        }
        Ok(())
    }
}

/// A field's value: an integer, or a key or a Pyth feed id (which are only ever "same"
/// or "different").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue {
    Int(u64),
    Key(Pubkey),
    FeedId([u8; 32]),
}

impl core::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FieldValue::Int(v) => write!(f, "{v}"),
            FieldValue::Key(k) => write!(f, "{k}"),
            FieldValue::FeedId(id) => FeedIdHex(id).fmt(f),
        }
    }
}

/// One changed field: its name (as in the IDL, nested groups dotted), old and new value,
/// and which way it loosens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDiff {
    pub name: &'static str,
    pub old: FieldValue,
    pub new: FieldValue,
    pub looser: Looser,
}

impl FieldDiff {
    pub fn int(name: &'static str, old: u64, new: u64, looser: Looser) -> FieldDiff {
        FieldDiff { name, old: FieldValue::Int(old), new: FieldValue::Int(new), looser }
    }

    /// As `ballast_risk::governance` sees it (a key: 0 = old, 1 = a different key).
    pub fn field_change(&self) -> FieldChange {
        let (old, new) = match (self.old, self.new) {
            (FieldValue::Int(old), FieldValue::Int(new)) => (old, new),
            (old, new) => (0, u64::from(old != new)),
        };
        FieldChange::new(old, new, self.looser)
    }

    pub fn kind(&self) -> ChangeKind {
        self.field_change().kind()
    }
}

/// The whole change: loosening if any field loosens (`ballast_risk::governance::classify`).
pub fn classify_diffs(diffs: &[FieldDiff]) -> ChangeKind {
    let changes: Vec<FieldChange> = diffs.iter().map(FieldDiff::field_change).collect();
    classify(&changes)
}

fn int_change(out: &mut Vec<FieldDiff>, name: &'static str, old: impl Into<u64>, new: impl Into<u64>, looser: Looser) {
    let (old, new) = (old.into(), new.into());
    if old != new {
        out.push(FieldDiff::int(name, old, new, looser));
    }
}

fn key_change(out: &mut Vec<FieldDiff>, name: &'static str, old: Pubkey, new: Pubkey, looser: Looser) {
    if old != new {
        out.push(FieldDiff { name, old: FieldValue::Key(old), new: FieldValue::Key(new), looser });
    }
}

/// A feed replacement: any difference waits in the timelock (a new feed is trusted
/// with every price the market uses).
fn oracle_changes(old: &OracleSource, new: &OracleSource, out: &mut Vec<FieldDiff>) {
    use direction::ORACLE_SOURCE as O;
    int_change(out, "oracle.kind", old.kind, new.kind, O);
    key_change(out, "oracle.address", old.address, new.address, O);
    if old.feed_id != new.feed_id {
        out.push(FieldDiff {
            name: "oracle.feed_id",
            old: FieldValue::FeedId(old.feed_id),
            new: FieldValue::FeedId(new.feed_id),
            looser: O,
        });
    }
    int_change(out, "oracle.shard_id", old.shard_id, new.shard_id, O);
    unclassified(out, old, new);
}

/// A field left out of the tables below must not slip through as "no change": any other
/// difference counts as loosening.
fn unclassified<T: PartialEq>(out: &mut Vec<FieldDiff>, old: &T, new: &T) {
    if out.is_empty() && old != new {
        out.push(FieldDiff::int("unclassified fields", 0, 1, Looser::EitherWay));
    }
}

/// `MarketConfig`, group by group. A new group: one more call here.
pub fn market_config_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    market_weight_changes(old, new, out);
    market_rate_changes(old, new, out);
    market_oracle_changes(old, new, out);
    market_liquidation_changes(old, new, out);
    market_cap_changes(old, new, out);
    market_breaker_changes(old, new, out);
    volatility_changes(&old.volatility, &new.volatility, out);
    market_regime_weight_changes(old, new, out);
    market_stable_price_changes(old, new, out);
    market_limit_changes(old, new, out);
    // Padding is not configuration.
    let strip = |c: &MarketConfig| MarketConfig { _padding: 0, limits: UsdLimits { _padding: 0, ..c.limits }, ..*c };
    unclassified(out, &strip(old), &strip(new));
}

fn market_weight_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{ASSET_WEIGHT, LIABILITY_WEIGHT, MAINT_WEIGHT};
    int_change(out, "init_asset_weight_bps", old.init_asset_weight_bps, new.init_asset_weight_bps, ASSET_WEIGHT);
    int_change(out, "maint_asset_weight_bps", old.maint_asset_weight_bps, new.maint_asset_weight_bps, MAINT_WEIGHT);
    int_change(
        out,
        "init_liability_weight_bps",
        old.init_liability_weight_bps,
        new.init_liability_weight_bps,
        LIABILITY_WEIGHT,
    );
    int_change(
        out,
        "maint_liability_weight_bps",
        old.maint_liability_weight_bps,
        new.maint_liability_weight_bps,
        MAINT_WEIGHT,
    );
}

fn market_rate_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{PROTOCOL_FEE, RATE_CURVE};
    int_change(out, "optimal_utilization_bps", old.optimal_utilization_bps, new.optimal_utilization_bps, RATE_CURVE);
    int_change(out, "base_rate_bps", old.base_rate_bps, new.base_rate_bps, RATE_CURVE);
    int_change(out, "optimal_rate_bps", old.optimal_rate_bps, new.optimal_rate_bps, RATE_CURVE);
    int_change(out, "max_rate_bps", old.max_rate_bps, new.max_rate_bps, RATE_CURVE);
    int_change(out, "protocol_fee_bps", old.protocol_fee_bps, new.protocol_fee_bps, PROTOCOL_FEE);
}

fn market_oracle_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{
        CONF_MULTIPLIER, LIQUIDATION_ORACLE_TOLERANCE, ORACLE_MAX_AGE, ORACLE_MAX_CONF, ORACLE_MAX_EMA_DEVIATION,
    };
    int_change(out, "oracle_max_age_secs", old.oracle_max_age_secs, new.oracle_max_age_secs, ORACLE_MAX_AGE);
    int_change(
        out,
        "oracle_liquidation_max_age_secs",
        old.oracle_liquidation_max_age_secs,
        new.oracle_liquidation_max_age_secs,
        LIQUIDATION_ORACLE_TOLERANCE,
    );
    int_change(out, "oracle_max_conf_bps", old.oracle_max_conf_bps, new.oracle_max_conf_bps, ORACLE_MAX_CONF);
    int_change(
        out,
        "oracle_liquidation_max_conf_bps",
        old.oracle_liquidation_max_conf_bps,
        new.oracle_liquidation_max_conf_bps,
        LIQUIDATION_ORACLE_TOLERANCE,
    );
    int_change(
        out,
        "oracle_max_ema_deviation_bps",
        old.oracle_max_ema_deviation_bps,
        new.oracle_max_ema_deviation_bps,
        ORACLE_MAX_EMA_DEVIATION,
    );
    int_change(
        out,
        "oracle_conf_multiplier_bps",
        old.oracle_conf_multiplier_bps,
        new.oracle_conf_multiplier_bps,
        CONF_MULTIPLIER,
    );
}

fn market_liquidation_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{INSURANCE_FEE, LIQUIDATION_BONUS};
    int_change(out, "liquidation_bonus_bps", old.liquidation_bonus_bps, new.liquidation_bonus_bps, LIQUIDATION_BONUS);
    int_change(
        out,
        "liquidation_insurance_fee_bps",
        old.liquidation_insurance_fee_bps,
        new.liquidation_insurance_fee_bps,
        INSURANCE_FEE,
    );
}

fn market_breaker_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::*;
    let (o, n) = (&old.breakers, &new.breakers);
    int_change(
        out,
        "breakers.price_guard_window_secs",
        o.price_guard_window_secs,
        n.price_guard_window_secs,
        PRICE_GUARD_WINDOW,
    );
    int_change(
        out,
        "breakers.price_guard_max_move_bps",
        o.price_guard_max_move_bps,
        n.price_guard_max_move_bps,
        PRICE_GUARD_MAX_MOVE,
    );
    int_change(
        out,
        "breakers.price_guard_cooldown_secs",
        o.price_guard_cooldown_secs,
        n.price_guard_cooldown_secs,
        PRICE_GUARD_COOLDOWN,
    );
    int_change(out, "breakers.outflow_window_secs", o.outflow_window_secs, n.outflow_window_secs, OUTFLOW_WINDOW);
    int_change(out, "breakers.outflow_max_bps", o.outflow_max_bps, n.outflow_max_bps, OUTFLOW_MAX_BPS);
    int_change(
        out,
        "breakers.small_outflow_threshold",
        o.small_outflow_threshold,
        n.small_outflow_threshold,
        OUTFLOW_SMALL_THRESHOLD,
    );
}

fn market_cap_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    int_change(out, "deposit_cap", old.deposit_cap, new.deposit_cap, direction::CAP);
    int_change(out, "borrow_cap", old.borrow_cap, new.borrow_cap, direction::CAP);
}

/// `ProtocolConfig`, group by group. A new group: one more call here.
pub fn protocol_config_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    protocol_fee_changes(old, new, out);
    protocol_buyback_changes(old, new, out);
    protocol_native_oracle_changes(old, new, out);
    protocol_staking_changes(old, new, out);
    protocol_timelock_changes(old, new, out);
    protocol_volatility_changes(old, new, out);
    protocol_guardian_changes(old, new, out);
    // Padding is not configuration.
    let strip =
        |c: &ProtocolConfig| ProtocolConfig { regimes: c.regimes.map(|r| RegimeRow { _padding: 0, ..r }), ..*c };
    unclassified(out, &strip(old), &strip(new));
}

fn protocol_fee_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::PROTOCOL_FEE;
    int_change(out, "fee_insurance_bps", old.fee_insurance_bps, new.fee_insurance_bps, PROTOCOL_FEE);
    int_change(out, "fee_buyback_bps", old.fee_buyback_bps, new.fee_buyback_bps, PROTOCOL_FEE);
    int_change(out, "fee_stakers_bps", old.fee_stakers_bps, new.fee_stakers_bps, PROTOCOL_FEE);
}

fn protocol_buyback_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::BUYBACK_AND_AUCTION as B;
    int_change(out, "buyback_stakers_bps", old.buyback_stakers_bps, new.buyback_stakers_bps, B);
    int_change(out, "buyback_epoch_secs", old.buyback_epoch_secs, new.buyback_epoch_secs, B);
    int_change(out, "auction_duration_secs", old.auction_duration_secs, new.auction_duration_secs, B);
    int_change(out, "auction_start_discount_bps", old.auction_start_discount_bps, new.auction_start_discount_bps, B);
}

fn protocol_native_oracle_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::{ORACLE_MAX_AGE, ORACLE_MAX_CONF, ORACLE_MAX_EMA_DEVIATION};
    int_change(
        out,
        "native_oracle_max_age_secs",
        old.native_oracle_max_age_secs,
        new.native_oracle_max_age_secs,
        ORACLE_MAX_AGE,
    );
    int_change(
        out,
        "native_oracle_max_conf_bps",
        old.native_oracle_max_conf_bps,
        new.native_oracle_max_conf_bps,
        ORACLE_MAX_CONF,
    );
    int_change(
        out,
        "native_oracle_max_ema_deviation_bps",
        old.native_oracle_max_ema_deviation_bps,
        new.native_oracle_max_ema_deviation_bps,
        ORACLE_MAX_EMA_DEVIATION,
    );
}

fn protocol_staking_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::STAKING as S;
    int_change(out, "min_lock_secs", old.min_lock_secs, new.min_lock_secs, S);
    int_change(out, "max_lock_secs", old.max_lock_secs, new.max_lock_secs, S);
    int_change(out, "max_lock_boost_bps", old.max_lock_boost_bps, new.max_lock_boost_bps, S);
    int_change(out, "unstake_cooldown_secs", old.unstake_cooldown_secs, new.unstake_cooldown_secs, S);
    int_change(out, "reward_drip_secs", old.reward_drip_secs, new.reward_drip_secs, S);
    int_change(out, "exit_penalty_floor_bps", old.exit_penalty_floor_bps, new.exit_penalty_floor_bps, S);
    int_change(out, "exit_penalty_cap_bps", old.exit_penalty_cap_bps, new.exit_penalty_cap_bps, S);
}

/// Volatility settings, regime thresholds and the per-regime table: they move emissions,
/// budgets and penalties both ways, so any change waits.
fn protocol_volatility_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::VOLATILITY_AND_REGIME as V;
    volatility_changes(&old.volatility, &new.volatility, out);
    const ROWS: [[&str; 4]; 4] = [
        [
            "regimes[0].emission_rate_per_sec",
            "regimes[0].buyback_budget_bps",
            "regimes[0].premium_cap_bps",
            "regimes[0].exit_penalty_bps",
        ],
        [
            "regimes[1].emission_rate_per_sec",
            "regimes[1].buyback_budget_bps",
            "regimes[1].premium_cap_bps",
            "regimes[1].exit_penalty_bps",
        ],
        [
            "regimes[2].emission_rate_per_sec",
            "regimes[2].buyback_budget_bps",
            "regimes[2].premium_cap_bps",
            "regimes[2].exit_penalty_bps",
        ],
        [
            "regimes[3].emission_rate_per_sec",
            "regimes[3].buyback_budget_bps",
            "regimes[3].premium_cap_bps",
            "regimes[3].exit_penalty_bps",
        ],
    ];
    for ((names, o), n) in ROWS.iter().zip(&old.regimes).zip(&new.regimes) {
        int_change(out, names[0], o.emission_rate_per_sec, n.emission_rate_per_sec, V);
        int_change(out, names[1], o.buyback_budget_bps, n.buyback_budget_bps, V);
        int_change(out, names[2], o.premium_cap_bps, n.premium_cap_bps, V);
        int_change(out, names[3], o.exit_penalty_bps, n.exit_penalty_bps, V);
    }
}

/// An asset's volatility estimator and regime thresholds (the native token's or a
/// market's): a regime moves weights or emissions both ways, so any change waits.
fn volatility_changes(o: &VolatilityConfig, n: &VolatilityConfig, out: &mut Vec<FieldDiff>) {
    use direction::VOLATILITY_AND_REGIME as V;
    int_change(out, "volatility.min_sample_interval_secs", o.min_sample_interval_secs, n.min_sample_interval_secs, V);
    int_change(out, "volatility.var_time_constant_secs", o.var_time_constant_secs, n.var_time_constant_secs, V);
    int_change(out, "volatility.ema_time_constant_secs", o.ema_time_constant_secs, n.ema_time_constant_secs, V);
    int_change(out, "volatility.max_gap_secs", o.max_gap_secs, n.max_gap_secs, V);
    const LEVELS: [[&str; 3]; 4] = [
        ["volatility.enter_vol_bps[0]", "volatility.enter_vol_bps[1]", "volatility.enter_vol_bps[2]"],
        ["volatility.exit_vol_bps[0]", "volatility.exit_vol_bps[1]", "volatility.exit_vol_bps[2]"],
        ["volatility.enter_drawdown_bps[0]", "volatility.enter_drawdown_bps[1]", "volatility.enter_drawdown_bps[2]"],
        ["volatility.exit_drawdown_bps[0]", "volatility.exit_drawdown_bps[1]", "volatility.exit_drawdown_bps[2]"],
    ];
    let ladders = |c: &VolatilityConfig| [c.enter_vol_bps, c.exit_vol_bps, c.enter_drawdown_bps, c.exit_drawdown_bps];
    for ((names, o), n) in LEVELS.iter().zip(ladders(o)).zip(ladders(n)) {
        for i in 0..3 {
            int_change(out, names[i], o[i], n[i], V);
        }
    }
    int_change(out, "volatility.min_dwell_secs", o.min_dwell_secs, n.min_dwell_secs, V);
}

/// A market's regime multipliers: a higher asset multiplier or a lower liability one
/// loosens; the ramp's length waits either way (it paces loosening as well as tightening).
fn market_regime_weight_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{ASSET_WEIGHT, LIABILITY_WEIGHT, VOLATILITY_AND_REGIME};
    const ASSET: [&str; 4] = [
        "regime_weights.asset_multiplier_bps[0]",
        "regime_weights.asset_multiplier_bps[1]",
        "regime_weights.asset_multiplier_bps[2]",
        "regime_weights.asset_multiplier_bps[3]",
    ];
    const LIABILITY: [&str; 4] = [
        "regime_weights.liability_multiplier_bps[0]",
        "regime_weights.liability_multiplier_bps[1]",
        "regime_weights.liability_multiplier_bps[2]",
        "regime_weights.liability_multiplier_bps[3]",
    ];
    let (o, n) = (&old.regime_weights, &new.regime_weights);
    for i in 0..4 {
        int_change(out, ASSET[i], o.asset_multiplier_bps[i], n.asset_multiplier_bps[i], ASSET_WEIGHT);
        int_change(out, LIABILITY[i], o.liability_multiplier_bps[i], n.liability_multiplier_bps[i], LIABILITY_WEIGHT);
    }
    int_change(out, "regime_weights.ramp_secs", o.ramp_secs, n.ramp_secs, VOLATILITY_AND_REGIME);
}

/// The stable price: a faster one follows a pump sooner (looser); the delay interval
/// waits either way.
fn market_stable_price_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use direction::{STABLE_PRICE_INTERVAL, STABLE_PRICE_SPEED};
    let (o, n) = (&old.stable_price, &new.stable_price);
    int_change(
        out,
        "stable_price.max_hourly_move_bps",
        o.max_hourly_move_bps,
        n.max_hourly_move_bps,
        STABLE_PRICE_SPEED,
    );
    int_change(out, "stable_price.max_delay_move_bps", o.max_delay_move_bps, n.max_delay_move_bps, STABLE_PRICE_SPEED);
    int_change(out, "stable_price.slow_band_bps", o.slow_band_bps, n.slow_band_bps, STABLE_PRICE_SPEED);
    int_change(
        out,
        "stable_price.delay_interval_secs",
        o.delay_interval_secs,
        n.delay_interval_secs,
        STABLE_PRICE_INTERVAL,
    );
}

/// USD limits, compared as effective limits (0, no limit, is the loosest).
fn market_limit_changes(old: &MarketConfig, new: &MarketConfig, out: &mut Vec<FieldDiff>) {
    use ballast_risk::borrow_limit::effective_limit;
    use direction::{CAP, OUTFLOW_WINDOW};
    let (o, n) = (&old.limits, &new.limits);
    let (old_init, new_init) =
        (effective_limit(o.asset_value_init_limit_usd), effective_limit(n.asset_value_init_limit_usd));
    int_change(out, "limits.asset_value_init_limit_usd", old_init, new_init, CAP);
    let (old_borrow, new_borrow) =
        (effective_limit(o.borrow_limit_per_window_usd), effective_limit(n.borrow_limit_per_window_usd));
    int_change(out, "limits.borrow_limit_per_window_usd", old_borrow, new_borrow, CAP);
    // A shorter window frees the same limit more often.
    int_change(
        out,
        "limits.borrow_limit_window_secs",
        o.borrow_limit_window_secs,
        n.borrow_limit_window_secs,
        OUTFLOW_WINDOW,
    );
}

fn protocol_guardian_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    use direction::GUARDIAN as G;
    let (o, n) = (&old.guardian, &new.guardian);
    int_change(out, "guardian.max_trip_secs", o.max_trip_secs, n.max_trip_secs, G);
    int_change(out, "guardian.consecutive_gap_secs", o.consecutive_gap_secs, n.consecutive_gap_secs, G);
    int_change(out, "guardian.max_consecutive", o.max_consecutive, n.max_consecutive, G);
    int_change(out, "guardian.max_per_day", o.max_per_day, n.max_per_day, G);
}

fn protocol_timelock_changes(old: &ProtocolConfig, new: &ProtocolConfig, out: &mut Vec<FieldDiff>) {
    let (old, new) = (&old.timelock, &new.timelock);
    int_change(out, "timelock.delay_secs", old.delay_secs, new.delay_secs, direction::TIMELOCK_DELAY);
    int_change(out, "timelock.grace_secs", old.grace_secs, new.grace_secs, direction::TIMELOCK_GRACE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{GuardianConfig, TimelockConfig};

    fn market_cfg() -> MarketConfig {
        MarketConfig::conservative(1_000_000, 800_000)
    }

    fn diffs_of(old: &GovernanceAction, new: &GovernanceAction) -> Vec<FieldDiff> {
        new.changes(old).unwrap()
    }

    fn set_market(config: MarketConfig) -> GovernanceAction {
        GovernanceAction::SetMarketConfig { market: Pubkey::new_from_array([7; 32]), config }
    }

    #[test]
    fn tightening_loosening_and_mixed_market_changes() {
        let old = market_cfg();
        let tighter = MarketConfig { init_asset_weight_bps: 7_000, deposit_cap: 500_000, ..old };
        let looser = MarketConfig { borrow_cap: 900_000, ..old };
        let mixed = MarketConfig { init_asset_weight_bps: 7_000, borrow_cap: 900_000, ..old };
        let base = set_market(old);
        assert_eq!(set_market(old).classify(&base).unwrap(), ChangeKind::NoChange);
        assert_eq!(set_market(tighter).classify(&base).unwrap(), ChangeKind::Tightening);
        assert_eq!(set_market(looser).classify(&base).unwrap(), ChangeKind::Loosening);
        assert_eq!(set_market(mixed).classify(&base).unwrap(), ChangeKind::Loosening);
        let d = diffs_of(&base, &set_market(mixed));
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].name, d[0].kind()), ("init_asset_weight_bps", ChangeKind::Tightening));
        assert_eq!((d[1].name, d[1].kind()), ("borrow_cap", ChangeKind::Loosening));
        assert_eq!((d[1].old, d[1].new), (FieldValue::Int(800_000), FieldValue::Int(900_000)));
    }

    #[test]
    fn what_sets_maintenance_health_waits_either_way() {
        // Tighter maintenance weights or a larger confidence haircut could make every
        // borrower liquidatable in one slot; initial weights may still tighten at once.
        let base = set_market(market_cfg());
        for tighter in [
            MarketConfig { maint_asset_weight_bps: 8_500, ..market_cfg() },
            MarketConfig { maint_liability_weight_bps: 11_500, ..market_cfg() },
            MarketConfig { oracle_conf_multiplier_bps: 20_000, ..market_cfg() },
        ] {
            assert_eq!(set_market(tighter).classify(&base).unwrap(), ChangeKind::Loosening, "{tighter:?}");
        }
        let init_only =
            MarketConfig { init_asset_weight_bps: 7_000, init_liability_weight_bps: 13_000, ..market_cfg() };
        assert_eq!(set_market(init_only).classify(&base).unwrap(), ChangeKind::Tightening);
    }

    #[test]
    fn dynamic_margin_fields_have_their_directions() {
        let old = market_cfg();
        let base = set_market(old);
        let kind = |f: fn(&mut MarketConfig)| {
            let mut c = old;
            f(&mut c);
            set_market(c).classify(&base).unwrap()
        };
        assert_eq!(kind(|c| c.regime_weights.asset_multiplier_bps[3] -= 1), ChangeKind::Tightening);
        assert_eq!(kind(|c| c.regime_weights.asset_multiplier_bps[1] = 10_000), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.regime_weights.liability_multiplier_bps[3] += 1), ChangeKind::Tightening);
        assert_eq!(kind(|c| c.regime_weights.liability_multiplier_bps[3] -= 1), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.regime_weights.ramp_secs += 1), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.volatility.enter_vol_bps[2] += 1), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.stable_price.max_hourly_move_bps -= 1), ChangeKind::Tightening);
        assert_eq!(kind(|c| c.stable_price.slow_band_bps += 1), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.stable_price.delay_interval_secs += 1), ChangeKind::Loosening);
        // A first limit tightens (0 is none); lifting it loosens.
        assert_eq!(kind(|c| c.limits.asset_value_init_limit_usd = 1_000_000), ChangeKind::Tightening);
        assert_eq!(kind(|c| c.limits.borrow_limit_per_window_usd = 50_000), ChangeKind::Tightening);
        let limited = MarketConfig { limits: UsdLimits { asset_value_init_limit_usd: 10, ..old.limits }, ..old };
        assert_eq!(set_market(old).classify(&set_market(limited)).unwrap(), ChangeKind::Loosening);
        assert_eq!(kind(|c| c.limits.borrow_limit_window_secs -= 1), ChangeKind::Loosening);
    }

    /// Every byte of every config field is classified: none can change unnoticed.
    #[test]
    fn every_config_field_is_classified() {
        fn each_byte<T: bytemuck::Pod + PartialEq>(base: T, skip: &[core::ops::Range<usize>], check: impl Fn(&T, &T)) {
            let bytes = bytemuck::bytes_of(&base).to_vec();
            for i in (0..bytes.len()).filter(|i| !skip.iter().any(|r| r.contains(i))) {
                let mut changed = bytes.clone();
                changed[i] ^= 0x01;
                check(&base, &bytemuck::pod_read_unaligned(&changed));
            }
        }
        let padding = core::mem::offset_of!(MarketConfig, _padding);
        let breakers_padding = core::mem::offset_of!(MarketConfig, breakers)
            + core::mem::offset_of!(crate::state::BreakerConfig, _padding);
        let limits_padding =
            core::mem::offset_of!(MarketConfig, limits) + core::mem::offset_of!(crate::state::UsdLimits, _padding);
        let skip = [padding..padding + 4, breakers_padding..breakers_padding + 4, limits_padding..limits_padding + 4];
        each_byte(market_cfg(), &skip, |old, new| {
            let mut out = Vec::new();
            market_config_changes(old, new, &mut out);
            assert_eq!(out.len(), 1, "{new:?}");
            assert_ne!(out[0].name, "unclassified fields");
        });
        let rows = core::mem::offset_of!(ProtocolConfig, regimes);
        let row_padding = core::mem::offset_of!(RegimeRow, _padding);
        let row = core::mem::size_of::<RegimeRow>();
        let skip: Vec<_> = (0..4).map(|i| rows + i * row + row_padding..rows + i * row + row_padding + 4).collect();
        each_byte(ProtocolConfig::standard(), &skip, |old, new| {
            let mut out = Vec::new();
            protocol_config_changes(old, new, &mut out);
            assert_eq!(out.len(), 1, "{new:?}");
            assert_ne!(out[0].name, "unclassified fields");
        });
        // Padding alone is no change.
        let mut out = Vec::new();
        market_config_changes(&market_cfg(), &MarketConfig { _padding: 9, ..market_cfg() }, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn timelock_delay_and_grace_directions() {
        let old = ProtocolConfig::standard();
        let longer_delay =
            ProtocolConfig { timelock: TimelockConfig { delay_secs: 3 * 86_400, ..old.timelock }, ..old };
        let longer_grace =
            ProtocolConfig { timelock: TimelockConfig { grace_secs: 8 * 86_400, ..old.timelock }, ..old };
        let base = GovernanceAction::SetProtocolConfig { config: old };
        let kind = |c| GovernanceAction::SetProtocolConfig { config: c }.classify(&base).unwrap();
        assert_eq!(kind(longer_delay), ChangeKind::Tightening);
        assert_eq!(kind(longer_grace), ChangeKind::Loosening);
        assert_eq!(kind(ProtocolConfig { native_oracle_max_age_secs: 30, ..old }), ChangeKind::Tightening);
        let mut lower_penalty = old;
        lower_penalty.regimes[3].exit_penalty_bps -= 100;
        assert_eq!(kind(lower_penalty), ChangeKind::Loosening);
        let mut longer_dwell = old;
        longer_dwell.volatility.min_dwell_secs += 1;
        assert_eq!(kind(longer_dwell), ChangeKind::Loosening);
        let guardian = ProtocolConfig { guardian: GuardianConfig { max_per_day: 2, ..old.guardian }, ..old };
        assert_eq!(kind(guardian), ChangeKind::Loosening);
    }

    #[test]
    fn keys_listings_and_mismatched_bases() {
        let (a, b) = (Pubkey::new_from_array([1; 32]), Pubkey::new_from_array([2; 32]));
        let guardian = |g| GovernanceAction::SetGuardian { guardian: g };
        assert_eq!(guardian(b).classify(&guardian(a)).unwrap(), ChangeKind::Loosening);
        assert_eq!(guardian(a).classify(&guardian(a)).unwrap(), ChangeKind::NoChange);
        let d = diffs_of(&guardian(a), &guardian(b));
        assert_eq!((d[0].old, d[0].new), (FieldValue::Key(a), FieldValue::Key(b)));
        let admin = |k| GovernanceAction::TransferAdmin { new_admin: k };
        assert_eq!(admin(b).classify(&admin(a)).unwrap(), ChangeKind::Loosening);
        let list = GovernanceAction::ListMarket { mint: a, oracle: OracleSource::legacy(b), config: market_cfg() };
        assert_eq!(list.classify(&list).unwrap(), ChangeKind::Loosening);
        assert!(guardian(a).classify(&admin(a)).is_err());
    }

    #[test]
    fn any_feed_replacement_waits_in_the_timelock() {
        let market = Pubkey::new_from_array([7; 32]);
        let v2 = OracleSource::push_feed(0, [3; 32]);
        let set = |oracle| GovernanceAction::SetMarketOracle { market, oracle };
        assert_eq!(set(v2).classify(&set(v2)).unwrap(), ChangeKind::NoChange);
        for new in
            [OracleSource::push_feed(1, [3; 32]), OracleSource::push_feed(0, [4; 32]), OracleSource::legacy(v2.address)]
        {
            assert_eq!(set(new).classify(&set(v2)).unwrap(), ChangeKind::Loosening, "{new:?}");
        }
        let d = diffs_of(&set(v2), &set(OracleSource::push_feed(0, [4; 32])));
        let names: Vec<_> = d.iter().map(|d| d.name).collect();
        assert_eq!(names, ["oracle.address", "oracle.feed_id"]);
        assert_eq!(d[1].new.to_string(), format!("0x{}", "04".repeat(32)));
        let native = |oracle| GovernanceAction::SetNativeOracle { oracle };
        assert_eq!(native(OracleSource::legacy(market)).classify(&native(v2)).unwrap(), ChangeKind::Loosening);
        assert!(native(v2).classify(&set(v2)).is_err());
    }

    #[test]
    fn max_len_covers_every_variant() {
        let k = Pubkey::new_from_array([9; 32]);
        let all = [
            set_market(market_cfg()),
            GovernanceAction::SetProtocolConfig { config: ProtocolConfig::standard() },
            GovernanceAction::SetGuardian { guardian: k },
            GovernanceAction::TransferAdmin { new_admin: k },
            GovernanceAction::ListMarket { mint: k, oracle: OracleSource::legacy(k), config: market_cfg() },
            GovernanceAction::SetMarketOracle { market: k, oracle: OracleSource::push_feed(0, [3; 32]) },
            GovernanceAction::SetNativeOracle { oracle: OracleSource::push_feed(0, [3; 32]) },
        ];
        let longest = all.iter().map(|a| borsh::to_vec(a).unwrap().len()).max().unwrap();
        assert_eq!(longest, GovernanceAction::MAX_LEN);
        assert_eq!(borsh::to_vec(&market_cfg()).unwrap().len(), MARKET_CONFIG);
        assert_eq!(borsh::to_vec(&ProtocolConfig::standard()).unwrap().len(), PROTOCOL_CONFIG);
    }
}
