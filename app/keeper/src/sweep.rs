//! Sweeping fees: `sweep_fees` splits a market's accrued protocol fees into its
//! insurance fund, buyback pool and staker stream. It is permissionless and the buyback
//! auction only has what was swept to sell, so the keeper sends it on a timer. No
//! network here: the bot fetches, this decides.

use anchor_lang::solana_program::instruction::Instruction;
use ballast_client::ix;

use crate::scan::MarketSnapshot;

/// Protocol fees of `market` a sweep at `now` would split: those accrued, plus those
/// its interest accrual up to `now` adds.
pub fn sweepable(market: &MarketSnapshot, now: i64) -> u128 {
    let accruing = market.market.accrual_at(now).map_or(0, |a| a.protocol_fee);
    u128::from(market.market.accrued_protocol_fees) + accruing
}

/// The `sweep_fees` instructions worth sending at `now`: one per market with fees to
/// split (a market with none would fail the transaction with `NothingToSweep`).
pub fn plan_sweeps(markets: &[MarketSnapshot], now: i64) -> Vec<Instruction> {
    markets.iter().filter(|m| sweepable(m, now) > 0).map(|m| ix::sweep_fees(m.key)).collect()
}

/// When the next pass of a timed crank (sweeps, pokes) is due, `every_secs` after the
/// last (at once before the first).
pub fn next_pass_at(last_pass: Option<i64>, every_secs: u64) -> i64 {
    last_pass.map_or(i64::MIN, |last| last.saturating_add(i64::try_from(every_secs).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;
    use ballast::{Market, MarketConfig};
    use ballast_risk::oracle::OracleReading;
    use ballast_risk::WAD;

    const NOW: i64 = 1_750_000_000;

    /// A market last accrued at `NOW - since`, with `accrued` fees and, when `borrowed`,
    /// half of its deposits lent out (so interest and fees accrue with time).
    fn market(accrued: u64, borrowed: bool, since: i64) -> MarketSnapshot {
        let mut m: Market = bytemuck::Zeroable::zeroed();
        m.config = MarketConfig::conservative(u64::MAX, u64::MAX);
        m.deposit_index = WAD.into();
        m.borrow_index = WAD.into();
        m.total_deposit_shares = 2_000_000_000u128.into();
        m.total_borrow_shares = if borrowed { 1_000_000_000u128.into() } else { 0u128.into() };
        m.accrued_protocol_fees = accrued;
        m.last_accrual_ts = NOW - since;
        let reading =
            OracleReading { price: 100_000_000, conf: 0, ema_price: 100_000_000, expo: -8, publish_time: NOW };
        MarketSnapshot { key: Pubkey::new_unique(), market: m, reading }
    }

    #[test]
    fn sweeps_markets_with_fees_accrued_or_accruing_only() {
        let accrued = market(5, false, 0);
        let accruing = market(0, true, 86_400);
        let idle = market(0, false, 86_400);
        let just_accrued = market(0, true, 0);
        assert_eq!(sweepable(&accrued, NOW), 5);
        assert!(sweepable(&accruing, NOW) > 0);
        assert_eq!(sweepable(&idle, NOW), 0);
        assert_eq!(sweepable(&just_accrued, NOW), 0);
        let planned = plan_sweeps(&[accrued, idle, accruing, just_accrued], NOW);
        let targets: Vec<Pubkey> = planned.iter().map(|ix| ix.accounts[1].pubkey).collect();
        assert_eq!(targets, vec![accrued.key, accruing.key]);
        assert_eq!(planned[0], ix::sweep_fees(accrued.key));
    }

    #[test]
    fn the_first_sweep_is_due_at_once_then_every_interval() {
        assert_eq!(next_pass_at(None, 3_600), i64::MIN);
        assert_eq!(next_pass_at(Some(NOW), 3_600), NOW + 3_600);
        assert_eq!(next_pass_at(Some(NOW), u64::MAX), i64::MAX);
    }
}
