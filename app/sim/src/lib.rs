//! Drives the real Ballast program in-process: the embedded runtime, Pyth feeds,
//! keeper agents, the stress simulation the `sim` binary runs (price paths, agents,
//! invariants, report) and the price-pump attackers it reports on.

pub mod agents;
pub mod attack;
pub mod batch;
pub mod invariants;
pub mod keeper;
pub mod paths;
pub mod pyth;
pub mod report;
pub mod rng;
pub mod runtime;
pub mod stress;
pub mod sweep;

/// Instruction builders live in `ballast-client`; re-exported for tests and scenarios.
pub use ballast_client::{health_accounts, ix};
