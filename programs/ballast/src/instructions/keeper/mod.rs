//! Permissionless cranks run by keeper bots (and `execute_change`, which anyone may send
//! once a proposal is ready).

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod buyback;
pub mod execute_change;
pub mod liquidate;
pub mod poke_stake;
pub mod refresh_market;
pub mod resolve_bad_debt;
pub mod sweep_fees;
pub mod update_volatility;

pub use buyback::*;
pub use execute_change::*;
pub use liquidate::*;
pub use poke_stake::*;
pub use refresh_market::*;
pub use resolve_bad_debt::*;
pub use sweep_fees::*;
pub use update_volatility::*;
