//! Every event the program emits. Amounts are in token base units; values and health
//! in WAD quote units.

use anchor_lang::prelude::*;

use crate::governance::GovernanceAction;

#[event]
pub struct ProtocolInitialized {
    pub protocol: Pubkey,
    pub admin: Pubkey,
    pub native_mint: Pubkey,
    pub native_oracle: Pubkey,
}

#[event]
pub struct MarketAdded {
    pub market: Pubkey,
    pub mint: Pubkey,
    pub oracle: Pubkey,
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
}

#[event]
pub struct Liquidated {
    pub liquidatee: Pubkey,
    pub liquidator: Pubkey,
    pub liability_market: Pubkey,
    pub asset_market: Pubkey,
    /// Liability tokens the liquidator repaid.
    pub repaid: u64,
    /// Asset tokens the liquidator received.
    pub seized: u64,
    /// Asset tokens moved into the asset market's insurance fund.
    pub insurance_fee: u64,
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
