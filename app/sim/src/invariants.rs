//! The books that must balance whatever happens: every market's vault holds what its
//! depositors are owed net of what its borrowers owe, plus the protocol's pools; the
//! native token's supply is the genesis supply plus emissions minus burns; the stake
//! vault holds exactly what is staked.

use ballast_risk::shares::{debt_amount, deposit_amount};

use crate::runtime::{Runtime, NATIVE_GENESIS_SUPPLY};

/// One market's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketBooks {
    pub deposits: u128,
    pub borrows: u128,
    /// Protocol fees, insurance fund, buyback pool and staker pool.
    pub pools: u128,
    pub vault: u128,
}

impl MarketBooks {
    /// What the vault must hold at least: depositors' claims net of the borrowers'
    /// debts (which are owed to the vault), plus the pools.
    pub fn owed(&self) -> u128 {
        self.deposits.saturating_sub(self.borrows).saturating_add(self.pools)
    }

    pub fn balanced(&self) -> bool {
        self.vault >= self.owed()
    }
}

/// Every listed market's books, in listing order.
pub async fn market_books(rt: &mut Runtime) -> Vec<(crate::runtime::MarketHandle, MarketBooks)> {
    let mut out = Vec::new();
    for handle in rt.markets.clone() {
        let market = rt.market(&handle.key).await;
        let pools = [market.accrued_protocol_fees, market.insurance_fund, market.buyback_pool, market.staker_pool];
        let books = MarketBooks {
            // Unrepresentable amounts count as infinitely owed (deposits) / nothing (borrows),
            // so an overflow shows up as a break, never as slack.
            deposits: deposit_amount(market.total_deposit_shares.get(), market.deposit_index.get())
                .unwrap_or(u128::MAX),
            borrows: debt_amount(market.total_borrow_shares.get(), market.borrow_index.get()).unwrap_or(0),
            pools: pools.iter().map(|p| u128::from(*p)).sum(),
            vault: u128::from(rt.token_balance(&handle.vault).await),
        };
        out.push((handle, books));
    }
    out
}

/// Every invariant that does not hold, described; empty when the books balance.
/// `names` labels the markets in listing order.
pub async fn violations(rt: &mut Runtime, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (_, books)) in market_books(rt).await.iter().enumerate() {
        if !books.balanced() {
            let name = names.get(i).copied().unwrap_or("?");
            out.push(format!("{name} vault holds {} but its books need {} ({books:?})", books.vault, books.owed()));
        }
    }
    let protocol = rt.protocol().await;
    let supply = u128::from(rt.mint_supply(&protocol.native_mint).await);
    // Compared as supply + burned = genesis + emitted: no subtraction to underflow.
    if supply + u128::from(protocol.total_burned)
        != u128::from(NATIVE_GENESIS_SUPPLY) + u128::from(protocol.total_emitted)
    {
        out.push(format!(
            "native supply {supply} != genesis {NATIVE_GENESIS_SUPPLY} + emitted {} - burned {}",
            protocol.total_emitted, protocol.total_burned
        ));
    }
    let staked = rt.token_balance(&protocol.stake_vault).await;
    if staked != protocol.total_staked {
        out.push(format!("stake vault holds {staked} but {} is staked", protocol.total_staked));
    }
    out
}
