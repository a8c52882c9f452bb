//! Legacy Pyth price accounts, built with pyth-sdk-solana's own account type.

use pyth_sdk_solana::state::{AccountType, PriceStatus, PriceType, SolanaPriceAccount, MAGIC, VERSION_2};

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
