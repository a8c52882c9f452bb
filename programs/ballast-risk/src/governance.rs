//! Governance: which parameter changes wait in the timelock, and when they may execute.
//!
//! A change that only tightens applies at once: it can only make the protocol safer
//! (and the admin must be able to react fast). A field that sets maintenance health
//! (maintenance weights, the confidence multiplier) waits either way: tightening it at
//! once could make every borrower liquidatable in one slot, so a stolen or mistaken
//! admin key would hand the liquidation bonus on all debt to a colluding liquidator.
//! Tightening of initial health only stays immediate. A change that loosens anything (lower
//! haircuts, higher caps, a new market, larger withdrawal limits, longer staleness, a new
//! admin) goes through the timelock: propose, wait `delay_secs`, execute within
//! `grace_secs` after that; the admin may cancel meanwhile. A change of several fields
//! is loosening if any one field loosens: tightening one field cannot buy a loosening of
//! another past the timelock. Every new value is still checked against its bounds.
//!
//! # Which way each field loosens
//!
//! The program classifies a change with the constants in [`direction`], so this table
//! and the code cannot drift apart:
//!
//! | field | loosens when | why |
//! | --- | --- | --- |
//! | init asset weight | higher | more borrowing power per unit of collateral |
//! | init liability weight | lower | less collateral needed per unit of debt |
//! | maint asset and liability weights | either way | looser keeps bad accounts open; tighter liquidates healthy ones at once |
//! | deposit cap, borrow cap | higher | more exposure to the asset |
//! | `max_age_secs` (risk-increasing oracle age) | higher | accepts staler prices for borrows |
//! | `max_conf_bps`, `max_ema_deviation_bps` | higher | accepts wider or jumpier prices for borrows |
//! | `conf_multiplier_bps` | either way | it sets maintenance health too (a smaller haircut is looser) |
//! | `liquidation_max_age_secs`, `liquidation_max_conf_bps` | either way | higher liquidates on worse prices; lower can block liquidations |
//! | liquidation bonus, insurance fee | either way | higher takes more from borrowers and can make a liquidation cut health; lower weakens the liquidators' incentive |
//! | rate curve, protocol fee | either way | economics, not safety: every change waits so users can react |
//! | protocol fee split, buyback and auction parameters | either way | economics: who gets the fees and what the protocol pays for its token |
//! | staking parameters (locks, boost, cooldown, exit penalty, drip, emission rate) | either way | economics of the stakers' deal, in both directions |
//! | price guard `max_move_bps` | higher | trips on fewer moves |
//! | price guard `window_secs`, `cooldown_secs` | lower | a shorter window sees fewer moves; a shorter cooldown restricts less |
//! | outflow `max_outflow_bps`, `small_outflow_threshold` | higher | more may leave per window |
//! | outflow `window_secs` | lower | capacity frees faster |
//! | a restriction flag (reduce-only, paused: 1 = on) | lower | clearing it lifts the restriction |
//! | volatility params, regime thresholds, regime settings, ramp length | either way | they move emissions, budgets, penalties and weights in both directions |
//! | a market's regime multipliers | asset higher, liability lower | as the weights they scale |
//! | stable price `max_hourly_move_bps`, `max_delay_move_bps`, `slow_band_bps` | higher | the stable price follows a pump sooner |
//! | stable price `delay_interval_secs` | either way | it paces the delayed price both ways |
//! | USD limits (asset value init limit, borrow limit per window; 0 = none) | higher | more counts or may be borrowed |
//! | borrow limit `window_secs` | lower | the limit frees faster |
//! | guardian limits, guardian key | either way | more power to a single key, or less protection |
//! | timelock `delay_secs` | lower | a shorter wait for every later loosening |
//! | timelock `grace_secs` | higher | old proposals stay executable longer |
//! | a market's or the native token's feed (kind, account, feed id, shard) | always | a new feed is trusted with every price |
//! | a new market, a new admin | always | (classify as [`Looser::EitherWay`] with any old != new) |
//!
//! A change of the timelock's own delay waits the delay in force when it was proposed.

use crate::params::ParamError;
use crate::{RiskError, RiskResult};

/// Which way a field's change loosens risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looser {
    /// A higher value is looser (caps, asset weights, oracle tolerances).
    WhenHigher,
    /// A lower value is looser (liability weights, haircuts, windows, restriction flags).
    WhenLower,
    /// Any change counts as loosening (economics, roles, two-sided trade-offs).
    EitherWay,
}

/// One field of a proposed change, as plain integers (a pubkey field can pass 0 and 1
/// for "same" and "different").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldChange {
    pub old: u64,
    pub new: u64,
    pub looser: Looser,
}

/// What a change does as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    NoChange,
    /// Applies at once.
    Tightening,
    /// Waits in the timelock.
    Loosening,
}

impl ChangeKind {
    pub fn needs_timelock(self) -> bool {
        self == ChangeKind::Loosening
    }
}

impl FieldChange {
    pub fn new(old: u64, new: u64, looser: Looser) -> FieldChange {
        FieldChange { old, new, looser }
    }

