//! Account health: weighted collateral minus weighted debt, in WAD quote value.
//!
//! `init` health (stricter weights) gates new risk: a borrow or withdrawal must leave it
//! non-negative. `maint` health (looser weights) below zero makes an account
//! liquidatable. Assets are valued at the conservative asset price and rounded down;
//! debt at the conservative liability price and rounded up. Initial health has prices
//! of its own: the market's stable price bounds them ([`crate::stable_price`]).

use crate::fixed::{apply_bps, to_i128, Rounding};
use crate::oracle::{value_of, ValuationPrices};
use crate::{RiskError, RiskResult};

/// Collateral and liability weights of one market, in bps (10_000 = 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub init_asset_bps: u32,
    pub maint_asset_bps: u32,
    pub init_liability_bps: u32,
    pub maint_liability_bps: u32,
}

/// One balance of an account, already converted to token amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPosition {
    pub deposit: u128,
    pub borrow: u128,
    /// Prices for maintenance health (the oracle's).
    pub prices: ValuationPrices,
    /// Prices for initial health (bounded by the stable price).
    pub init_prices: ValuationPrices,
    pub weights: Weights,
}

/// Weighted totals of an account; health = assets - liabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    pub init_assets: u128,
    pub init_liabilities: u128,
    pub maint_assets: u128,
    pub maint_liabilities: u128,
}

impl Health {
    /// Health of an account holding `positions`.
    pub fn of(positions: impl IntoIterator<Item = HealthPosition>) -> RiskResult<Health> {
        let mut health = Health::default();
        for position in positions {
            health.add(&position)?;
        }
        Ok(health)
    }

    /// Adds one position's weighted values.
    pub fn add(&mut self, p: &HealthPosition) -> RiskResult<()> {
        let asset_value = value_of(p.deposit, p.prices.asset)?;
        let debt_value = value_of(p.borrow, p.prices.liability)?;
        let init_asset_value = value_of(p.deposit, p.init_prices.asset)?;
        let init_debt_value = value_of(p.borrow, p.init_prices.liability)?;
        let w = &p.weights;
        let add = |total: u128, value: u128, bps: u32, rounding| -> RiskResult<u128> {
            total.checked_add(apply_bps(value, u128::from(bps), rounding)?).ok_or(RiskError::MathOverflow)
        };
        self.init_assets = add(self.init_assets, init_asset_value, w.init_asset_bps, Rounding::Down)?;
        self.maint_assets = add(self.maint_assets, asset_value, w.maint_asset_bps, Rounding::Down)?;
        self.init_liabilities = add(self.init_liabilities, init_debt_value, w.init_liability_bps, Rounding::Up)?;
        self.maint_liabilities = add(self.maint_liabilities, debt_value, w.maint_liability_bps, Rounding::Up)?;
        Ok(())
    }

    /// Initial health: must stay >= 0 after any risk-increasing action.
    pub fn init(&self) -> RiskResult<i128> {
        Ok(to_i128(self.init_assets)? - to_i128(self.init_liabilities)?)
    }

