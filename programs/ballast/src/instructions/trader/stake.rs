use anchor_lang::prelude::*;
use anchor_spl::token::TokenAccount;
use ballast_risk::gates;

use super::stake_accounts::*;
use crate::constants::{REWARD_STREAMS, STAKE_ESCROW_SEED};
use crate::errors::BallastError;
use crate::events::StakeChangeKind;
use crate::staking;
use crate::state::{StakeEscrow, STAKE_ESCROW_SIZE};

#[derive(Accounts)]
pub struct Stake<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub pool: StakePool<'info>,
    #[account(
        init,
        payer = owner,
        space = STAKE_ESCROW_SIZE,
        seeds = [STAKE_ESCROW_SEED, pool.protocol.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub escrow: AccountLoader<'info, StakeEscrow>,
    #[account(mut, constraint = owner_native.mint == pool.native_mint.key() @ BallastError::WrongMint)]
    pub owner_native: Box<Account<'info, TokenAccount>>,
    pub system_program: Program<'info, System>,
}

/// Locks `amount` native tokens for `lock_secs` in a new escrow, weighing
/// `amount * (1 + boost * lock_secs / max_lock)` from now, decaying as the lock runs
/// down. The escrow starts level with every stream's accumulator, so it earns only from
/// now on.
pub fn handler(ctx: Context<Stake>, amount: u64, lock_secs: u32) -> Result<()> {
    require_gt!(amount, 0, BallastError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool = &ctx.accounts.pool;
    pool.require_open(gates::STAKE, now)?;
    pool.accrue(now)?;
    pool.lock(&ctx.accounts.owner_native, &ctx.accounts.owner, amount)?;

    let mut protocol = pool.protocol.load_mut()?;
    staking::check_lock(&protocol, lock_secs)?;
    let mut escrow = ctx.accounts.escrow.load_init()?;
    escrow.owner = ctx.accounts.owner.key();
    escrow.protocol = pool.protocol.key();
    escrow.bump = ctx.bumps.escrow;
    escrow.lock_start = now;
    escrow.lock_end = now + i64::from(lock_secs);
    for stream in 0..REWARD_STREAMS {
        escrow.reward_debt[stream] = protocol.reward_streams[stream].acc_per_weight;
    }
    staking::restake(&mut escrow, &mut protocol, amount, now)?;
    super::emit_stake_changed(&ctx.accounts.escrow.key(), &escrow, &protocol, StakeChangeKind::Stake, amount, 0);
    Ok(())
}
