//! Zero-copy accounts. Every size is asserted at compile time.

pub mod margin_account;
pub mod market;
pub mod pod;
pub mod protocol;

pub use margin_account::*;
pub use market::*;
pub use pod::*;
pub use protocol::*;
