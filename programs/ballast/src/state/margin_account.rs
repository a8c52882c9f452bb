use anchor_lang::prelude::*;

use super::pod::{PodI128, PodU128};
use crate::constants::MAX_BALANCES;

/// One market position of a margin account: either a deposit or a borrow, never both.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Balance {
    pub deposit_shares: PodU128,
    pub borrow_shares: PodU128,
    pub market_index: u16,
    /// 1 while the slot is in use.
    pub active: u8,
    pub _padding: [u8; 5],
}

/// A trader's cross-margined account (PDA `["margin", protocol, owner, account_id]`).
#[account(zero_copy)]
#[derive(Debug)]
pub struct MarginAccount {
    /// At byte 8, for getProgramAccounts filters.
    pub owner: Pubkey,
    /// At byte 40, for getProgramAccounts filters.
    pub protocol: Pubkey,
    /// Initial health (WAD quote value) computed by the program at `health_updated_at`.
    pub cached_init_health: PodI128,
    /// Maintenance health (WAD quote value) computed by the program at `health_updated_at`.
    pub cached_maint_health: PodI128,
    pub health_updated_at: i64,
    pub account_id: u32,
    pub bump: u8,
    pub _padding: [u8; 3],
    pub balances: [Balance; MAX_BALANCES],
    /// Room for later state without a migration.
    pub _reserved: [u64; 8],
}

pub const MARGIN_ACCOUNT_SIZE: usize = 8 + 2 * 32 + 2 * 16 + 8 + 4 + 1 + 3 + MAX_BALANCES * 40 + 8 * 8;
const _: () = assert!(core::mem::size_of::<Balance>() == 40);
const _: () = assert!(8 + core::mem::size_of::<MarginAccount>() == MARGIN_ACCOUNT_SIZE);
const _: () = assert!(MARGIN_ACCOUNT_SIZE == 504);

impl MarginAccount {
    pub fn active_balances(&self) -> impl Iterator<Item = &Balance> {
        self.balances.iter().filter(|b| b.active != 0)
    }

    pub fn find_balance_mut(&mut self, market_index: u16) -> Option<&mut Balance> {
        self.balances.iter_mut().find(|b| b.active != 0 && b.market_index == market_index)
    }

    /// The balance for `market_index`, opening a free slot if there is none.
    pub fn find_or_open_balance(&mut self, market_index: u16) -> Option<&mut Balance> {
        let slot = self
            .balances
            .iter()
            .position(|b| b.active != 0 && b.market_index == market_index)
            .or_else(|| self.balances.iter().position(|b| b.active == 0))?;
        let balance = &mut self.balances[slot];
        if balance.active == 0 {
            *balance = Balance { market_index, active: 1, ..Balance::default() };
        }
        Some(balance)
    }

    pub fn is_empty(&self) -> bool {
        self.active_balances().next().is_none()
    }
}

impl Balance {
    /// Frees the slot once both sides are zero.
    pub fn close_if_empty(&mut self) {
        if self.deposit_shares.get() == 0 && self.borrow_shares.get() == 0 {
            *self = Balance::default();
        }
    }
}
