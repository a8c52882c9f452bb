//! The operator CLI's library: config files and the transaction plans built from them, kept
//! apart from the network code in `main.rs` so they are unit-tested without a cluster.
//! One module per command family: `deploy`, `governance`, `lookup_table`, `show`.

pub mod config;
pub mod deploy;
pub mod governance;
pub mod lookup_table;
pub mod show;
