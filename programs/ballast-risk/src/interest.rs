//! Kinked interest-rate curve and index accrual.
//!
//! Borrowers' debt grows through the borrow index; depositors earn through the deposit
//! index; the protocol takes a governance share of the interest into its fee pool.
//! Tokens never appear or vanish: interest added to debt equals depositors' gain plus
//! the protocol fee, with rounding dust left in the vault (the protocol's favour).

use crate::fixed::{apply_bps, mul_div, Rounding, BPS, SECONDS_PER_YEAR, WAD};
use crate::shares::{debt_amount, deposit_amount};
use crate::{RiskError, RiskResult};

/// Annual borrow rate as a function of utilisation: linear from `base` to `optimal`
/// up to the kink, then linear from `optimal` to `max` at full utilisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCurve {
    pub optimal_utilization_bps: u32,
    pub base_rate_bps: u32,
    pub optimal_rate_bps: u32,
    pub max_rate_bps: u32,
}

/// A market's share totals and indices (WAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketIndices {
    pub deposit_index: u128,
    pub borrow_index: u128,
    pub total_deposit_shares: u128,
    pub total_borrow_shares: u128,
}

impl MarketIndices {
    /// Tokens owed to depositors in total (rounded down).
    pub fn total_deposits(&self) -> RiskResult<u128> {
        deposit_amount(self.total_deposit_shares, self.deposit_index)
    }

    /// Tokens owed by borrowers in total (rounded up).
    pub fn total_borrows(&self) -> RiskResult<u128> {
        debt_amount(self.total_borrow_shares, self.borrow_index)
    }
}

/// The result of accruing interest over some seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accrual {
    pub deposit_index: u128,
    pub borrow_index: u128,
    /// Interest added to all debt, in WAD-scaled tokens.
    pub interest_wad: u128,
    /// Whole tokens credited to the protocol's fee pool.
    pub protocol_fee: u128,
}

/// Borrowed share of deposits, in WAD, capped at 1.0 (0 with no deposits).
pub fn utilization_wad(total_deposits: u128, total_borrows: u128) -> RiskResult<u128> {
    if total_deposits == 0 {
        return Ok(if total_borrows == 0 { 0 } else { WAD });
    }
    Ok(mul_div(total_borrows, WAD, total_deposits, Rounding::Up)?.min(WAD))
}

/// Annual borrow rate in WAD at utilisation `util_wad` (rounded up: borrowers pay).
pub fn borrow_rate_wad(curve: &RateCurve, util_wad: u128) -> RiskResult<u128> {
    let bps_to_wad = |bps: u32| u128::from(bps) * (WAD / BPS);
    let optimal_util = bps_to_wad(curve.optimal_utilization_bps);
    let (base, optimal, max) =
        (bps_to_wad(curve.base_rate_bps), bps_to_wad(curve.optimal_rate_bps), bps_to_wad(curve.max_rate_bps));
    let util = util_wad.min(WAD);
    if util <= optimal_util {
        let slope = optimal.checked_sub(base).ok_or(RiskError::MathOverflow)?;
        Ok(base + mul_div(slope, util, optimal_util, Rounding::Up)?)
    } else {
        let slope = max.checked_sub(optimal).ok_or(RiskError::MathOverflow)?;
        let span = WAD - optimal_util;
        Ok(optimal + mul_div(slope, util - optimal_util, span, Rounding::Up)?)
    }
}

/// Most seconds of interest one accrual counts (Mango v4's bound). A market nobody
/// touched for longer, or a chain that halted, comes back without a jump in the indices
/// that could make accounts liquidatable at once; keepers refresh markets far more often.
pub const MAX_ACCRUAL_SECS: u64 = 3_600;

/// Seconds of interest an accrual `since_last` seconds after the previous one counts.
pub fn accrual_secs(since_last: u64) -> u64 {
    since_last.min(MAX_ACCRUAL_SECS)
}

