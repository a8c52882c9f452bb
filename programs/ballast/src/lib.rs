//! Ballast: protects the value of a protocol token and the solvency of the margin venue
//! built around it. Instruction handlers stay thin (validate accounts, load, call the
//! risk engine in `ballast-risk`, store, emit); the math lives in that crate.

// Every instruction module has its own `handler`; the glob re-exports are for Anchor.
#![allow(ambiguous_glob_reexports)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod governance;
pub mod health;
pub mod instructions;
pub mod oracle;
pub mod staking;
pub mod state;

pub use constants::*;
pub use governance::GovernanceAction;
pub use instructions::admin::*;
pub use instructions::guardian::*;
pub use instructions::keeper::*;
pub use instructions::trader::*;
pub use state::*;

declare_id!("A2n5zs23LnCbhSqdMkh7uSTmATrgYYHQxYQh4i2AeH9E");

// Where to report a vulnerability, embedded in the deployed binary (`.security.txt`).
#[cfg(not(feature = "no-entrypoint"))]
solana_security_txt::security_txt! {
    name: "Ballast",
    project_url: "https://github.com/ballast-protocol/ballast",
    contacts: "email:security@ballast.example",
    policy: "https://github.com/ballast-protocol/ballast/blob/main/SECURITY.md",
    source_code: "https://github.com/ballast-protocol/ballast"
}

#[program]
pub mod ballast {
    use super::*;
    use crate::instructions::{admin, guardian, keeper, trader};

    /// Creates the protocol root and the staking vaults. Signed by the program's
    /// upgrade authority, who becomes the admin.
    pub fn initialize_protocol(
        ctx: Context<InitializeProtocol>,
        config: ProtocolConfig,
        native_oracle_source: OracleSource,
    ) -> Result<()> {
        admin::initialize_protocol::handler(ctx, config, native_oracle_source)
    }

    /// Lists a market for `mint` priced by the Pyth feed `oracle_source` (its price
    /// account passed as `oracle`; admin only). After launch it consumes a ready
    /// `ListMarket` proposal with the same mint, oracle and config.
    pub fn add_market(ctx: Context<AddMarket>, config: MarketConfig, oracle_source: OracleSource) -> Result<()> {
        admin::add_market::handler(ctx, config, oracle_source)
    }

    /// Applies a change at once: a tightening one, or any during the setup phase (admin).
    pub fn apply_change(ctx: Context<ApplyChange>, action: GovernanceAction) -> Result<()> {
        admin::apply_change::handler(ctx, action)
    }

    /// Queues a change in the timelock as proposal `id`, the protocol's next (admin).
    pub fn propose_change(ctx: Context<ProposeChange>, id: u64, action: GovernanceAction) -> Result<()> {
        admin::propose_change::handler(ctx, id, action)
    }

    /// Executes a ready proposal (anyone).
    pub fn execute_change(ctx: Context<ExecuteChange>) -> Result<()> {
        keeper::execute_change::handler(ctx)
    }

    /// Cancels a queued proposal (admin).
    pub fn cancel_change(ctx: Context<CancelChange>) -> Result<()> {
        admin::cancel_change::handler(ctx)
    }

    /// Ends the setup phase for good (admin).
    pub fn launch(ctx: Context<Launch>) -> Result<()> {
        admin::launch::handler(ctx)
    }

