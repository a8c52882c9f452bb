//! Drives the real Ballast program in-process: the embedded runtime, Pyth feeds,
//! keeper agents, and the stress simulation the `sim` binary runs (price paths, agents,
//! invariants, report).

pub mod agents;
pub mod invariants;
pub mod keeper;
pub mod paths;
pub mod pyth;
pub mod report;
pub mod rng;
pub mod runtime;
pub mod stress;

/// Instruction builders live in `ballast-client`; re-exported for tests and scenarios.
pub use ballast_client::ix;