/// Accrues `elapsed_secs` of interest at the market's current utilisation.
pub fn accrue(
    market: &MarketIndices,
    curve: &RateCurve,
    protocol_fee_bps: u32,
    elapsed_secs: u64,
) -> RiskResult<Accrual> {
    let unchanged = Accrual {
        deposit_index: market.deposit_index,
        borrow_index: market.borrow_index,
        interest_wad: 0,
        protocol_fee: 0,
    };
    if elapsed_secs == 0 || market.total_borrow_shares == 0 {
        return Ok(unchanged);
    }
    let util = utilization_wad(market.total_deposits()?, market.total_borrows()?)?;
    let rate = borrow_rate_wad(curve, util)?;
    // borrow_index * rate * elapsed / year, rounded up (borrowers pay).
    let per_year = mul_div(market.borrow_index, rate, WAD, Rounding::Up)?;
    let growth = mul_div(per_year, u128::from(elapsed_secs), SECONDS_PER_YEAR, Rounding::Up)?;
    let borrow_index = market.borrow_index.checked_add(growth).ok_or(RiskError::MathOverflow)?;
    let interest_wad = market.total_borrow_shares.checked_mul(growth).ok_or(RiskError::MathOverflow)?;

    let fee_wad = apply_bps(interest_wad, u128::from(protocol_fee_bps), Rounding::Down)?;
    let mut protocol_fee = fee_wad / WAD;
    let to_depositors = interest_wad - protocol_fee * WAD;
    let deposit_index = match to_depositors.checked_div(market.total_deposit_shares) {
        Some(gain) => market.deposit_index.checked_add(gain).ok_or(RiskError::MathOverflow)?,
        None => {
            // Nobody to pay: all interest is the protocol's.
            protocol_fee = interest_wad / WAD;
            market.deposit_index
        }
    };
    Ok(Accrual { deposit_index, borrow_index, interest_wad, protocol_fee })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn curve() -> RateCurve {
        RateCurve { optimal_utilization_bps: 8_000, base_rate_bps: 0, optimal_rate_bps: 1_000, max_rate_bps: 10_000 }
    }

    fn market(deposits: u128, borrows: u128) -> MarketIndices {
        MarketIndices {
            deposit_index: WAD,
            borrow_index: WAD,
            total_deposit_shares: deposits,
            total_borrow_shares: borrows,
        }
    }

    #[test]
    fn a_long_gap_accrues_at_most_an_hour() {
        assert_eq!(accrual_secs(59), 59);
        assert_eq!(accrual_secs(MAX_ACCRUAL_SECS), 3_600);
        assert_eq!(accrual_secs(30 * 86_400), 3_600);
        assert_eq!(accrual_secs(u64::MAX), 3_600);
    }

    #[test]
    fn curve_hits_its_kink_points() {
        let c = curve();
        assert_eq!(borrow_rate_wad(&c, 0), Ok(0));
        assert_eq!(borrow_rate_wad(&c, WAD * 8 / 10), Ok(WAD / 10));
        assert_eq!(borrow_rate_wad(&c, WAD), Ok(WAD));
        assert_eq!(borrow_rate_wad(&c, WAD * 9 / 10), Ok(WAD / 10 + WAD * 45 / 100));
    }

    #[test]
    fn one_year_at_the_kink_charges_ten_percent() {
        let m = market(1_000_000, 800_000);
        let a = accrue(&m, &curve(), 1_000, SECONDS_PER_YEAR as u64).unwrap();
        assert_eq!(a.borrow_index, WAD + WAD / 10);
        // 80_000 tokens of interest, 10% of it to the protocol.
        assert_eq!(a.interest_wad, 80_000 * WAD);
        assert_eq!(a.protocol_fee, 8_000);
        // 72_000 over 1_000_000 shares = 0.072.
        assert_eq!(a.deposit_index, WAD + WAD * 72 / 1_000);
    }

    #[test]
    fn no_borrows_or_no_time_accrues_nothing() {
        let a = accrue(&market(1_000, 0), &curve(), 1_000, 1_000).unwrap();
        assert_eq!((a.deposit_index, a.borrow_index, a.protocol_fee), (WAD, WAD, 0));
        let a = accrue(&market(1_000, 500), &curve(), 1_000, 0).unwrap();
        assert_eq!(a.interest_wad, 0);
    }

    proptest! {
        #[test]
        fn accrual_conserves_tokens_and_never_shrinks_debt(
            deposits in 1u128..1_000_000_000_000_000,
            borrow_pct in 0u128..=100,
            fee_bps in 0u32..=5_000,
            elapsed in 0u64..(10 * SECONDS_PER_YEAR as u64),
        ) {
            let m = market(deposits, deposits * borrow_pct / 100);
            let a = accrue(&m, &curve(), fee_bps, elapsed).unwrap();
            prop_assert!(a.borrow_index >= m.borrow_index);
            prop_assert!(a.deposit_index >= m.deposit_index);
            // What depositors gain plus the fee never exceeds what borrowers pay.
            let depositor_gain = (a.deposit_index - m.deposit_index) * m.total_deposit_shares;
            prop_assert!(depositor_gain + a.protocol_fee * WAD <= a.interest_wad);
            let debt_before = m.total_borrows().unwrap();
            let after = MarketIndices { borrow_index: a.borrow_index, ..m };
            prop_assert!(after.total_borrows().unwrap() >= debt_before);
        }

        #[test]
        fn rate_is_monotone_in_utilization(u1 in 0u128..=WAD, u2 in 0u128..=WAD) {
            let (lo, hi) = if u1 <= u2 { (u1, u2) } else { (u2, u1) };
            prop_assert!(borrow_rate_wad(&curve(), lo).unwrap() <= borrow_rate_wad(&curve(), hi).unwrap());
        }

        #[test]
        fn extreme_inputs_error_instead_of_panicking(di: u128, bi: u128, tds: u128, tbs: u128, fee in 0u32..=10_000, elapsed: u64) {
            let m = MarketIndices { deposit_index: di, borrow_index: bi, total_deposit_shares: tds, total_borrow_shares: tbs };
            let _ = accrue(&m, &curve(), fee, elapsed);
        }
    }

    proptest! {
        #[test]
        fn debt_never_falls_over_any_sequence_of_accruals(
            deposits in 1u128..1_000_000_000_000_000,
            borrow_pct in 1u128..=100,
            steps in proptest::collection::vec(0u64..(SECONDS_PER_YEAR as u64), 1..20),
        ) {
            let mut m = market(deposits, deposits * borrow_pct / 100);
            let mut debt = m.total_borrows().unwrap();
            let mut deposit_value = m.total_deposits().unwrap();
            for elapsed in steps {
                let a = accrue(&m, &curve(), 1_000, elapsed).unwrap();
                m = MarketIndices { deposit_index: a.deposit_index, borrow_index: a.borrow_index, ..m };
                let (d, v) = (m.total_borrows().unwrap(), m.total_deposits().unwrap());
                prop_assert!(d >= debt && v >= deposit_value);
                (debt, deposit_value) = (d, v);
            }
        }
    }
}
