//! Every error the program returns. Codes are stable: append, never reorder.

use anchor_lang::prelude::*;
use ballast_risk::params::ParamError;
use ballast_risk::RiskError;

#[error_code]
pub enum BallastError {
    #[msg("Signer is not the protocol admin")]
    Unauthorized,
    #[msg("Signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("Signer does not own this margin account")]
    NotAccountOwner,
    #[msg("Account belongs to a different protocol")]
    WrongProtocol,
    #[msg("Token vault is not the market's vault")]
    VaultMismatch,
    #[msg("Token account or mint does not match the market's mint")]
    WrongMint,
    #[msg("Mint has more decimals than the risk engine supports (18)")]
    UnsupportedMint,
    #[msg("Price account is not a valid Pyth price account")]
    InvalidOracleAccount,
    #[msg("Price account is not the market's configured feed")]
    WrongOracle,
    #[msg("Oracle price is too old for this action")]
    OracleStale,
    #[msg("Oracle confidence interval is too wide for this action")]
    OracleTooUncertain,
    #[msg("Oracle price is too far from its EMA for this action")]
    OracleTooVolatile,
    #[msg("Oracle price is zero or negative")]
    OracleNonPositive,
    #[msg("Oracle exponent or token decimals out of the supported range")]
    OracleExponentOutOfRange,
    #[msg("Weights must satisfy 0 <= init asset <= maint asset <= 1 <= maint liability <= init liability <= 5")]
    InvalidWeights,
    #[msg("Interest rate curve out of bounds")]
    InvalidRateCurve,
    #[msg("Protocol fee share out of bounds")]
    InvalidProtocolFee,
    #[msg("Oracle limits out of bounds")]
    InvalidOracleLimits,
    #[msg("Caps must allow deposits and not lend more than the deposit cap")]
    InvalidCaps,
    #[msg("Too many markets")]
    TooManyMarkets,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Amount is too small to be worth a share")]
    AmountTooSmall,
    #[msg("Deposit would exceed the market's deposit cap")]
    DepositCapExceeded,
    #[msg("Borrow would exceed the market's borrow cap")]
    BorrowCapExceeded,
    #[msg("Withdrawal exceeds the account's deposit")]
    InsufficientDeposit,
    #[msg("Market does not hold enough free tokens")]
    InsufficientLiquidity,
    #[msg("Repayment exceeds the account's debt")]
    RepayExceedsDebt,
    #[msg("Account holds no position in this market")]
    PositionNotFound,
    #[msg("Account has no free balance slot")]
    TooManyPositions,
    #[msg("A balance cannot be a deposit and a borrow at once: repay or withdraw first")]
    MixedPosition,
    #[msg("Action would leave the account below initial health")]
    BelowInitialHealth,
    #[msg("Health check accounts missing, duplicated or out of order: pass (market, oracle) per balance")]
    HealthAccountsMismatch,
    #[msg("Account still holds deposits or debt")]
    AccountNotEmpty,
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("Liquidation bonus or insurance fee out of bounds")]
    InvalidLiquidationParams,
    #[msg("Account is healthy: maintenance health is not below zero")]
    AccountHealthy,
    #[msg("A liquidator cannot liquidate its own account")]
    SelfLiquidation,
    #[msg("Account owes nothing in the liability market")]
    LiabilityNotHeld,
    #[msg("Account holds no deposit in the asset market")]
    AssetNotHeld,
    #[msg("Nothing to liquidate at this size")]
    NothingToLiquidate,
    #[msg("Account still holds collateral: liquidate it before resolving bad debt")]
    AccountHasCollateral,
    #[msg("Fee shares must sum to 10_000 and the buyback stakers' share be at most 10_000")]
    InvalidFeeSplit,
    #[msg("Buyback auction or epoch parameters out of bounds")]
    InvalidAuctionParams,
    #[msg("Staking parameters out of bounds")]
    InvalidStakingParams,
    #[msg("Emissions need the protocol to be the native mint's mint authority")]
    EmissionAuthority,
    #[msg("Signer does not own this stake escrow")]
    NotStakeOwner,
    #[msg("Lock is shorter than the minimum")]
    LockTooShort,
    #[msg("Lock is longer than the maximum")]
    LockTooLong,
    #[msg("Lock has not ended yet")]
    LockActive,
    #[msg("Lock has already ended")]
    LockEnded,
    #[msg("New lock must end later than the current one")]
    LockNotExtended,
    #[msg("Stake is cooling down: no changes until it is withdrawn")]
    UnstakePending,
    #[msg("No unstake was requested")]
    NoUnstakePending,
    #[msg("Unstake cooldown has not ended yet")]
    CooldownActive,
    #[msg("Claim every reward stream before leaving")]
    UnclaimedRewards,
    #[msg("Nothing to claim")]
    NothingToClaim,
    #[msg("Market is not listed in a reward stream")]
    UnknownRewardStream,
    #[msg("The native token's own market has no buyback auction")]
    NativeMarketBuyback,
    #[msg("This epoch's buyback budget is spent")]
    BuybackBudgetExhausted,
    #[msg("Fill is outside the keeper's bounds (max native in / min pool out)")]
    SlippageExceeded,
    #[msg("No protocol fees to sweep")]
    NothingToSweep,
    #[msg("Volatility was sampled too recently")]
    SampleTooSoon,
    #[msg("Stored regime byte is not a regime")]
    InvalidRegime,
    #[msg("Net outflow limit of this market reached: wait for the window to free capacity")]
    OutflowLimitExceeded,
    #[msg("Guardian trip is longer than allowed (or zero)")]
    GuardianTripTooLong,
    #[msg("Guardian has tripped too many times in a row")]
    GuardianTooManyConsecutive,
    #[msg("Guardian has tripped too many times today")]
    GuardianDailyLimit,
    #[msg("Timelocked change is not ready yet")]
    TimelockNotReady,
    #[msg("Timelocked change has expired")]
    TimelockExpired,
    #[msg("Volatility parameters out of bounds")]
    InvalidVolatilityParams,
    #[msg("Regime thresholds out of bounds or without hysteresis")]
    InvalidRegimeThresholds,
    #[msg("Regime settings out of bounds or not counter-cyclical")]
    InvalidRegimeSettings,
    #[msg("Price move guard parameters out of bounds")]
    InvalidPriceGuardParams,
    #[msg("Outflow limiter parameters out of bounds")]
    InvalidOutflowParams,
    #[msg("Guardian limits out of bounds")]
    InvalidGuardianParams,
    #[msg("Timelock delay or grace period out of bounds")]
    InvalidTimelockParams,
    #[msg("The native token's market must be passed (and only it) once listed")]
    NativeMarketMismatch,
    #[msg("Market is reduce-only after a fast price move: no new borrows until the cooldown ends")]
    MarketReduceOnly,
    #[msg("This instruction is paused (gate set by the admin or by a guardian trip)")]
    InstructionPaused,
    #[msg("Signer is not the protocol's guardian")]
    NotGuardian,
    #[msg("Gate mask has undefined bits or bits this caller may not set (the guardian: none, liquidate or repay)")]
    InvalidGateMask,
    #[msg("The guardian's trip has not expired: only the admin may resume it now")]
    GuardianPauseActive,
    #[msg("Change loosens a parameter or moves maintenance health: propose it and execute it after the timelock")]
    ChangeNeedsTimelock,
    #[msg("Change leaves every parameter as it is")]
    NoChange,
    #[msg("Proposal was already executed or cancelled")]
    ProposalNotQueued,
    #[msg("Parameters changed since the proposal was made: propose again")]
    ProposalStale,
    #[msg("Market account is not the market the change targets")]
    MarketMismatch,
    #[msg("This change needs the account of the market it targets")]
    MarketAccountRequired,
    #[msg("Markets are listed by add_market (with a ready ListMarket proposal after launch)")]
    ListingThroughAddMarket,
    #[msg("After launch a new market needs a ready ListMarket proposal")]
    ListingNeedsProposal,
    #[msg("Proposal does not list this mint, oracle and config")]
    ListingMismatch,
    #[msg("Protocol is already launched")]
    AlreadyLaunched,
    #[msg("Signer is not the pending admin")]
    NotPendingAdmin,
    #[msg("No admin transfer is pending")]
    NoPendingAdmin,
    #[msg("New admin must be a real key")]
    InvalidAdmin,
    #[msg("Proposal id is not the protocol's next proposal id")]
    ProposalIdMismatch,
    #[msg("Turning emissions on needs the native mint as a remaining account")]
    NativeMintRequired,
    #[msg("Oracle kind is not one Ballast reads (1: Pyth PriceUpdateV2, 2: legacy Pyth)")]
    UnknownOracleKind,
    #[msg("Oracle source malformed: a PriceUpdateV2 feed needs a feed id, a legacy feed has none")]
    InvalidOracleSource,
    #[msg("Price account is not owned by the program of its oracle kind")]
    OracleWrongOwner,
    #[msg("Price update carries a different Pyth feed id than the configured one")]
    OracleFeedIdMismatch,
    #[msg("Price update is only partially verified (Wormhole signatures): Full verification required")]
    OraclePartiallyVerified,
    #[msg("The new oracle account must be passed as a remaining account")]
    OracleAccountRequired,
    #[msg("PriceUpdateV2 account is not the Pyth push feed (PDA) of its shard and feed id")]
    OracleNotPushFeed,
    #[msg("Borrow would take the market's net borrows in this window over its USD limit")]
    BorrowLimitExceeded,
    #[msg("Regime weight multipliers out of bounds or not counter-cyclical")]
    InvalidRegimeWeights,
    #[msg("Stable price settings out of bounds")]
    InvalidStablePriceParams,
    #[msg("Borrow limit window out of bounds")]
    InvalidBorrowLimit,
    #[msg("Repayments may be paused only while liquidations are paused too")]
    RepayGatedWithoutLiquidate,
    #[msg("A base unit of this token is worth too little for the program's price scale (WAD per base unit)")]
    UnitPriceTooSmall,
    #[msg("Exactly one payout for the seized collateral: the liquidator's token account or its margin account")]
    InvalidLiquidationPayout,
    #[msg("A market whose dust deposit is swept must be passed writable")]
    MarketNotWritable,
}

