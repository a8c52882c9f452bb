//! Instructions of the guardian's time-boxed breaker (see `ballast_risk::guardian`).

#![allow(ambiguous_glob_reexports)] // each module has its own `handler`

pub mod guardian_trip;
pub mod resume;

pub use guardian_trip::*;
pub use resume::*;
