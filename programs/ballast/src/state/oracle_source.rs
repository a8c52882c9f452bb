use anchor_lang::prelude::*;

use crate::constants::PYTH_PUSH_ORACLE_PROGRAM_ID;
use crate::errors::BallastError;

/// The Pyth formats Ballast reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OracleKind {
    /// A `PriceUpdateV2` account of the Pyth Solana Receiver program: the format Pyth
    /// publishes on Solana today (push-feed PDAs kept fresh by a price pusher).
    PythPriceUpdateV2 = 1,
    /// A legacy Pyth price account (no longer updated on mainnet since 2024; kept for
    /// legacy-format feeds and older deployments).
    PythLegacy = 2,
}

impl OracleKind {
    pub fn from_u8(kind: u8) -> Result<OracleKind> {
        match kind {
            1 => Ok(OracleKind::PythPriceUpdateV2),
            2 => Ok(OracleKind::PythLegacy),
            _ => err!(BallastError::UnknownOracleKind),
        }
    }
}

/// Where a price comes from: the format, the pinned account and, for PriceUpdateV2, the
/// Pyth feed id the account must carry. A PriceUpdateV2 source must be the push feed of
/// its feed id (the push-oracle PDA of `shard_id`): its updates only ever move forward,
/// so nobody can pick the most favourable of several signed updates (see SECURITY.md).
/// Zero-copy inside `Market` and `Protocol`, Borsh in governance actions.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct OracleSource {
    /// The price account read: a PriceUpdateV2 account (usually a push-feed PDA) or a
    /// legacy price account.
    pub address: Pubkey,
    /// Pyth feed id (PriceUpdateV2); all zero for a legacy account, which has none.
    pub feed_id: [u8; 32],
    /// Push-feed shard (PriceUpdateV2; Pyth sponsors the common feeds on shard 0).
    pub shard_id: u16,
    /// `OracleKind` as its byte.
    pub kind: u8,
    pub _padding: [u8; 5],
}

const _: () = assert!(core::mem::size_of::<OracleSource>() == 72);

impl OracleSource {
    /// The push feed of `feed_id` on `shard_id`.
    pub fn push_feed(shard_id: u16, feed_id: [u8; 32]) -> OracleSource {
        OracleSource {
            address: push_feed_address(shard_id, &feed_id),
            feed_id,
            shard_id,
            kind: OracleKind::PythPriceUpdateV2 as u8,
            _padding: [0; 5],
        }
    }

    pub fn legacy(address: Pubkey) -> OracleSource {
        OracleSource { address, feed_id: [0; 32], shard_id: 0, kind: OracleKind::PythLegacy as u8, _padding: [0; 5] }
    }

    pub fn kind(&self) -> Result<OracleKind> {
        OracleKind::from_u8(self.kind)
    }

    /// A known kind; a PriceUpdateV2 source names a feed id, a legacy one neither feed
    /// id nor shard. Cheap: checked on every read.
    pub fn validate(&self) -> Result<()> {
        let has_feed_id = self.feed_id != [0; 32];
        match self.kind()? {
            OracleKind::PythPriceUpdateV2 => require!(has_feed_id, BallastError::InvalidOracleSource),
            OracleKind::PythLegacy => require!(!has_feed_id && self.shard_id == 0, BallastError::InvalidOracleSource),
        }
        require!(self._padding == [0; 5], BallastError::InvalidOracleSource);
        Ok(())
    }

    /// [`OracleSource::validate`], and a PriceUpdateV2 address must be the push feed of
    /// its shard and feed id. Checked when a source is written (listing, replacement,
    /// initialisation): a PDA search costs too much for every read.
    pub fn validate_for_listing(&self) -> Result<()> {
        self.validate()?;
        if self.kind()? == OracleKind::PythPriceUpdateV2 {
            let expected = push_feed_address(self.shard_id, &self.feed_id);
            require_keys_eq!(self.address, expected, BallastError::OracleNotPushFeed);
        }
        Ok(())
    }
}

/// A Pyth feed id as `0x` and 64 hex digits, as Pyth lists them.
pub struct FeedIdHex<'a>(pub &'a [u8; 32]);

impl core::fmt::Display for FeedIdHex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// `PriceUpdateV2 feed 0x… (shard 0) at <address>` or `legacy Pyth account <address>`.
impl core::fmt::Display for OracleSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match OracleKind::from_u8(self.kind) {
            Ok(OracleKind::PythPriceUpdateV2) => {
                write!(
                    f,
                    "PriceUpdateV2 feed {} (shard {}) at {}",
                    FeedIdHex(&self.feed_id),
                    self.shard_id,
                    self.address
                )
            }
            Ok(OracleKind::PythLegacy) => write!(f, "legacy Pyth account {}", self.address),
            Err(_) => write!(f, "unknown oracle kind {} at {}", self.kind, self.address),
        }
    }
}

/// The Pyth push-oracle PDA `[shard_id (u16 LE), feed_id]` that a price pusher keeps fresh.
pub fn push_feed_address(shard_id: u16, feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[&shard_id.to_le_bytes(), feed_id], &PYTH_PUSH_ORACLE_PROGRAM_ID).0
}
