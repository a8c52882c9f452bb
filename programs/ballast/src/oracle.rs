//! Reads a market's (or the native token's) Pyth feed in the format its `OracleSource`
//! declares: PriceUpdateV2 accounts with pyth-solana-receiver-sdk's own type, legacy
//! price accounts with pyth-sdk-solana's. Off-chain tools call [`parse_oracle`] on bytes
//! fetched over RPC, so they read exactly what the program reads.

use anchor_lang::prelude::*;
use ballast_risk::oracle::OracleReading;
use pyth_sdk_solana::state::load_price_account;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::constants::{PYTH_PROGRAM_ID, PYTH_RECEIVER_PROGRAM_ID};
use crate::errors::BallastError;
use crate::state::{OracleKind, OracleSource};

/// The latest price in `info`, which must be `source`'s pinned account.
pub fn read_oracle(info: &AccountInfo, source: &OracleSource) -> Result<OracleReading> {
    require_keys_eq!(*info.key, source.address, BallastError::WrongOracle);
    parse_oracle(source, info.owner, &info.try_borrow_data()?)
}

/// Reads a feed about to be written into the protocol (initialisation, listing,
/// replacement): `source` must also pass [`OracleSource::validate_for_listing`].
pub fn read_new_oracle(info: &AccountInfo, source: &OracleSource) -> Result<OracleReading> {
    source.validate_for_listing()?;
    read_oracle(info, source)
}

/// Parses the raw bytes of `source`'s account, owned by `owner`. Checks the owner, the
/// layout and (PriceUpdateV2) the feed id and the verification level; the price's age,
/// confidence and sign are judged per action by `ballast_risk::oracle::validate`.
pub fn parse_oracle(source: &OracleSource, owner: &Pubkey, data: &[u8]) -> Result<OracleReading> {
    source.validate()?;
    match source.kind()? {
        OracleKind::PythPriceUpdateV2 => parse_price_update_v2(&source.feed_id, owner, data),
        OracleKind::PythLegacy => parse_legacy(&source.address, owner, data),
    }
}

fn parse_price_update_v2(feed_id: &[u8; 32], owner: &Pubkey, data: &[u8]) -> Result<OracleReading> {
    require_keys_eq!(*owner, PYTH_RECEIVER_PROGRAM_ID, BallastError::OracleWrongOwner);
    // Checks the Anchor discriminator, then the Borsh layout.
    let update =
        PriceUpdateV2::try_deserialize(&mut &data[..]).map_err(|_| error!(BallastError::InvalidOracleAccount))?;
    let message = &update.price_message;
    require!(message.feed_id == *feed_id, BallastError::OracleFeedIdMismatch);
    // A partially verified update needs fewer Wormhole guardians to collude.
    require!(update.verification_level == VerificationLevel::Full, BallastError::OraclePartiallyVerified);
    Ok(OracleReading {
        price: message.price,
        conf: message.conf,
        ema_price: message.ema_price,
        expo: message.exponent,
        publish_time: message.publish_time,
    })
}

fn parse_legacy(key: &Pubkey, owner: &Pubkey, data: &[u8]) -> Result<OracleReading> {
    require_keys_eq!(*owner, PYTH_PROGRAM_ID, BallastError::OracleWrongOwner);
    let account = load_price_account::<32, ()>(data).map_err(|_| error!(BallastError::InvalidOracleAccount))?;
    // pyth-sdk-solana is built on solana-program 2.x: its Pubkey is a different type.
    let key = pyth_solana_program::pubkey::Pubkey::new_from_array(key.to_bytes());
    let feed = account.to_price_feed(&key);
    let price = feed.get_price_unchecked();
    let ema = feed.get_ema_price_unchecked();
    Ok(OracleReading {
        price: price.price,
        conf: price.conf,
        ema_price: ema.price,
        expo: price.expo,
        publish_time: price.publish_time,
    })
}
