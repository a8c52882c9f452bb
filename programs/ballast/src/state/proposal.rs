use anchor_lang::prelude::*;

use crate::governance::GovernanceAction;

/// Where a proposal stands.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposalStatus {
    /// Waiting for its delay, or ready to execute until it expires.
    Queued,
    Executed,
    Cancelled,
}

/// A governance change waiting in the timelock (PDA `["proposal", protocol, id u64 LE]`).
/// Anyone can read what is queued, when it becomes executable and until when. Kept after
/// execution or cancellation as a record (its status says which).
#[account]
#[derive(Debug, PartialEq, Eq)]
pub struct Proposal {
    /// At byte 8, for getProgramAccounts filters.
    pub protocol: Pubkey,
    /// The protocol's proposal counter when proposed.
    pub id: u64,
    /// The admin who proposed it.
    pub proposer: Pubkey,
    pub status: ProposalStatus,
    pub bump: u8,
    pub proposed_at: i64,
    /// The timelock in force when proposed (a later change of the timelock does not
    /// move this proposal's window).
    pub delay_secs: u32,
    pub grace_secs: u32,
    /// Executable from `ready_at` to `expires_at`, both included.
    pub ready_at: i64,
    pub expires_at: i64,
    /// When it was executed or cancelled (0 while queued).
    pub closed_at: i64,
    /// The change, at byte 122 (its variant byte) for filters.
    pub action: GovernanceAction,
    /// The same action holding the values in force when proposed: execution refuses
    /// (`ProposalStale`) if they changed since, so a later change is never overwritten
    /// by values nobody re-reviewed.
    pub base: GovernanceAction,
}

pub const PROPOSAL_SIZE: usize = 8 + 32 + 8 + 32 + 1 + 1 + 8 + 4 + 4 + 8 + 8 + 8 + 2 * GovernanceAction::MAX_LEN;
/// Byte offset of `action` (its variant byte).
pub const PROPOSAL_ACTION_OFFSET: usize = 8 + 32 + 8 + 32 + 1 + 1 + 8 + 4 + 4 + 8 + 8 + 8;
