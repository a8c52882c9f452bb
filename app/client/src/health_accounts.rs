//! The health accounts of an instruction: the (market, oracle) pair of every balance a
//! margin account holds after it, in slot order, as the program reads them
//! (`price_markets`: one pair per active balance). A balance the instruction opens takes
//! the first free slot, as `MarginAccount::find_or_open_balance` does; one it empties
//! drops out. The one Rust implementation for the keeper, the CLI and the simulation;
//! the TS client's `healthPairs` matches it, checked by the shared vectors.

use anchor_lang::prelude::Pubkey;
use ballast::MarginAccount;

/// A listed market as health accounts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketKeys {
    pub index: u16,
    pub market: Pubkey,
    pub oracle: Pubkey,
}

/// How an instruction changes the set of balances its health check prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceChange {
    None,
    /// The instruction opens a balance in this market (if not held yet).
    Opens(Pubkey),
    /// The instruction empties and frees the balance in this market.
    Closes(Pubkey),
}

/// A market the account holds or opens that is not among the listed markets given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownMarket {
    Index(u16),
    Key(Pubkey),
}

/// The (market, oracle) pairs a health check of `account` reads after `change`, in
/// slot order.
pub fn health_pairs(
    account: &MarginAccount,
    markets: &[MarketKeys],
    change: BalanceChange,
) -> Result<Vec<(Pubkey, Pubkey)>, UnknownMarket> {
    let by_index = |i: u16| markets.iter().find(|m| m.index == i).copied().ok_or(UnknownMarket::Index(i));
    let mut slots = account
        .balances
        .iter()
        .map(|b| if b.active != 0 { by_index(b.market_index).map(Some) } else { Ok(None) })
        .collect::<Result<Vec<Option<MarketKeys>>, _>>()?;
    match change {
        BalanceChange::None => {}
        BalanceChange::Opens(key) => {
            let market = markets.iter().find(|m| m.market == key).copied().ok_or(UnknownMarket::Key(key))?;
            if !slots.iter().flatten().any(|m| m.market == key) {
                if let Some(free) = slots.iter_mut().find(|s| s.is_none()) {
                    *free = Some(market);
                }
            }
        }
        BalanceChange::Closes(key) => {
            slots.iter_mut().filter(|s| s.is_some_and(|m| m.market == key)).for_each(|s| *s = None)
        }
    }
    Ok(slots.into_iter().flatten().map(|m| (m.market, m.oracle)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast::Balance;

    fn market(index: u16) -> MarketKeys {
        MarketKeys { index, market: Pubkey::new_unique(), oracle: Pubkey::new_unique() }
    }

    /// An account holding balances in `held` (slot, market index).
    fn account(held: &[(usize, u16)]) -> MarginAccount {
        let mut a: MarginAccount = bytemuck::Zeroable::zeroed();
        for &(slot, index) in held {
            a.balances[slot] = Balance { market_index: index, active: 1, ..Balance::default() };
            a.balances[slot].deposit_shares.set(1);
        }
        a
    }

    #[test]
    fn pairs_follow_the_slots_the_program_reads() {
        let m: Vec<MarketKeys> = (0..4).map(market).collect();
        let pair = |i: usize| (m[i].market, m[i].oracle);
        // Market 2 in slot 0, market 0 in slot 2, slot 1 free.
        let a = account(&[(0, 2), (2, 0)]);
        assert_eq!(health_pairs(&a, &m, BalanceChange::None), Ok(vec![pair(2), pair(0)]));
        // A new balance takes the first free slot, between the two.
        assert_eq!(health_pairs(&a, &m, BalanceChange::Opens(m[3].market)), Ok(vec![pair(2), pair(3), pair(0)]));
        // Opening a market already held changes nothing; closing drops it.
        assert_eq!(health_pairs(&a, &m, BalanceChange::Opens(m[0].market)), Ok(vec![pair(2), pair(0)]));
        assert_eq!(health_pairs(&a, &m, BalanceChange::Closes(m[2].market)), Ok(vec![pair(0)]));
        // Unknown markets are named.
        assert_eq!(health_pairs(&a, &m[..2], BalanceChange::None), Err(UnknownMarket::Index(2)));
        let stranger = Pubkey::new_unique();
        assert_eq!(health_pairs(&a, &m, BalanceChange::Opens(stranger)), Err(UnknownMarket::Key(stranger)));
    }
}
