//! Ballast's risk engine: plain Rust, no Anchor types, integer fixed-point only.
//!
//! The on-chain program, the keeper and the simulator all call this crate, so they can
//! never disagree about an account's health. Every function is checked: overflow and
//! division by zero come back as [`RiskError`], never as a panic.
//!
//! Conventions:
//! - `WAD` (1e18) fixed point in `u128`/`i128` for prices, indices and values.
//! - Basis points (`BPS` = 10_000) for weights, fees and limits set by governance.
//! - Rounding is explicit and always against the user: what the user receives or is
//!   credited rounds down, what the user pays or owes rounds up.

#![forbid(unsafe_code)]

pub mod auction;
pub mod borrow_limit;
pub mod dynamic_margin;
pub mod fixed;
pub mod gates;
pub mod governance;
pub mod guardian;
pub mod health;
pub mod interest;
pub mod liquidation;
pub mod oracle;
pub mod outflow;
pub mod params;
pub mod price_guard;
pub mod ramp;
pub mod regime;
pub mod shares;
pub mod stable_price;
pub mod staking;
pub mod volatility;

pub use fixed::{Rounding, BPS, SECONDS_PER_YEAR, WAD};

/// Everything that can go wrong inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskError {
    /// A checked operation overflowed its integer type.
    MathOverflow,
    /// A divisor was zero.
    DivideByZero,
    /// The oracle price (or its EMA) is zero or negative.
    OracleNonPositive,
    /// The oracle price is older than the action allows.
    OracleStale,
    /// The oracle's confidence interval is too wide relative to the price.
    OracleTooUncertain,
    /// The oracle price is too far from its EMA for a risk-increasing action.
    OracleTooVolatile,
    /// The oracle exponent or token decimals are outside the supported range.
    OracleExponentOutOfRange,
    /// A volatility sample came before the minimum interval since the last one.
    SampleTooSoon,
    /// A stored byte is not a valid [`regime::Regime`].
    InvalidRegime,
    /// The outflow would take the market's net outflow over its rolling-window limit.
    OutflowLimitExceeded,
    /// A guardian trip asked for no time or for longer than the guardian may pause.
    GuardianTripTooLong,
    /// The guardian has already tripped the maximum number of times in a row.
    GuardianTooManyConsecutive,
    /// The guardian has already tripped the maximum number of times in this day window.
    GuardianDailyLimit,
    /// A timelocked change was executed before its delay had passed.
    TimelockNotReady,
    /// A timelocked change was executed after its grace period: it must be proposed again.
    TimelockExpired,
    /// The borrow would take the market's net borrows in this window over its USD limit.
    BorrowLimitExceeded,
    /// A base unit of the token is worth too little for prices in WAD per base unit.
    UnitPriceTooSmall,
}

impl core::fmt::Display for RiskError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

pub type RiskResult<T> = Result<T, RiskError>;
