//! Accounts: zero-copy (every size asserted at compile time), and the Borsh `Proposal`.

pub mod margin_account;
pub mod market;
pub mod oracle_source;
pub mod pod;
pub mod proposal;
pub mod protocol;
pub mod stake_escrow;

pub use margin_account::*;
pub use market::*;
pub use oracle_source::*;
pub use pod::*;
pub use proposal::*;
pub use protocol::*;
pub use stake_escrow::*;
