//! One instruction per file, grouped by who calls it.

pub mod admin;
pub mod keeper;
pub mod trader;
