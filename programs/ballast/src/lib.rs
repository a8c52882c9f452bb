//! Ballast: protects the value of a protocol token and the solvency of the margin venue
//! built around it. Instruction handlers stay thin (validate accounts, load, call the
//! risk engine in `ballast-risk`, store, emit); the math lives in that crate.

// Every instruction module has its own `handler`; the glob re-exports are for Anchor.
#![allow(ambiguous_glob_reexports)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod health;
pub mod instructions;
pub mod oracle;
pub mod state;

pub use constants::*;
pub use instructions::admin::*;
pub use instructions::keeper::*;
pub use instructions::trader::*;
pub use state::*;

declare_id!("A2n5zs23LnCbhSqdMkh7uSTmATrgYYHQxYQh4i2AeH9E");

#[program]
pub mod ballast {
    use super::*;
    use crate::instructions::{admin, keeper, trader};

    /// Creates the protocol root. Signed by the program's upgrade authority, who
    /// becomes the admin.
    pub fn initialize_protocol(ctx: Context<InitializeProtocol>) -> Result<()> {
        admin::initialize_protocol::handler(ctx)
    }

    /// Lists a market for `mint` priced by the Pyth feed `oracle` (admin only).
    pub fn add_market(ctx: Context<AddMarket>, config: MarketConfig) -> Result<()> {
        admin::add_market::handler(ctx, config)
    }

    pub fn create_margin_account(ctx: Context<CreateMarginAccount>, account_id: u32) -> Result<()> {
        trader::create_margin_account::handler(ctx, account_id)
    }

    pub fn deposit(ctx: Context<MarketTransfer>, amount: u64) -> Result<()> {
        trader::deposit::handler(ctx, amount)
    }

    /// Remaining accounts: (market, oracle) for every balance held after the withdrawal.
    pub fn withdraw(ctx: Context<MarketTransfer>, amount: u64, withdraw_all: bool) -> Result<()> {
        trader::withdraw::handler(ctx, amount, withdraw_all)
    }

    /// Remaining accounts: (market, oracle) for every balance held after the borrow.
    pub fn borrow(ctx: Context<MarketTransfer>, amount: u64) -> Result<()> {
        trader::borrow::handler(ctx, amount)
    }

    pub fn repay(ctx: Context<MarketTransfer>, amount: u64, repay_all: bool) -> Result<()> {
        trader::repay::handler(ctx, amount, repay_all)
    }

    pub fn close_margin_account(ctx: Context<CloseMarginAccount>) -> Result<()> {
        trader::close_margin_account::handler(ctx)
    }

    /// Accrues interest and samples the oracle (permissionless).
    pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
        keeper::refresh_market::handler(ctx)
    }

    /// Repays part of an unhealthy account's debt for its collateral plus a bonus.
    /// Remaining accounts: (market, oracle) for every balance the account holds now.
    pub fn liquidate(ctx: Context<Liquidate>, max_repay: u64) -> Result<()> {
        keeper::liquidate::handler(ctx, max_repay)
    }

    /// Writes off debt no collateral backs: insurance fund first, then depositors.
    pub fn resolve_bad_debt(ctx: Context<ResolveBadDebt>) -> Result<()> {
        keeper::resolve_bad_debt::handler(ctx)
    }
}