/// Engine errors, named in the program's own error codes.
pub fn risk_error(e: RiskError) -> Error {
    match e {
        RiskError::MathOverflow | RiskError::DivideByZero => error!(BallastError::MathOverflow),
        RiskError::OracleNonPositive => error!(BallastError::OracleNonPositive),
        RiskError::OracleStale => error!(BallastError::OracleStale),
        RiskError::OracleTooUncertain => error!(BallastError::OracleTooUncertain),
        RiskError::OracleTooVolatile => error!(BallastError::OracleTooVolatile),
        RiskError::OracleExponentOutOfRange => error!(BallastError::OracleExponentOutOfRange),
        RiskError::SampleTooSoon => error!(BallastError::SampleTooSoon),
        RiskError::InvalidRegime => error!(BallastError::InvalidRegime),
        RiskError::OutflowLimitExceeded => error!(BallastError::OutflowLimitExceeded),
        RiskError::GuardianTripTooLong => error!(BallastError::GuardianTripTooLong),
        RiskError::GuardianTooManyConsecutive => error!(BallastError::GuardianTooManyConsecutive),
        RiskError::GuardianDailyLimit => error!(BallastError::GuardianDailyLimit),
        RiskError::TimelockNotReady => error!(BallastError::TimelockNotReady),
        RiskError::TimelockExpired => error!(BallastError::TimelockExpired),
        RiskError::BorrowLimitExceeded => error!(BallastError::BorrowLimitExceeded),
        RiskError::UnitPriceTooSmall => error!(BallastError::UnitPriceTooSmall),
    }
}

