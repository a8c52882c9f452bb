//! The Ballast keeper. Its decision logic ([`scan`]) has no network in it: decode
//! accounts, compute health with the program's own code, rank unhealthy accounts by
//! shortfall and size each liquidation; [`buyback`] plans fills of the buyback auction
//! the same way, [`volatility`], [`sweep`] and [`poke`] decide when to crank
//! `update_volatility`, `sweep_fees` and `poke_stake`, [`feeds`] judges every feed's age for `/healthz`. [`bot`] wraps them
//! in a real RPC client.

pub mod bot;
pub mod buyback;
pub mod config;
pub mod feeds;
pub mod fees;
pub mod metrics;
pub mod poke;
pub mod scan;
pub mod sweep;
pub mod volatility;
