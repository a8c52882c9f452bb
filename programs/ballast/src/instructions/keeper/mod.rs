//! Permissionless cranks run by keeper bots.

pub mod refresh_market;

pub use refresh_market::*;
