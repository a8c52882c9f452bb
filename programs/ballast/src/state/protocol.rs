use anchor_lang::prelude::*;

/// The protocol's root account (PDA `["protocol"]`): who governs, and the native token.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Protocol {
    /// Governance key (a multisig vault in production). Lists markets, sets parameters.
    pub admin: Pubkey,
    /// Proposed next admin during a two-step transfer; default when none.
    pub pending_admin: Pubkey,
    /// Key allowed only to tighten (trip breakers); default when none.
    pub guardian: Pubkey,
    /// The native token whose value Ballast protects.
    pub native_mint: Pubkey,
    /// Markets listed so far; the next market gets this index.
    pub market_count: u16,
    pub bump: u8,
    pub _padding: [u8; 5],
    /// Room for later state without a migration.
    pub _reserved: [u64; 32],
}

pub const PROTOCOL_SIZE: usize = 8 + 4 * 32 + 8 + 32 * 8;
const _: () = assert!(8 + core::mem::size_of::<Protocol>() == PROTOCOL_SIZE);
const _: () = assert!(PROTOCOL_SIZE == 400);