    /// This field alone.
    pub fn kind(&self) -> ChangeKind {
        if self.old == self.new {
            return ChangeKind::NoChange;
        }
        let loosens = match self.looser {
            Looser::WhenHigher => self.new > self.old,
            Looser::WhenLower => self.new < self.old,
            Looser::EitherWay => true,
        };
        if loosens {
            ChangeKind::Loosening
        } else {
            ChangeKind::Tightening
        }
    }
}

/// A change of several fields: loosening if any field loosens, tightening if some field
/// changes and none loosens, otherwise no change.
pub fn classify(changes: &[FieldChange]) -> ChangeKind {
    changes.iter().map(FieldChange::kind).max().unwrap_or(ChangeKind::NoChange)
}

/// The direction of every governed field, per the table in the module docs.
pub mod direction {
    use super::Looser::{self, EitherWay, WhenHigher, WhenLower};

    pub const ASSET_WEIGHT: Looser = WhenHigher;
    pub const LIABILITY_WEIGHT: Looser = WhenLower;
    pub const CAP: Looser = WhenHigher;
    pub const ORACLE_MAX_AGE: Looser = WhenHigher;
    pub const ORACLE_MAX_CONF: Looser = WhenHigher;
    pub const ORACLE_MAX_EMA_DEVIATION: Looser = WhenHigher;
    /// Sets maintenance health: waits either way.
    pub const CONF_MULTIPLIER: Looser = EitherWay;
    /// Maintenance weights: waits either way.
    pub const MAINT_WEIGHT: Looser = EitherWay;
    pub const LIQUIDATION_ORACLE_TOLERANCE: Looser = EitherWay;
    pub const LIQUIDATION_BONUS: Looser = EitherWay;
    pub const INSURANCE_FEE: Looser = EitherWay;
    pub const RATE_CURVE: Looser = EitherWay;
    pub const PROTOCOL_FEE: Looser = EitherWay;
    pub const PRICE_GUARD_MAX_MOVE: Looser = WhenHigher;
    pub const PRICE_GUARD_WINDOW: Looser = WhenLower;
    pub const PRICE_GUARD_COOLDOWN: Looser = WhenLower;
    pub const OUTFLOW_MAX_BPS: Looser = WhenHigher;
    pub const OUTFLOW_SMALL_THRESHOLD: Looser = WhenHigher;
    pub const OUTFLOW_WINDOW: Looser = WhenLower;
    pub const RESTRICTION_FLAG: Looser = WhenLower;
    pub const VOLATILITY_AND_REGIME: Looser = EitherWay;
    pub const GUARDIAN: Looser = EitherWay;
    pub const TIMELOCK_DELAY: Looser = WhenLower;
    pub const TIMELOCK_GRACE: Looser = WhenHigher;
    pub const NEW_MARKET_OR_ADMIN: Looser = EitherWay;
    pub const ORACLE_SOURCE: Looser = EitherWay;
    pub const BUYBACK_AND_AUCTION: Looser = EitherWay;
    pub const STAKING: Looser = EitherWay;
    pub const STABLE_PRICE_SPEED: Looser = WhenHigher;
    pub const STABLE_PRICE_INTERVAL: Looser = EitherWay;
}

/// Shortest and longest timelock delay governance may set: 1 hour to 14 days.
pub const MIN_TIMELOCK_DELAY_SECS: u32 = 3_600;
pub const MAX_TIMELOCK_DELAY_SECS: u32 = 14 * 86_400;
/// Shortest and longest window to execute a ready proposal: 1 hour to 14 days.
pub const MIN_TIMELOCK_GRACE_SECS: u32 = 3_600;
pub const MAX_TIMELOCK_GRACE_SECS: u32 = 14 * 86_400;

/// The timelock's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelockParams {
    /// Seconds a loosening proposal waits before it may execute.
    pub delay_secs: u32,
    /// Seconds after that during which it may execute; later it has expired.
    pub grace_secs: u32,
}

pub fn validate_timelock_params(p: &TimelockParams) -> Result<(), ParamError> {
    let ok = (MIN_TIMELOCK_DELAY_SECS..=MAX_TIMELOCK_DELAY_SECS).contains(&p.delay_secs)
        && (MIN_TIMELOCK_GRACE_SECS..=MAX_TIMELOCK_GRACE_SECS).contains(&p.grace_secs);
    ok.then_some(()).ok_or(ParamError::Timelock)
}

/// When a proposal made at `proposed_at` with `delay_secs` becomes executable.
pub fn ready_at(proposed_at: i64, delay_secs: u32) -> RiskResult<i64> {
    proposed_at.checked_add(i64::from(delay_secs)).ok_or(RiskError::MathOverflow)
}

