//! Every event the program emits. Amounts are in token base units; values and health
//! in WAD quote units.

use anchor_lang::prelude::*;

use crate::governance::GovernanceAction;
use crate::state::OracleSource;

#[event]
pub struct ProtocolInitialized {
    pub protocol: Pubkey,
    pub admin: Pubkey,
    pub native_mint: Pubkey,
    pub native_oracle: OracleSource,
}

#[event]
pub struct MarketAdded {
    pub market: Pubkey,
    pub mint: Pubkey,
    pub oracle: OracleSource,
    pub market_index: u16,
}

#[event]
pub struct MarginAccountCreated {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
    pub account_id: u32,
}

#[event]
pub struct MarginAccountClosed {
    pub margin_account: Pubkey,
    pub owner: Pubkey,
}

/// A deposit, withdrawal, borrow or repayment.
#[event]
pub struct BalanceChanged {
    pub margin_account: Pubkey,
    pub market: Pubkey,
    pub kind: BalanceChangeKind,
    pub amount: u64,
    /// Shares added or removed (deposit shares or debt shares, by kind).
    pub shares: u128,
    /// Initial health after the change, when the change was health-checked.
    pub init_health_after: Option<i128>,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalanceChangeKind {
    Deposit,
    Withdraw,
    Borrow,
    Repay,
}

#[event]
pub struct MarketRefreshed {
    pub market: Pubkey,
    pub elapsed_secs: u64,
    pub deposit_index: u128,
    pub borrow_index: u128,
    pub protocol_fee: u64,
    /// Whether the oracle sample passed the risk-increasing checks.
    pub oracle_ok: bool,
    pub price: i64,
    pub expo: i32,
    /// Whether the sample was taken into the market's volatility estimate (fresh, tight
    /// and at least `min_sample_interval_secs` after the last one).
    pub volatility_sampled: bool,
    /// The market's regime and stable price (WAD per base unit) after this refresh.
    pub regime: u8,
    pub stable_price: u128,
}

#[event]
pub struct Liquidated {
    pub liquidatee: Pubkey,
    pub liquidator: Pubkey,
    pub liability_market: Pubkey,
    pub asset_market: Pubkey,
    /// Liability tokens the liquidator repaid.
    pub repaid: u64,
    /// Asset tokens the liquidator received (as tokens, or as a deposit when
    /// `as_deposit`).
    pub seized: u64,
    /// Liability tokens the liquidator paid into the liability market's insurance fund.
    pub insurance_fee: u64,
    pub as_deposit: bool,
    /// Oracle prices per base unit (WAD) the exchange used.
    pub liability_price: u128,
    pub asset_price: u128,
    pub maint_health_before: i128,
    pub maint_health_after: i128,
    pub init_health_after: i128,
}

#[event]
pub struct BadDebtResolved {
    pub margin_account: Pubkey,
    pub market: Pubkey,
    /// Tokens of debt written off.
    pub debt: u64,
    pub covered_by_insurance: u64,
    pub socialized: u64,
    pub deposit_index_after: u128,
}

/// A deposit worth less than the dust threshold, taken from a bankrupt account into
/// its market's insurance fund so that the account's debt can be written off.
#[event]
pub struct DustSwept {
    pub margin_account: Pubkey,
    pub market: Pubkey,
    pub shares: u128,
    /// Tokens those shares were worth, added to the insurance fund.
    pub amount: u64,
}

/// A market's accrued protocol fees split into its pools.
#[event]
pub struct FeesSwept {
    pub market: Pubkey,
    pub to_insurance: u64,
    pub to_buyback: u64,
    /// Paid to stakers over the drip period (to the buyback pool when nobody stakes).
    pub to_stakers: u64,
}

/// A keeper sold native tokens to a market's buyback pool.
#[event]
pub struct BuybackFilled {
    pub market: Pubkey,
    pub keeper: Pubkey,
    pub native_in: u64,
    pub pool_out: u64,
    /// Price multiplier over the oracle exchange rate (bps) at the fill.
    pub multiplier_bps: u64,
    pub burned: u64,
    pub to_stakers: u64,
    pub epoch: u64,
    pub epoch_budget_left: u64,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StakeChangeKind {
    Stake,
    Increase,
    ExtendLock,
    /// The lock ended and the cooldown began.
    Unstake,
    /// The cooldown ended and the tokens went home.
    Withdraw,
    /// Left before the lock ended, paying the penalty.
    ExitEarly,
    /// The weight decayed to where the lock now stands (`poke_stake`, or a claim).
    Checkpoint,
}

#[event]
pub struct StakeChanged {
    pub escrow: Pubkey,
    pub owner: Pubkey,
    pub kind: StakeChangeKind,
    /// Tokens moved in (stake, increase) or out (withdraw, exit early).
    pub amount: u64,
    /// Tokens burned as the early-exit penalty.
    pub penalty: u64,
    pub staked_after: u64,
    pub weight_after: u128,
    pub lock_end: i64,
    pub total_weight_after: u128,
}

#[event]
pub struct RewardsClaimed {
    pub escrow: Pubkey,
    pub owner: Pubkey,
    /// 0: native rewards; 1 + i: market i's token.
    pub stream: u16,
    pub mint: Pubkey,
    pub amount: u64,
}

/// New native tokens minted to stakers.
#[event]
pub struct EmissionsMinted {
    pub amount: u64,
    pub total_emitted: u64,
}

/// A volatility sample of the native token (`update_volatility`).
#[event]
pub struct VolatilitySampled {
    pub price_wad: u128,
    pub ema_price_wad: u128,
    pub annual_vol_bps: u32,
    pub drawdown_bps: u32,
    pub regime: u8,
    pub timestamp: i64,
}

/// The regime moved; what it now sets.
#[event]
pub struct RegimeChanged {
    pub from: u8,
    pub to: u8,
    pub annual_vol_bps: u32,
    pub drawdown_bps: u32,
    pub emission_rate_per_sec: u64,
    pub buyback_budget_bps: u32,
    pub premium_cap_bps: u32,
    pub exit_penalty_bps: u32,
    pub timestamp: i64,
}

/// A market's own regime moved; its weight multipliers now head for these values (over
/// the market's `regime_weights.ramp_secs`, from wherever they stood).
#[event]
pub struct MarketRegimeChanged {
    pub market: Pubkey,
    pub from: u8,
    pub to: u8,
    pub annual_vol_bps: u32,
    pub drawdown_bps: u32,
    pub asset_multiplier_bps: u32,
    pub liability_multiplier_bps: u32,
    pub timestamp: i64,
}

/// A market's price moved more than its guard allows within the window: no new borrows
/// until `reduce_only_until`. Prices are oracle mid prices per base unit (WAD).
#[event]
pub struct PriceGuardTripped {
    pub market: Pubkey,
    /// The guard's reference price and when it was taken (0: never observed).
    pub reference_price: u128,
    pub reference_ts: i64,
    /// The price that tripped the guard (the new reference).
    pub price: u128,
    pub reduce_only_until: i64,
}

/// The admin changed the standing instruction gates.
#[event]
pub struct GatesSet {
    pub admin: Pubkey,
    pub old_gates: u64,
    pub new_gates: u64,
}

/// The guardian paused `mask` (added to a running trip's) until `paused_until`.
#[event]
pub struct GuardianTripped {
    pub guardian: Pubkey,
    /// The bits this trip asked for.
    pub mask: u64,
    /// Every bit the guardian's trip now pauses.
    pub guardian_mask: u64,
    pub paused_until: i64,
    pub trips_today: u8,
    pub consecutive: u8,
}

/// The guardian's trip was ended early by the admin, or tidied after it ran out.
#[event]
pub struct GuardianResumed {
    pub by: Pubkey,
    pub by_admin: bool,
    /// The bits the trip had paused.
    pub mask: u64,
    /// When the trip would have ended.
    pub was_paused_until: i64,
}

/// A tightening change (or any change during the setup phase) applied at once by the admin.
#[event]
pub struct ChangeApplied {
    pub admin: Pubkey,
    pub action: GovernanceAction,
    /// Whether it loosened anything (only possible before launch).
    pub loosening: bool,
}

/// A change queued in the timelock.
#[event]
pub struct ChangeProposed {
    pub proposal: Pubkey,
    pub id: u64,
    pub proposer: Pubkey,
    pub action: GovernanceAction,
    pub ready_at: i64,
    pub expires_at: i64,
}

/// A proposal executed (by `execute_change`, or consumed by `add_market`).
#[event]
pub struct ChangeExecuted {
    pub proposal: Pubkey,
    pub id: u64,
    pub action: GovernanceAction,
}

#[event]
pub struct ChangeCancelled {
    pub proposal: Pubkey,
    pub id: u64,
    pub action: GovernanceAction,
}

/// `pending_admin` set: it becomes admin when it signs `accept_admin`.
#[event]
pub struct AdminTransferProposed {
    pub admin: Pubkey,
    pub pending_admin: Pubkey,
}

#[event]
pub struct AdminTransferAccepted {
    pub old_admin: Pubkey,
    pub new_admin: Pubkey,
}

#[event]
pub struct AdminTransferCancelled {
    pub admin: Pubkey,
    pub cancelled: Pubkey,
}

/// The setup phase ended: from now on loosening changes and listings wait in the timelock.
#[event]
pub struct Launched {
    pub protocol: Pubkey,
    pub admin: Pubkey,
    pub launched_at: i64,
}
