//! Every event the program emits. Amounts are in token base units; values and health
//! in WAD quote units.

use anchor_lang::prelude::*;

#[event]
pub struct ProtocolInitialized {
    pub protocol: Pubkey,
    pub admin: Pubkey,
    pub native_mint: Pubkey,
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
