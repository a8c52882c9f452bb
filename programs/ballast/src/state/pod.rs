//! 128-bit integers stored as little-endian bytes.
//!
//! `u128` is 16-byte aligned on x86_64 but 8-byte aligned on SBF, so a zero-copy
//! struct holding one would have a different layout on the host than on chain.
//! Byte arrays keep every account's layout identical everywhere.

use anchor_lang::prelude::*;

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct PodU128 {
    pub bytes: [u8; 16],
}

impl PodU128 {
    pub fn get(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }
    pub fn set(&mut self, v: u128) {
        self.bytes = v.to_le_bytes();
    }
}

impl From<u128> for PodU128 {
    fn from(v: u128) -> Self {
        PodU128 { bytes: v.to_le_bytes() }
    }
}

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct PodI128 {
    pub bytes: [u8; 16],
}

impl PodI128 {
    pub fn get(&self) -> i128 {
        i128::from_le_bytes(self.bytes)
    }
    pub fn set(&mut self, v: i128) {
        self.bytes = v.to_le_bytes();
    }
}
