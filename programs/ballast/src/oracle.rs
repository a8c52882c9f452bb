//! Reads legacy Pyth price accounts with pyth-sdk-solana's own layout.

use anchor_lang::prelude::*;
use ballast_risk::oracle::OracleReading;
use pyth_sdk_solana::state::load_price_account;

use crate::constants::PYTH_PROGRAM_ID;
use crate::errors::BallastError;

/// The latest price in `info`, which must be the feed `expected` and owned by Pyth.
pub fn read_pyth(info: &AccountInfo, expected: &Pubkey) -> Result<OracleReading> {
    require_keys_eq!(*info.key, *expected, BallastError::WrongOracle);
    read_pyth_unchecked_key(info)
}

/// Reads any Pyth-owned price account (used when listing a market's feed).
pub fn read_pyth_unchecked_key(info: &AccountInfo) -> Result<OracleReading> {
    parse_pyth(info.key, info.owner, &info.try_borrow_data()?)
}

/// Parses the raw bytes of a legacy Pyth price account owned by `owner`; off-chain
/// tools call this on bytes fetched over RPC.
pub fn parse_pyth(key: &Pubkey, owner: &Pubkey, data: &[u8]) -> Result<OracleReading> {
    require_keys_eq!(*owner, PYTH_PROGRAM_ID, BallastError::InvalidOracleAccount);
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
