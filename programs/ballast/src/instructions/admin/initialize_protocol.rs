use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token::Mint;

use crate::constants::PROTOCOL_SEED;
use crate::errors::BallastError;
use crate::events::ProtocolInitialized;
use crate::state::{Protocol, PROTOCOL_SIZE};

#[derive(Accounts)]
pub struct InitializeProtocol<'info> {
    /// Becomes the protocol admin; must be the program's upgrade authority so that
    /// nobody can front-run the deployer and take the protocol.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = PROTOCOL_SIZE, seeds = [PROTOCOL_SEED], bump)]
    pub protocol: AccountLoader<'info, Protocol>,
    pub native_mint: Account<'info, Mint>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key()) @ BallastError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeProtocol>) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_init()?;
    protocol.admin = ctx.accounts.admin.key();
    protocol.native_mint = ctx.accounts.native_mint.key();
    protocol.bump = ctx.bumps.protocol;
    emit!(ProtocolInitialized {
        protocol: ctx.accounts.protocol.key(),
        admin: protocol.admin,
        native_mint: protocol.native_mint,
    });
    Ok(())
}
