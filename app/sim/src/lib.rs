//! Drives the real Ballast program in-process: the embedded runtime, instruction
//! builders, Pyth feeds, and the scenarios the `sim` binary runs.

pub mod keeper;
pub mod pyth;
pub mod runtime;
pub mod scenario;

/// Instruction builders live in `ballast-client`; re-exported for tests and scenarios.
pub use ballast_client::ix;
