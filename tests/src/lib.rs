//! Shared helpers live in ballast-sim::runtime.
