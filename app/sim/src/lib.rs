//! Drives the real Ballast program in-process: the embedded runtime, instruction
//! builders, Pyth feeds, and the scenarios the `sim` binary runs.

pub mod ix;
pub mod keeper;
pub mod pyth;
pub mod runtime;
pub mod scenario;
