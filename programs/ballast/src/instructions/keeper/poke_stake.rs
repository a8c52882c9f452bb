use anchor_lang::prelude::*;

use crate::errors::BallastError;
use crate::instructions::trader::checkpoint_escrow;
use crate::staking;
use crate::state::{Protocol, StakeEscrow};

#[derive(Accounts)]
pub struct PokeStake<'info> {
    #[account(mut)]
    pub protocol: AccountLoader<'info, Protocol>,
    #[account(mut, has_one = protocol @ BallastError::WrongProtocol)]
    pub escrow: AccountLoader<'info, StakeEscrow>,
}

/// Checkpoints an escrow's decaying weight (anyone may call it; keepers crank it): its
/// rewards are settled at the stored weight, then the weight is brought down to where
/// its lock now stands, and the protocol's total with it. Between checkpoints an escrow
/// earns on its stored weight, so the poke interval bounds every staker's reward error
/// (`ballast_risk::staking::reward_error_bound_bps`). Emissions credited here are minted
/// by the next staking instruction.
pub fn handler(ctx: Context<PokeStake>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    staking::accrue(&mut protocol, now)?;
    let mut escrow = ctx.accounts.escrow.load_mut()?;
    checkpoint_escrow(&ctx.accounts.escrow.key(), &mut escrow, &mut protocol, now)
}
