//! Instruction builders and PDA derivations for every Ballast instruction.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;
use ballast::{accounts, instruction, GovernanceAction, MarketConfig, OracleSource, ProtocolConfig};

pub fn protocol_pda() -> Pubkey {
    Pubkey::find_program_address(&[ballast::PROTOCOL_SEED], &ballast::ID).0
}

pub fn market_pda(mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[ballast::MARKET_SEED, protocol_pda().as_ref(), mint.as_ref()], &ballast::ID).0
}

pub fn vault_pda(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[ballast::VAULT_SEED, market.as_ref()], &ballast::ID).0
}

pub fn margin_account_pda(owner: &Pubkey, account_id: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[ballast::MARGIN_ACCOUNT_SEED, protocol_pda().as_ref(), owner.as_ref(), &account_id.to_le_bytes()],
        &ballast::ID,
    )
    .0
}

pub fn stake_escrow_pda(owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[ballast::STAKE_ESCROW_SEED, protocol_pda().as_ref(), owner.as_ref()], &ballast::ID).0
}

pub fn stake_vault_pda() -> Pubkey {
    Pubkey::find_program_address(&[ballast::STAKE_VAULT_SEED, protocol_pda().as_ref()], &ballast::ID).0
}

pub fn reward_vault_pda() -> Pubkey {
    Pubkey::find_program_address(&[ballast::REWARD_VAULT_SEED, protocol_pda().as_ref()], &ballast::ID).0
}

/// Proposal number `id` (the protocol's `governance.proposal_count` when it was made).
pub fn proposal_pda(id: u64) -> Pubkey {
    Pubkey::find_program_address(&[ballast::PROPOSAL_SEED, protocol_pda().as_ref(), &id.to_le_bytes()], &ballast::ID).0
}

