//! Accounts shared by the staking instructions, and their token movements.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::constants::PROTOCOL_SEED;
use crate::errors::BallastError;
use crate::events::EmissionsMinted;
use crate::staking;
use crate::state::{Protocol, StakeEscrow};

/// The staking pool: the protocol root, the native mint (emissions, penalty burns) and
/// the two native vaults, all pinned to the addresses the protocol recorded.
#[derive(Accounts)]
pub struct StakePool<'info> {
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, address = protocol.load()?.native_mint @ BallastError::WrongMint)]
    pub native_mint: Box<Account<'info, Mint>>,
    #[account(mut, address = protocol.load()?.stake_vault @ BallastError::VaultMismatch)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = protocol.load()?.reward_vault @ BallastError::VaultMismatch)]
    pub reward_vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// An owner acting on their escrow: the pool, the escrow and the owner's native token
/// account (source of stakes, destination of withdrawals and native rewards).
#[derive(Accounts)]
pub struct StakeAction<'info> {
    /// Mutable: leaving the pool closes the escrow and refunds its rent here.
    #[account(mut)]
    pub owner: Signer<'info>,
    pub pool: StakePool<'info>,
    #[account(
        mut,
        has_one = owner @ BallastError::NotStakeOwner,
        constraint = escrow.load()?.protocol == pool.protocol.key() @ BallastError::WrongProtocol,
    )]
    pub escrow: AccountLoader<'info, StakeEscrow>,
    #[account(mut, constraint = owner_native.mint == pool.native_mint.key() @ BallastError::WrongMint)]
    pub owner_native: Box<Account<'info, TokenAccount>>,
}

impl<'info> StakeAction<'info> {
    /// Closes the emptied escrow; or, while rewards are still owed on it (a market's vault
    /// may be unable to pay at this moment), keeps it open, marked as left (cooling down
    /// to `now`), so they stay claimable: `withdraw_stake` closes it once they are.
    /// Getting a stake back never waits on a market.
    pub fn close_escrow_when_settled(&self, now: i64) -> Result<()> {
        {
            let mut escrow = self.escrow.load_mut()?;
            if escrow.has_unclaimed_rewards() {
                if !escrow.is_cooling_down() {
                    escrow.cooldown_end = now;
                }
                return Ok(());
            }
        }
        self.escrow.close(self.owner.to_account_info())
    }

    /// The stake must be locked, not cooling down, and its lock must still run.
    pub fn require_running_lock(&self, now: i64) -> Result<()> {
        let escrow = self.escrow.load()?;
        require!(!escrow.is_cooling_down(), BallastError::UnstakePending);
        require_gt!(escrow.lock_end, now, BallastError::LockEnded);
        Ok(())
    }
}

impl<'info> StakePool<'info> {
    /// Fails with `InstructionPaused` while `gate` is paused.
    pub fn require_open(&self, gate: u64, now: i64) -> Result<()> {
        self.protocol.load()?.require_open(gate, now)
    }

    /// Accrues every reward stream to `now` and mints due emissions into the reward vault.
    pub fn accrue(&self, now: i64) -> Result<()> {
        let (emitted, total_emitted) = {
            let mut protocol = self.protocol.load_mut()?;
            staking::accrue(&mut protocol, now)?;
            (staking::take_unminted(&mut protocol)?, protocol.total_emitted)
        };
        if emitted > 0 {
            let cpi = MintTo {
                mint: self.native_mint.to_account_info(),
                to: self.reward_vault.to_account_info(),
                authority: self.protocol.to_account_info(),
            };
            self.signed(|signer| {
                token::mint_to(CpiContext::new_with_signer(self.token_program.key(), cpi, signer), emitted)
            })?;
            emit!(EmissionsMinted { amount: emitted, total_emitted });
        }
        Ok(())
    }

    /// Moves `amount` from `from` (authority `owner`) into the stake vault.
    pub fn lock(&self, from: &Account<'info, TokenAccount>, owner: &Signer<'info>, amount: u64) -> Result<()> {
        let cpi = Transfer {
            from: from.to_account_info(),
            to: self.stake_vault.to_account_info(),
            authority: owner.to_account_info(),
        };
        token::transfer(CpiContext::new(self.token_program.key(), cpi), amount)
    }

    /// Pays `amount` out of `vault` (one of the pool's vaults) to `to`, signed by the protocol.
    pub fn pay(
        &self,
        vault: &Account<'info, TokenAccount>,
        to: &Account<'info, TokenAccount>,
        amount: u64,
    ) -> Result<()> {
        let cpi = Transfer {
            from: vault.to_account_info(),
            to: to.to_account_info(),
            authority: self.protocol.to_account_info(),
        };
        self.signed(|signer| {
            token::transfer(CpiContext::new_with_signer(self.token_program.key(), cpi, signer), amount)
        })
    }

    /// Burns `amount` of staked tokens (the early-exit penalty).
    pub fn burn_staked(&self, amount: u64) -> Result<()> {
        let cpi = Burn {
            mint: self.native_mint.to_account_info(),
            from: self.stake_vault.to_account_info(),
            authority: self.protocol.to_account_info(),
        };
        self.signed(|signer| token::burn(CpiContext::new_with_signer(self.token_program.key(), cpi, signer), amount))
    }

    fn signed<T>(&self, f: impl FnOnce(&[&[&[u8]]]) -> Result<T>) -> Result<T> {
        let bump = self.protocol.load()?.bump;
        f(&[&[PROTOCOL_SEED, &[bump]]])
    }
}