/// Whether a proposal made at `proposed_at` may execute at `now`: from
/// `proposed_at + delay_secs` to `grace_secs` after that, both ends included. The
/// program stores the delay and grace in force at proposal time and passes them here.
pub fn check_executable(proposed_at: i64, delay_secs: u32, grace_secs: u32, now: i64) -> RiskResult<()> {
    let ready = i128::from(proposed_at) + i128::from(delay_secs);
    let now = i128::from(now);
    if now < ready {
        return Err(RiskError::TimelockNotReady);
    }
    if now > ready + i128::from(grace_secs) {
        return Err(RiskError::TimelockExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::direction::*;
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_750_000_000;

    fn looser_strategy() -> impl Strategy<Value = Looser> {
        prop_oneof![Just(Looser::WhenHigher), Just(Looser::WhenLower), Just(Looser::EitherWay)]
    }

    #[test]
    fn single_fields_by_direction() {
        assert_eq!(FieldChange::new(8_000, 8_500, ASSET_WEIGHT).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(8_000, 7_500, ASSET_WEIGHT).kind(), ChangeKind::Tightening);
        assert_eq!(FieldChange::new(12_000, 11_000, LIABILITY_WEIGHT).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(12_000, 13_000, LIABILITY_WEIGHT).kind(), ChangeKind::Tightening);
        assert_eq!(FieldChange::new(60, 120, ORACLE_MAX_AGE).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(1, 0, RESTRICTION_FLAG).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(0, 1, RESTRICTION_FLAG).kind(), ChangeKind::Tightening);
        assert_eq!(FieldChange::new(500, 400, LIQUIDATION_BONUS).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(500, 600, RATE_CURVE).kind(), ChangeKind::Loosening);
        assert_eq!(FieldChange::new(7, 7, RATE_CURVE).kind(), ChangeKind::NoChange);
    }

    #[test]
    fn one_loosening_field_makes_the_whole_change_loosening() {
        let tighten = FieldChange::new(8_000, 7_000, ASSET_WEIGHT);
        let loosen = FieldChange::new(1_000, 2_000, CAP);
        let same = FieldChange::new(5, 5, CAP);
        assert_eq!(classify(&[]), ChangeKind::NoChange);
        assert_eq!(classify(&[same]), ChangeKind::NoChange);
        assert_eq!(classify(&[same, tighten]), ChangeKind::Tightening);
        assert_eq!(classify(&[tighten, loosen, same]), ChangeKind::Loosening);
        assert!(classify(&[tighten, loosen]).needs_timelock());
        assert!(!classify(&[tighten]).needs_timelock());
    }

    #[test]
    fn executable_only_between_ready_and_expiry() {
        assert_eq!(ready_at(T0, 86_400), Ok(T0 + 86_400));
        assert_eq!(ready_at(i64::MAX, 1), Err(RiskError::MathOverflow));
        assert_eq!(check_executable(T0, 86_400, 3_600, T0 + 86_399), Err(RiskError::TimelockNotReady));
        assert_eq!(check_executable(T0, 86_400, 3_600, T0 + 86_400), Ok(()));
        assert_eq!(check_executable(T0, 86_400, 3_600, T0 + 90_000), Ok(()));
        assert_eq!(check_executable(T0, 86_400, 3_600, T0 + 90_001), Err(RiskError::TimelockExpired));
        assert_eq!(check_executable(i64::MAX, u32::MAX, u32::MAX, i64::MIN), Err(RiskError::TimelockNotReady));
    }

    #[test]
    fn timelock_bounds_are_checked() {
        let p = TimelockParams { delay_secs: 86_400, grace_secs: 86_400 };
        assert_eq!(validate_timelock_params(&p), Ok(()));
        for bad in [
            TimelockParams { delay_secs: MIN_TIMELOCK_DELAY_SECS - 1, ..p },
            TimelockParams { delay_secs: MAX_TIMELOCK_DELAY_SECS + 1, ..p },
            TimelockParams { grace_secs: MIN_TIMELOCK_GRACE_SECS - 1, ..p },
            TimelockParams { grace_secs: MAX_TIMELOCK_GRACE_SECS + 1, ..p },
        ] {
            assert_eq!(validate_timelock_params(&bad), Err(ParamError::Timelock), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn classification_is_the_strongest_field(fields in prop::collection::vec((0u64..5, 0u64..5, looser_strategy()), 0..8)) {
            let changes: Vec<FieldChange> = fields.iter().map(|&(o, n, l)| FieldChange::new(o, n, l)).collect();
            let kind = classify(&changes);
            let any_loose = changes.iter().any(|c| c.kind() == ChangeKind::Loosening);
            let any_change = changes.iter().any(|c| c.old != c.new);
            prop_assert_eq!(kind == ChangeKind::Loosening, any_loose);
            prop_assert_eq!(kind == ChangeKind::NoChange, !any_change);
            // Swapping old and new of a one-sided field swaps tightening and loosening.
            for c in changes.iter().filter(|c| c.old != c.new && c.looser != Looser::EitherWay) {
                let back = FieldChange::new(c.new, c.old, c.looser);
                prop_assert_ne!(back.kind(), c.kind());
            }
        }

        #[test]
        fn execution_window_never_panics(proposed: i64, delay: u32, grace: u32, now: i64) {
            let r = check_executable(proposed, delay, grace, now);
            if r.is_ok() {
                prop_assert!(i128::from(now) >= i128::from(proposed) + i128::from(delay));
            }
        }
    }
}
