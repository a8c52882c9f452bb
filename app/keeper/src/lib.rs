//! The keeper's decision logic, with no network in it: decode Ballast accounts from
//! raw bytes (zero-copy), compute health with the program's own code, rank unhealthy
//! accounts by shortfall and size each liquidation. The bot, the simulator and the
//! tests all call it, so a keeper never disagrees with the chain about health.

pub mod scan;