    /// Maintenance health: below 0 the account may be liquidated.
    pub fn maint(&self) -> RiskResult<i128> {
        Ok(to_i128(self.maint_assets)? - to_i128(self.maint_liabilities)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::WAD;
    use proptest::prelude::*;

    const WEIGHTS: Weights = Weights {
        init_asset_bps: 8_000,
        maint_asset_bps: 9_000,
        init_liability_bps: 12_000,
        maint_liability_bps: 11_000,
    };

    fn at(price_wad: u128) -> ValuationPrices {
        ValuationPrices { asset: price_wad, liability: price_wad }
    }

    #[test]
    fn weights_apply_to_each_side() {
        // 100 units of $1 collateral, 50 units of $1 debt.
        let h = Health::of([
            HealthPosition { deposit: 100, borrow: 0, prices: at(WAD), init_prices: at(WAD), weights: WEIGHTS },
            HealthPosition { deposit: 0, borrow: 50, prices: at(WAD), init_prices: at(WAD), weights: WEIGHTS },
        ])
        .unwrap();
        assert_eq!(h.init().unwrap(), (80 - 60) * WAD as i128);
        assert_eq!(h.maint().unwrap(), (90 - 55) * WAD as i128);
    }

    #[test]
    fn empty_account_is_exactly_healthy() {
        let h = Health::of([]).unwrap();
        assert_eq!((h.init(), h.maint()), (Ok(0), Ok(0)));
    }

    #[test]
    fn overflow_is_an_error() {
        let p = HealthPosition {
            deposit: u128::MAX,
            borrow: 0,
            prices: at(u128::MAX),
            init_prices: at(u128::MAX),
            weights: WEIGHTS,
        };
        assert_eq!(Health::of([p]), Err(RiskError::MathOverflow));
    }

    proptest! {
        #[test]
        fn health_is_monotone_in_price_for_a_long_only_account(
            deposits in proptest::collection::vec(0u128..(u64::MAX as u128), 1..8),
            p1 in 0u128..WAD, p2 in 0u128..WAD,
        ) {
            let (lo, hi) = if p1 <= p2 { (p1, p2) } else { (p2, p1) };
            let health_at = |price| Health::of(deposits.iter().map(|&d| HealthPosition {
                deposit: d, borrow: 0, prices: at(price), init_prices: at(price), weights: WEIGHTS,
            })).unwrap();
            let (a, b) = (health_at(lo), health_at(hi));
            prop_assert!(a.init().unwrap() <= b.init().unwrap());
            prop_assert!(a.maint().unwrap() <= b.maint().unwrap());
        }

        #[test]
        fn init_health_is_never_above_maint(deposit in 0u128..(u64::MAX as u128), borrow in 0u128..(u64::MAX as u128), price in 1u128..WAD) {
            let h = Health::of([HealthPosition { deposit, borrow, prices: at(price), init_prices: at(price), weights: WEIGHTS }]).unwrap();
            prop_assert!(h.init().unwrap() <= h.maint().unwrap());
        }

        #[test]
        fn more_collateral_never_lowers_health(deposit in 0u128..(u64::MAX as u128 / 2), extra in 0u128..(u64::MAX as u128 / 2), borrow in 0u128..(u64::MAX as u128), price in 1u128..WAD) {
            let h = |d| Health::of([HealthPosition { deposit: d, borrow, prices: at(price), init_prices: at(price), weights: WEIGHTS }]).unwrap().init().unwrap();
            prop_assert!(h(deposit) <= h(deposit + extra));
        }

        #[test]
        fn extreme_inputs_error_instead_of_panicking(deposit: u128, borrow: u128, asset: u128, liability: u128, w: [u32; 4]) {
            let weights = Weights { init_asset_bps: w[0], maint_asset_bps: w[1], init_liability_bps: w[2], maint_liability_bps: w[3] };
            if let Ok(h) = Health::of([HealthPosition { deposit, borrow, prices: ValuationPrices { asset, liability }, init_prices: ValuationPrices { asset, liability }, weights }]) {
                let _ = h.init();
                let _ = h.maint();
            }
        }
    }

    /// `a` is at most as healthy as `b` on both measures.
    fn no_healthier(a: &Health, b: &Health) -> bool {
        a.init().unwrap() <= b.init().unwrap() && a.maint().unwrap() <= b.maint().unwrap()
    }

    proptest! {
        #[test]
        fn dearer_debt_never_raises_health(
            deposit in 0u128..(u64::MAX as u128), borrow in 0u128..(u64::MAX as u128),
            asset in 1u128..WAD, l1 in 1u128..WAD, l2 in 1u128..WAD,
        ) {
            let h = |liability| {
                Health::of([HealthPosition { deposit, borrow, prices: ValuationPrices { asset, liability }, init_prices: ValuationPrices { asset, liability }, weights: WEIGHTS }])
                    .unwrap()
            };
            prop_assert!(no_healthier(&h(l1.max(l2)), &h(l1.min(l2))));
        }

        #[test]
        fn dearer_collateral_never_lowers_health_of_a_borrower(
            collateral in 0u128..(u64::MAX as u128), debt in 0u128..(u64::MAX as u128),
            p1 in 1u128..WAD, p2 in 1u128..WAD, debt_price in 1u128..WAD,
        ) {
            let h = |price| {
                Health::of([
                    HealthPosition { deposit: collateral, borrow: 0, prices: at(price), init_prices: at(price), weights: WEIGHTS },
                    HealthPosition { deposit: 0, borrow: debt, prices: at(debt_price), init_prices: at(debt_price), weights: WEIGHTS },
                ])
                .unwrap()
            };
            prop_assert!(no_healthier(&h(p1.min(p2)), &h(p1.max(p2))));
        }

        #[test]
        fn health_never_exceeds_the_exact_weighted_value(deposit in 0u128..1_000_000_000_000_000, borrow in 0u128..1_000_000_000_000_000, price in 1u128..WAD) {
            // Rounding favours the protocol: assets round down, debts up.
            let h = Health::of([HealthPosition { deposit, borrow, prices: at(price), init_prices: at(price), weights: WEIGHTS }]).unwrap();
            let exact_x_bps = (deposit * price * 8_000) as i128 - (borrow * price * 12_000) as i128;
            prop_assert!(h.init().unwrap() * 10_000 <= exact_x_bps);
        }
    }
}
