//! Zero-copy accounts. Every size is asserted at compile time.

pub mod margin_account;
pub mod market;
pub mod pod;
pub mod protocol;
pub mod stake_escrow;

pub use margin_account::*;
pub use market::*;
pub use pod::*;
pub use protocol::*;
pub use stake_escrow::*;
