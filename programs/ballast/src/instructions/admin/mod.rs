//! Instructions signed by the governance admin (a multisig vault in production).

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod add_market;
pub mod initialize_protocol;
pub mod set_gates;
pub mod set_guardian;

pub use add_market::*;
pub use initialize_protocol::*;
pub use set_gates::*;
pub use set_guardian::*;
