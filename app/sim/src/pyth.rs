//! Pyth price accounts as Pyth lays them out on Solana: `PriceUpdateV2` accounts of the
//! receiver program, built with pyth-solana-receiver-sdk's own type, and legacy price
//! accounts, built with pyth-sdk-solana's.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use ballast::{OracleKind, OracleSource};
use pyth_sdk_solana::state::{AccountType, PriceStatus, PriceType, SolanaPriceAccount, MAGIC, VERSION_2};
pub use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

/// What a feed publishes, in its own units (`mantissa * 10^expo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythPrice {
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub expo: i32,
    pub publish_time: i64,
    pub trading: bool,
}

impl PythPrice {
    /// A trading feed with EMA equal to the price and conf at 0.1% of it.
    pub fn steady(price: i64, expo: i32, publish_time: i64) -> Self {
        PythPrice { price, conf: (price / 1_000).unsigned_abs(), ema_price: price, expo, publish_time, trading: true }
    }
}

/// Owner and raw bytes of `source`'s account publishing `p`, in its kind's format.
pub fn feed_account(source: &OracleSource, p: &PythPrice) -> (Pubkey, Vec<u8>) {
    match source.kind().expect("a known oracle kind") {
        OracleKind::PythPriceUpdateV2 => (ballast::PYTH_RECEIVER_PROGRAM_ID, price_update_bytes(source.feed_id, p)),
        OracleKind::PythLegacy => (ballast::PYTH_PROGRAM_ID, price_account_bytes(p)),
    }
}

/// Raw bytes of the shard-0 push feed of `feed_id` holding `p`, fully verified: what a
/// price pusher keeps there.
pub fn price_update_bytes(feed_id: [u8; 32], p: &PythPrice) -> Vec<u8> {
    price_update_bytes_verified(feed_id, p, VerificationLevel::Full)
}

/// The same with any verification level. The account has the receiver's fixed size
/// (`PriceUpdateV2::LEN`); a `Full` update leaves its last byte unused, as on chain.
pub fn price_update_bytes_verified(feed_id: [u8; 32], p: &PythPrice, verification_level: VerificationLevel) -> Vec<u8> {
    // A halted feed publishes nothing: its last update stays an hour old.
    let publish_time = if p.trading { p.publish_time } else { p.publish_time - 3_600 };
    let update = PriceUpdateV2 {
        // The push oracle posts through the feed's own PDA, its write authority (Ballast
        // does not read it).
        write_authority: ballast::push_feed_address(0, &feed_id),
        verification_level,
        price_message: PriceFeedMessage {
            feed_id,
            price: p.price,
            conf: p.conf,
            exponent: p.expo,
            publish_time,
            prev_publish_time: publish_time - 1,
            ema_price: p.ema_price,
            ema_conf: p.conf,
        },
        posted_slot: 0,
    };
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update.try_serialize(&mut data).expect("PriceUpdateV2 serialises");
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

/// Raw bytes of a legacy Pyth price account publishing `p`.
pub fn price_account_bytes(p: &PythPrice) -> Vec<u8> {
    let mut acc: SolanaPriceAccount = bytemuck::Zeroable::zeroed();
    acc.magic = MAGIC;
    acc.ver = VERSION_2;
    acc.atype = AccountType::Price as u32;
    acc.size = std::mem::size_of::<SolanaPriceAccount>() as u32;
    acc.ptype = PriceType::Price;
    acc.expo = p.expo;
    acc.num = 1;
    acc.num_qt = 1;
    acc.timestamp = p.publish_time;
    acc.agg.price = p.price;
    acc.agg.conf = p.conf;
    acc.agg.status = if p.trading { PriceStatus::Trading } else { PriceStatus::Unknown };
    acc.ema_price.val = p.ema_price;
    acc.ema_conf.val = p.conf as i64;
    // A halted feed falls back to its previous price and time: keep them stale on purpose.
    acc.prev_price = p.price;
    acc.prev_conf = p.conf;
    acc.prev_timestamp = if p.trading { p.publish_time } else { p.publish_time - 3_600 };
    bytemuck::bytes_of(&acc).to_vec()
}
