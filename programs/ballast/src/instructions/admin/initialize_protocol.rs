use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_lang::solana_program::program_option::COption;
use anchor_spl::token::{Mint, Token, TokenAccount};
use ballast_risk::oracle::MAX_DECIMALS;

use crate::constants::{PROTOCOL_SEED, REWARD_VAULT_SEED, STAKE_VAULT_SEED};
use crate::errors::BallastError;
use crate::events::ProtocolInitialized;
use crate::oracle::read_new_oracle;
use crate::state::{OracleSource, Protocol, ProtocolConfig, PROTOCOL_SIZE};

#[derive(Accounts)]
pub struct InitializeProtocol<'info> {
    /// Becomes the protocol admin; must be the program's upgrade authority so that
    /// nobody can front-run the deployer and take the protocol.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = PROTOCOL_SIZE, seeds = [PROTOCOL_SEED], bump)]
    pub protocol: AccountLoader<'info, Protocol>,
    pub native_mint: Box<Account<'info, Mint>>,
    /// CHECK: must be `native_oracle.address`, a feed of its declared kind; checked in
    /// the handler.
    pub native_oracle: UncheckedAccount<'info>,
    #[account(
        init,
        payer = admin,
        seeds = [STAKE_VAULT_SEED, protocol.key().as_ref()],
        bump,
        token::mint = native_mint,
        token::authority = protocol,
    )]
    pub stake_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [REWARD_VAULT_SEED, protocol.key().as_ref()],
        bump,
        token::mint = native_mint,
        token::authority = protocol,
    )]
    pub reward_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key()) @ BallastError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitializeProtocol>, config: ProtocolConfig, native_oracle: OracleSource) -> Result<()> {
    config.validate()?;
    let mint = &ctx.accounts.native_mint;
    require_gte!(MAX_DECIMALS, mint.decimals, BallastError::UnsupportedMint);
    // Emissions are minted by the protocol PDA: without the authority they would fail later.
    require!(
        !config.emits() || mint.mint_authority == COption::Some(ctx.accounts.protocol.key()),
        BallastError::EmissionAuthority
    );
    read_new_oracle(&ctx.accounts.native_oracle, &native_oracle)?;

    let now = Clock::get()?.unix_timestamp;
    let mut protocol = ctx.accounts.protocol.load_init()?;
    protocol.admin = ctx.accounts.admin.key();
    protocol.native_mint = mint.key();
    protocol.native_oracle = native_oracle;
    protocol.stake_vault = ctx.accounts.stake_vault.key();
    protocol.reward_vault = ctx.accounts.reward_vault.key();
    protocol.config = config;
    protocol.last_emission_ts = now;
    for stream in protocol.reward_streams.iter_mut() {
        stream.last_update = now;
    }
    protocol.bump = ctx.bumps.protocol;
    protocol.stake_vault_bump = ctx.bumps.stake_vault;
    protocol.reward_vault_bump = ctx.bumps.reward_vault;
    emit!(ProtocolInitialized {
        protocol: ctx.accounts.protocol.key(),
        admin: protocol.admin,
        native_mint: protocol.native_mint,
        native_oracle: protocol.native_oracle,
    });
    Ok(())
}