    /// The pending admin takes over.
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        admin::accept_admin::handler(ctx)
    }

    /// Withdraws a pending admin transfer (admin).
    pub fn cancel_admin_transfer(ctx: Context<CancelAdminTransfer>) -> Result<()> {
        admin::cancel_admin_transfer::handler(ctx)
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

    /// Locks native tokens for `lock_secs` in a new stake escrow; its weight decays with
    /// the lock left.
    pub fn stake(ctx: Context<Stake>, amount: u64, lock_secs: u32) -> Result<()> {
        trader::stake::handler(ctx, amount, lock_secs)
    }

    /// Adds to a running lock; the stake is re-weighed by the lock left.
    pub fn increase_stake(ctx: Context<StakeAction>, amount: u64) -> Result<()> {
        trader::increase_stake::handler(ctx, amount)
    }

    /// Re-locks the stake for `lock_secs` from now (ending later than the current lock).
    pub fn extend_lock(ctx: Context<StakeAction>, lock_secs: u32) -> Result<()> {
        trader::extend_lock::handler(ctx, lock_secs)
    }

    /// Starts the cooldown once the lock has ended.
    pub fn unstake(ctx: Context<StakeAction>) -> Result<()> {
        trader::unstake::handler(ctx)
    }

    /// Returns the stake after the cooldown and closes the escrow.
    pub fn withdraw_stake(ctx: Context<StakeAction>) -> Result<()> {
        trader::withdraw_stake::handler(ctx)
    }

    /// Leaves before the lock ends; the penalty (scaled by the lock left) is burned.
    pub fn exit_early(ctx: Context<StakeAction>) -> Result<()> {
        trader::exit_early::handler(ctx)
    }

    /// Pays native rewards (buyback share and emissions).
    pub fn claim_rewards(ctx: Context<StakeAction>) -> Result<()> {
        trader::claim_rewards::handler(ctx)
    }

    /// Pays a market's fee revenue, in its token.
    pub fn claim_market_rewards(ctx: Context<ClaimMarketRewards>) -> Result<()> {
        trader::claim_market_rewards::handler(ctx)
    }

    /// Accrues interest and samples the oracle (permissionless).
    pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
        keeper::refresh_market::handler(ctx)
    }

    /// Checkpoints an escrow's decaying weight (permissionless).
    pub fn poke_stake(ctx: Context<PokeStake>) -> Result<()> {
        keeper::poke_stake::handler(ctx)
    }

    /// Repays part of an unhealthy account's debt for its collateral plus a bonus.
    /// Remaining accounts: (market, oracle) for every balance the account holds now.
    pub fn liquidate(ctx: Context<Liquidate>, max_repay: u64) -> Result<()> {
        keeper::liquidate::handler(ctx, max_repay)
    }

    /// Splits a market's protocol fees into insurance, buyback and staker pools.
    pub fn sweep_fees(ctx: Context<SweepFees>) -> Result<()> {
        keeper::sweep_fees::handler(ctx)
    }

    /// Sells buyback-pool tokens for native tokens on the Dutch auction; burns them.
    pub fn buyback(ctx: Context<Buyback>, max_native_in: u64, min_pool_out: u64) -> Result<()> {
        keeper::buyback::handler(ctx, max_native_in, min_pool_out)
    }

    /// Samples the native token's price into the volatility estimate and moves the
    /// regime (permissionless, at most once per minimum interval).
    pub fn update_volatility(ctx: Context<UpdateVolatility>) -> Result<()> {
        keeper::update_volatility::handler(ctx)
    }

    /// Writes off debt no collateral backs: insurance fund first, then depositors.
    pub fn resolve_bad_debt(ctx: Context<ResolveBadDebt>) -> Result<()> {
        keeper::resolve_bad_debt::handler(ctx)
    }

    /// Replaces the admin's instruction gates (a set bit pauses that family; admin only).
    pub fn set_gates(ctx: Context<AdminAction>, gates: u64) -> Result<()> {
        admin::set_gates::handler(ctx, gates)
    }

    /// Pauses the families in `gates_mask` for `duration_secs`, time-boxed (guardian only).
    pub fn guardian_trip(ctx: Context<GuardianTrip>, duration_secs: u32, gates_mask: u64) -> Result<()> {
        guardian::guardian_trip::handler(ctx, duration_secs, gates_mask)
    }

    /// Ends the guardian's trip: the admin any time, anyone once it has run out.
    pub fn resume(ctx: Context<Resume>) -> Result<()> {
        guardian::resume::handler(ctx)
    }
}
