//! Instructions signed by traders (margin account owners).

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod borrow;
pub mod claim_market_rewards;
pub mod claim_rewards;
pub mod close_margin_account;
pub mod create_margin_account;
pub mod deposit;
pub mod exit_early;
pub mod extend_lock;
pub mod increase_stake;
pub mod repay;
pub mod stake;
pub mod stake_accounts;
pub mod unstake;
pub mod withdraw;
pub mod withdraw_stake;

pub use claim_market_rewards::*;
pub use close_margin_account::*;
pub use create_margin_account::*;
pub use stake::*;
pub use stake_accounts::*;

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, TokenAccount, Transfer};

use crate::errors::BallastError;
use crate::events::{StakeChangeKind, StakeChanged};
use crate::health::PricedMarket;
use crate::state::{MarginAccount, Market, Protocol, StakeEscrow};

/// Accounts shared by deposit, withdraw, borrow and repay: one margin account moving
/// tokens between the owner's token account and one market's vault.
#[derive(Accounts)]
pub struct MarketTransfer<'info> {
    pub owner: Signer<'info>,
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(
        mut,
        has_one = protocol @ BallastError::WrongProtocol,
        has_one = vault @ BallastError::VaultMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(
        mut,
        has_one = owner @ BallastError::NotAccountOwner,
        has_one = protocol @ BallastError::WrongProtocol,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    /// The owner's token account: source of deposits and repayments, destination of
    /// withdrawals and borrows.
    #[account(mut, constraint = user_token.mint == market.load()?.mint @ BallastError::WrongMint)]
    pub user_token: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl<'info> MarketTransfer<'info> {
    /// Moves `amount` from the owner's token account into the vault.
    fn pull_from_owner(&self, amount: u64) -> Result<()> {
        token::transfer(
            CpiContext::new(
                self.token_program.key(),
                Transfer {
                    from: self.user_token.to_account_info(),
                    to: self.vault.to_account_info(),
                    authority: self.owner.to_account_info(),
                },
            ),
            amount,
        )
    }

    /// Pays `amount` out of the vault to the owner's token account, signed by the market.
    fn pay_to_owner(&self, amount: u64) -> Result<()> {
        super::pay_from_market_vault(&self.market, &self.vault, &self.user_token, &self.token_program, amount)
    }

    /// Fails with `InstructionPaused` while `gate` is paused.
    fn require_open(&self, gate: u64, now: i64) -> Result<()> {
        self.protocol.load()?.require_open(gate, now)
    }

    /// Feeds the market's price guard the price this instruction's health check read
    /// (when the account still holds a balance in the market); returns whether that
    /// tripped the guard, having emitted the event.
    fn observe_price(&self, priced: &[PricedMarket], now: i64) -> Result<bool> {
        let mut market = self.market.load_mut()?;
        let Some(p) = priced.iter().find(|p| p.market_index == market.market_index) else {
            return Ok(false);
        };
        let tripped = market.observe_price(self.market.key(), p.mid_down, now)?;
        Ok(tripped.map(|event| emit!(event)).is_some())
    }
}

/// Checkpoints the escrow at `escrow_key` (`staking::checkpoint`: settled, then
/// re-weighed to where its lock now stands) and emits `StakeChanged` if its weight moved.
/// Call after `staking::accrue`.
pub(crate) fn checkpoint_escrow(
    escrow_key: &Pubkey,
    escrow: &mut StakeEscrow,
    protocol: &mut Protocol,
    now: i64,
) -> Result<()> {
    if crate::staking::checkpoint(escrow, protocol, now)? {
        emit_stake_changed(escrow_key, escrow, protocol, StakeChangeKind::Checkpoint, 0, 0);
    }
    Ok(())
}

/// The event every change to an escrow emits, read after the change.
fn emit_stake_changed(
    escrow_key: &Pubkey,
    escrow: &StakeEscrow,
    protocol: &Protocol,
    kind: StakeChangeKind,
    amount: u64,
    penalty: u64,
) {
    emit!(StakeChanged {
        escrow: *escrow_key,
        owner: escrow.owner,
        kind,
        amount,
        penalty,
        staked_after: escrow.amount,
        weight_after: escrow.weight.get(),
        lock_end: escrow.lock_end,
        total_weight_after: protocol.total_weight(),
    });
}