pub fn program_data_address() -> Pubkey {
    Pubkey::find_program_address(&[ballast::ID.as_ref()], &bpf_loader_upgradeable::ID).0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: ballast::ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

pub fn initialize_protocol(
    admin: Pubkey,
    native_mint: Pubkey,
    native_oracle: OracleSource,
    config: ProtocolConfig,
) -> Instruction {
    ix(
        accounts::InitializeProtocol {
            admin,
            protocol: protocol_pda(),
            native_mint,
            native_oracle: native_oracle.address,
            stake_vault: stake_vault_pda(),
            reward_vault: reward_vault_pda(),
            program_data: program_data_address(),
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        instruction::InitializeProtocol { config, native_oracle_source: native_oracle },
    )
}

/// Lists a market during the setup phase (no proposal).
pub fn add_market(admin: Pubkey, mint: Pubkey, oracle: OracleSource, config: MarketConfig) -> Instruction {
    add_market_with(admin, mint, oracle, config, None)
}

/// Lists a market, consuming `proposal` (a ready `ListMarket` proposal; required after launch).
pub fn add_market_with(
    admin: Pubkey,
    mint: Pubkey,
    oracle: OracleSource,
    config: MarketConfig,
    proposal: Option<Pubkey>,
) -> Instruction {
    let market = market_pda(&mint);
    ix(
        accounts::AddMarket {
            admin,
            protocol: protocol_pda(),
            mint,
            market,
            vault: vault_pda(&market),
            oracle: oracle.address,
            token_program: spl_token::ID,
            system_program: system_program::ID,
            proposal,
        },
        instruction::AddMarket { config, oracle_source: oracle },
    )
}

/// Applies a change at once (tightening, or anything before launch).
pub fn apply_change(admin: Pubkey, action: GovernanceAction) -> Instruction {
    let accounts = accounts::ApplyChange { admin, protocol: protocol_pda(), market: action.market() };
    let feed = new_feed_metas(&action);
    with_metas(ix(accounts, instruction::ApplyChange { action }), feed)
}

/// The account of the feed a change installs (`GovernanceAction::new_oracle`), which the
/// program reads before writing it.
fn new_feed_metas(action: &GovernanceAction) -> Vec<AccountMeta> {
    action.new_oracle().map(|o| AccountMeta::new_readonly(o.address, false)).into_iter().collect()
}

fn with_metas(mut ix: Instruction, metas: Vec<AccountMeta>) -> Instruction {
    ix.accounts.extend(metas);
    ix
}

/// Queues a change as proposal `id`, which must be the protocol's current `proposal_count`.
pub fn propose_change(admin: Pubkey, id: u64, action: GovernanceAction) -> Instruction {
    let accounts = accounts::ProposeChange {
        admin,
        protocol: protocol_pda(),
        proposal: proposal_pda(id),
        market: action.market(),
        system_program: system_program::ID,
    };
    let feed = new_feed_metas(&action);
    with_metas(ix(accounts, instruction::ProposeChange { id, action }), feed)
}

/// Executes `proposal`; `action` is what it holds (for the market it targets and the
/// feed it installs).
pub fn execute_change(proposal: Pubkey, action: &GovernanceAction) -> Instruction {
    with_metas(execute_change_on(proposal, action.market()), new_feed_metas(action))
}

/// Executes `proposal` with an explicit market account (or none).
pub fn execute_change_on(proposal: Pubkey, market: Option<Pubkey>) -> Instruction {
    ix(accounts::ExecuteChange { protocol: protocol_pda(), proposal, market }, instruction::ExecuteChange {})
}

/// A governance instruction with the native mint as its remaining account: needed by a
/// change that turns staking emissions on (`GovernanceAction::turns_emissions_on`).
pub fn with_native_mint(mut ix: Instruction, native_mint: Pubkey) -> Instruction {
    ix.accounts.push(AccountMeta::new_readonly(native_mint, false));
    ix
}

pub fn cancel_change(admin: Pubkey, proposal: Pubkey) -> Instruction {
    ix(accounts::CancelChange { admin, protocol: protocol_pda(), proposal }, instruction::CancelChange {})
}

pub fn launch(admin: Pubkey) -> Instruction {
    ix(accounts::Launch { admin, protocol: protocol_pda() }, instruction::Launch {})
}

pub fn accept_admin(new_admin: Pubkey) -> Instruction {
    ix(accounts::AcceptAdmin { new_admin, protocol: protocol_pda() }, instruction::AcceptAdmin {})
}

pub fn cancel_admin_transfer(admin: Pubkey) -> Instruction {
    ix(accounts::CancelAdminTransfer { admin, protocol: protocol_pda() }, instruction::CancelAdminTransfer {})
}

pub fn create_margin_account(owner: Pubkey, account_id: u32) -> Instruction {
    ix(
        accounts::CreateMarginAccount {
            owner,
            protocol: protocol_pda(),
            margin_account: margin_account_pda(&owner, account_id),
            system_program: system_program::ID,
        },
        instruction::CreateMarginAccount { account_id },
    )
}

pub fn close_margin_account(owner: Pubkey, margin_account: Pubkey) -> Instruction {
    ix(accounts::CloseMarginAccount { owner, margin_account }, instruction::CloseMarginAccount {})
}

/// Accounts of a deposit, withdraw, borrow or repay.
#[derive(Debug, Clone, Copy)]
pub struct MarketTransfer {
    pub owner: Pubkey,
    pub margin_account: Pubkey,
    pub market: Pubkey,
    pub user_token: Pubkey,
}

impl MarketTransfer {
    fn accounts(&self) -> accounts::MarketTransfer {
        accounts::MarketTransfer {
            owner: self.owner,
            protocol: protocol_pda(),
            market: self.market,
            margin_account: self.margin_account,
            user_token: self.user_token,
            vault: vault_pda(&self.market),
            token_program: spl_token::ID,
        }
    }
}

pub fn deposit(t: &MarketTransfer, amount: u64) -> Instruction {
    ix(t.accounts(), instruction::Deposit { amount })
}

/// `health` lists (market, oracle) for every balance held afterwards, in slot order.
pub fn withdraw(t: &MarketTransfer, amount: u64, withdraw_all: bool, health: &[AccountMeta]) -> Instruction {
    with_health(ix(t.accounts(), instruction::Withdraw { amount, withdraw_all }), health)
}

/// `health` lists (market, oracle) for every balance held afterwards, in slot order.
pub fn borrow(t: &MarketTransfer, amount: u64, health: &[AccountMeta]) -> Instruction {
    with_health(ix(t.accounts(), instruction::Borrow { amount }), health)
}

pub fn repay(t: &MarketTransfer, amount: u64, repay_all: bool) -> Instruction {
    ix(t.accounts(), instruction::Repay { amount, repay_all })
}

pub fn refresh_market(market: Pubkey, oracle: Pubkey) -> Instruction {
    ix(accounts::RefreshMarket { market, oracle }, instruction::RefreshMarket {})
}

/// Checkpoints the decaying weight of the escrow at `escrow` (anyone may send it).
pub fn poke_stake(escrow: Pubkey) -> Instruction {
    ix(accounts::PokeStake { protocol: protocol_pda(), escrow }, instruction::PokeStake {})
}

/// Read-only (market, oracle) metas for a health check.
pub fn health_metas(pairs: &[(Pubkey, Pubkey)]) -> Vec<AccountMeta> {
    pairs
        .iter()
        .flat_map(|(market, oracle)| {
            [AccountMeta::new_readonly(*market, false), AccountMeta::new_readonly(*oracle, false)]
        })
        .collect()
}

fn with_health(mut ix: Instruction, health: &[AccountMeta]) -> Instruction {
    ix.accounts.extend_from_slice(health);
    ix
}

/// Accounts of a liquidation: the liquidator pays `liability_market` tokens from
/// `liquidator_liability_token` (repayment and insurance fee) and receives
/// `asset_market` tokens into `liquidator_asset_token` ([`liquidate`]) or as a deposit
/// in its margin account ([`liquidate_into_account`]: then `liquidator_asset_token` is
/// not used).
#[derive(Debug, Clone, Copy)]
pub struct Liquidation {
    pub liquidator: Pubkey,
    pub liquidatee: Pubkey,
    pub liability_market: Pubkey,
    pub liquidator_liability_token: Pubkey,
    pub asset_market: Pubkey,
    pub liquidator_asset_token: Pubkey,
}

/// `health` lists (market, oracle) for every balance the liquidatee holds now.
/// `max_repay` caps what the liquidator pays in, insurance fee included.
pub fn liquidate(l: &Liquidation, max_repay: u64, health: &[AccountMeta]) -> Instruction {
    with_health(
        ix(liquidate_accounts(l, Some(l.liquidator_asset_token), None), instruction::Liquidate { max_repay }),
        health,
    )
}

/// A liquidation whose seized collateral is credited to `liquidator_account` (owned by
/// the liquidator) as a deposit: no cash needs to be in the asset vault. `health` lists
/// the liquidatee's (market, oracle) pairs now, `liquidator_health` the liquidator
/// account's after the credit.
pub fn liquidate_into_account(
    l: &Liquidation,
    liquidator_account: Pubkey,
    max_repay: u64,
    health: &[AccountMeta],
    liquidator_health: &[AccountMeta],
) -> Instruction {
    let accounts = liquidate_accounts(l, None, Some(liquidator_account));
    let ix = with_health(ix(accounts, instruction::Liquidate { max_repay }), health);
    with_health(ix, liquidator_health)
}

fn liquidate_accounts(
    l: &Liquidation,
    liquidator_asset_token: Option<Pubkey>,
    liquidator_account: Option<Pubkey>,
) -> accounts::Liquidate {
    accounts::Liquidate {
        liquidator: l.liquidator,
        protocol: protocol_pda(),
        liquidatee: l.liquidatee,
        liability_market: l.liability_market,
        liability_vault: vault_pda(&l.liability_market),
        liquidator_liability_token: l.liquidator_liability_token,
        asset_market: l.asset_market,
        asset_vault: vault_pda(&l.asset_market),
        liquidator_asset_token,
        liquidator_account,
        token_program: spl_token::ID,
    }
}

/// `health` lists (market, oracle) for every balance the account holds (as
/// [`health_metas`]); the markets are passed writable, since a dust deposit in any of
/// them may be swept.
pub fn resolve_bad_debt(margin_account: Pubkey, market: Pubkey, health: &[AccountMeta]) -> Instruction {
    let accounts = accounts::ResolveBadDebt { protocol: protocol_pda(), margin_account, market };
    let mut metas = health.to_vec();
    metas.iter_mut().step_by(2).for_each(|market| market.is_writable = true);
    with_health(ix(accounts, instruction::ResolveBadDebt {}), &metas)
}

pub fn sweep_fees(market: Pubkey) -> Instruction {
    ix(accounts::SweepFees { protocol: protocol_pda(), market }, instruction::SweepFees {})
}

/// Accounts of a buyback fill: the keeper pays native tokens from `keeper_native` and
/// receives `market`'s tokens into `keeper_pool_token`.
#[derive(Debug, Clone, Copy)]
pub struct BuybackFill {
    pub keeper: Pubkey,
    pub market: Pubkey,
    pub oracle: Pubkey,
    pub native_mint: Pubkey,
    pub native_oracle: Pubkey,
    pub keeper_native: Pubkey,
    pub keeper_pool_token: Pubkey,
}

pub fn buyback(b: &BuybackFill, max_native_in: u64, min_pool_out: u64) -> Instruction {
    let accounts = accounts::Buyback {
        keeper: b.keeper,
        protocol: protocol_pda(),
        market: b.market,
        vault: vault_pda(&b.market),
        oracle: b.oracle,
        native_oracle: b.native_oracle,
        native_mint: b.native_mint,
        reward_vault: reward_vault_pda(),
        keeper_native: b.keeper_native,
        keeper_pool_token: b.keeper_pool_token,
        token_program: spl_token::ID,
    };
    ix(accounts, instruction::Buyback { max_native_in, min_pool_out })
}

/// A staker: the owner and their native token account.
#[derive(Debug, Clone, Copy)]
pub struct Staker {
    pub owner: Pubkey,
    pub native_mint: Pubkey,
    pub owner_native: Pubkey,
}

/// The staking pool's accounts (every staking instruction and `update_volatility`).
fn stake_pool(native_mint: Pubkey) -> accounts::StakePool {
    accounts::StakePool {
        protocol: protocol_pda(),
        native_mint,
        stake_vault: stake_vault_pda(),
        reward_vault: reward_vault_pda(),
        token_program: spl_token::ID,
    }
}

/// The native token's volatility crank (each market's is `refresh_market`).
pub fn update_volatility(native_mint: Pubkey, native_oracle: Pubkey) -> Instruction {
    let accounts = accounts::UpdateVolatility { pool: stake_pool(native_mint), native_oracle };
    ix(accounts, instruction::UpdateVolatility {})
}

impl Staker {
    fn pool(&self) -> accounts::StakePool {
        stake_pool(self.native_mint)
    }

    fn action(&self) -> accounts::StakeAction {
        accounts::StakeAction {
            owner: self.owner,
            pool: self.pool(),
            escrow: stake_escrow_pda(&self.owner),
            owner_native: self.owner_native,
        }
    }

    pub fn stake(&self, amount: u64, lock_secs: u32) -> Instruction {
        let accounts = accounts::Stake {
            owner: self.owner,
            pool: self.pool(),
            escrow: stake_escrow_pda(&self.owner),
            owner_native: self.owner_native,
            system_program: system_program::ID,
        };
        ix(accounts, instruction::Stake { amount, lock_secs })
    }

    pub fn increase_stake(&self, amount: u64) -> Instruction {
        ix(self.action(), instruction::IncreaseStake { amount })
    }

    pub fn extend_lock(&self, lock_secs: u32) -> Instruction {
        ix(self.action(), instruction::ExtendLock { lock_secs })
    }

    pub fn unstake(&self) -> Instruction {
        ix(self.action(), instruction::Unstake {})
    }

    pub fn withdraw_stake(&self) -> Instruction {
        ix(self.action(), instruction::WithdrawStake {})
    }

    pub fn exit_early(&self) -> Instruction {
        ix(self.action(), instruction::ExitEarly {})
    }

    pub fn claim_rewards(&self) -> Instruction {
        ix(self.action(), instruction::ClaimRewards {})
    }

    /// Claims `market`'s fee revenue into `owner_token` (an account of that market's mint).
    pub fn claim_market_rewards(&self, market: Pubkey, owner_token: Pubkey) -> Instruction {
        let accounts = accounts::ClaimMarketRewards {
            owner: self.owner,
            protocol: protocol_pda(),
            escrow: stake_escrow_pda(&self.owner),
            market,
            vault: vault_pda(&market),
            owner_token,
            token_program: spl_token::ID,
        };
        ix(accounts, instruction::ClaimMarketRewards {})
    }
}

/// Replaces the admin's instruction gates (`ballast_risk::gates` bits).
pub fn set_gates(admin: Pubkey, gates: u64) -> Instruction {
    ix(accounts::AdminAction { admin, protocol: protocol_pda() }, instruction::SetGates { gates })
}

/// Names the guardian (`Pubkey::default()`: none) through governance: a `SetGuardian`
/// change, applied at once only in the setup phase (it waits in the timelock after launch).
pub fn set_guardian(admin: Pubkey, guardian: Pubkey) -> Instruction {
    apply_change(admin, ballast::GovernanceAction::SetGuardian { guardian })
}

/// The guardian pauses the families in `gates_mask` for `duration_secs`.
pub fn guardian_trip(guardian: Pubkey, duration_secs: u32, gates_mask: u64) -> Instruction {
    ix(
        accounts::GuardianTrip { guardian, protocol: protocol_pda() },
        instruction::GuardianTrip { duration_secs, gates_mask },
    )
}

/// Ends the guardian's trip (the admin any time, anyone once it has run out).
pub fn resume(caller: Pubkey) -> Instruction {
    ix(accounts::Resume { caller, protocol: protocol_pda() }, instruction::Resume {})
}