pub fn param_error(e: ParamError) -> Error {
    match e {
        ParamError::Weights => error!(BallastError::InvalidWeights),
        ParamError::RateCurve => error!(BallastError::InvalidRateCurve),
        ParamError::ProtocolFee => error!(BallastError::InvalidProtocolFee),
        ParamError::OracleLimits => error!(BallastError::InvalidOracleLimits),
        ParamError::Caps => error!(BallastError::InvalidCaps),
        ParamError::Liquidation => error!(BallastError::InvalidLiquidationParams),
        ParamError::Volatility => error!(BallastError::InvalidVolatilityParams),
        ParamError::RegimeThresholds => error!(BallastError::InvalidRegimeThresholds),
        ParamError::RegimeSettings => error!(BallastError::InvalidRegimeSettings),
        ParamError::PriceGuard => error!(BallastError::InvalidPriceGuardParams),
        ParamError::Outflow => error!(BallastError::InvalidOutflowParams),
        ParamError::Guardian => error!(BallastError::InvalidGuardianParams),
        ParamError::Timelock => error!(BallastError::InvalidTimelockParams),
        ParamError::RegimeWeights => error!(BallastError::InvalidRegimeWeights),
        ParamError::StablePrice => error!(BallastError::InvalidStablePriceParams),
        ParamError::BorrowLimit => error!(BallastError::InvalidBorrowLimit),
    }
}

/// A token amount computed in `u128` as a `u64`, or `MathOverflow`.
pub fn to_u64(v: u128) -> Result<u64> {
    u64::try_from(v).map_err(|_| error!(BallastError::MathOverflow))
}

/// `?`-friendly conversion of engine results.
pub trait OrBallast<T> {
    fn or_ballast(self) -> Result<T>;
}

impl<T> OrBallast<T> for core::result::Result<T, RiskError> {
    fn or_ballast(self) -> Result<T> {
        self.map_err(risk_error)
    }
}

impl<T> OrBallast<T> for core::result::Result<T, ParamError> {
    fn or_ballast(self) -> Result<T> {
        self.map_err(param_error)
    }
}
