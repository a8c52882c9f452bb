//! Liquidation sizing and bad-debt resolution.
//!
//! A liquidator repays `r` tokens of an unhealthy account's debt and receives the
//! account's collateral worth `r * (1 + bonus + fee)` at oracle prices; it pays the
//! insurance fee, `r * fee` in the liability's own token, into the liability market's
//! insurance fund. So the fee lands in the fund that insures the very debt it was taken
//! on: a market's bad debt is covered by the fees of liquidations of that market's
//! debt, whatever collateral backed it. The liquidator nets the bonus, as before. The
//! repayment is capped so that the account's initial health is brought back to zero
//! and not beyond (unless the position is dust or cannot be restored at all).

use crate::fixed::{mul_div, Rounding, BPS, WAD};
use crate::{RiskError, RiskResult};

/// The two balances a liquidation touches, with everything needed to price them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationInput {
    /// Initial health of the account before liquidation (WAD value, negative).
    pub init_health: i128,
    /// Tokens owed in the liability market.
    pub debt: u128,
    /// Tokens deposited in the asset market.
    pub collateral: u128,
    /// Oracle (mid) prices per base unit, WAD: the exchange rate of the liquidation.
    pub liability_mid_price: u128,
    pub asset_mid_price: u128,
    /// Conservative prices per base unit used by the health computation, WAD.
    pub liability_health_price: u128,
    pub asset_health_price: u128,
    pub liability_init_weight_bps: u32,
    pub asset_init_weight_bps: u32,
    pub bonus_bps: u32,
    pub insurance_fee_bps: u32,
    /// Debt worth less than this (WAD value) after a liquidation may be closed out.
    pub dust_value: u128,
}

/// Token amounts of one liquidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiquidationQuote {
    /// Liability tokens repaid on the account's debt.
    pub repay: u128,
    /// Asset tokens taken from the account to the liquidator (repay value plus the
    /// bonus and the fee).
    pub seized: u128,
    /// Liability tokens the liquidator pays on top of `repay` into the liability
    /// market's insurance fund (`repay * fee`, rounded up).
    pub insurance_fee: u128,
}

/// The insurance fee on a repayment of `repay` liability tokens, rounded up (the
/// liquidator pays it).
pub fn insurance_fee_on(repay: u128, insurance_fee_bps: u32) -> RiskResult<u128> {
    mul_div(repay, u128::from(insurance_fee_bps), BPS, Rounding::Up)
}

/// Largest repayment whose insurance fee still fits with it in `max_pay` tokens.
fn repay_within(max_pay: u128, insurance_fee_bps: u32) -> RiskResult<u128> {
    let repay = mul_div(max_pay, BPS, BPS + u128::from(insurance_fee_bps), Rounding::Down)?;
    // The fee rounds up: one unit less may be needed to stay within `max_pay`.
    if repay + insurance_fee_on(repay, insurance_fee_bps)? > max_pay {
        return Ok(repay - 1);
    }
    Ok(repay)
}

/// Asset tokens worth `repay` liability tokens scaled by `bps`, rounded down.
fn asset_tokens_for(repay: u128, input: &LiquidationInput, bps: u128) -> RiskResult<u128> {
    let value = mul_div(repay, input.liability_mid_price, 1, Rounding::Down)?;
    let scaled = mul_div(value, bps, BPS, Rounding::Down)?;
    mul_div(scaled, 1, input.asset_mid_price, Rounding::Down)
}

/// Most liability tokens whose repayment lifts initial health to zero, or `None` when
/// liquidation cannot restore health (the bonus and fee cost more health than the
/// repayment gives back).
pub fn repay_to_restore(input: &LiquidationInput) -> RiskResult<Option<u128>> {
    if input.init_health >= 0 {
        return Ok(Some(0));
    }
    let total_bps = BPS + u128::from(input.bonus_bps) + u128::from(input.insurance_fee_bps);
    // Health regained per liability token repaid.
    let gain = mul_div(input.liability_health_price, u128::from(input.liability_init_weight_bps), BPS, Rounding::Down)?;
    // Health lost per liability token repaid: the collateral that leaves, at its health price.
    let seized_per_token = mul_div(input.liability_mid_price, total_bps, BPS, Rounding::Up)?;
    let weighted_asset = mul_div(input.asset_health_price, u128::from(input.asset_init_weight_bps), BPS, Rounding::Up)?;
    let loss = mul_div(seized_per_token, weighted_asset, input.asset_mid_price, Rounding::Up)?;
    if gain <= loss {
        return Ok(None);
    }
    // Share conversions round against the account on both sides: one unit of debt may
    // stay uncleared (costing `gain`) and one unit of collateral more may be burned.
    let rounding_margin = gain + weighted_asset;
    let shortfall = input.init_health.unsigned_abs() + rounding_margin;
    Ok(Some(mul_div(shortfall, 1, gain - loss, Rounding::Up)?))
}

/// Sizes a liquidation in which the liquidator pays at most `max_pay` liability tokens
/// (repayment and insurance fee).
pub fn quote(input: &LiquidationInput, max_pay: u128) -> RiskResult<LiquidationQuote> {
    if input.asset_mid_price == 0 || input.liability_mid_price == 0 {
        return Err(RiskError::DivideByZero);
    }
    let mut repay = repay_within(max_pay, input.insurance_fee_bps)?.min(input.debt);
    if let Some(restore) = repay_to_restore(input)? {
        // Dust: if what would remain is worth less than the threshold, close it out.
        let remaining_value = mul_div(input.debt - repay.min(restore), input.liability_mid_price, 1, Rounding::Up)?;
        if remaining_value >= input.dust_value {
            repay = repay.min(restore);
        }
    }
    let total_bps = BPS + u128::from(input.bonus_bps) + u128::from(input.insurance_fee_bps);
    let mut seized = asset_tokens_for(repay, input, total_bps)?;
    if seized >= input.collateral {
        // The collateral runs out first: repay what it covers and take all of it, so
        // no dust collateral is left to block bad-debt resolution.
        let collateral_value = mul_div(input.collateral, input.asset_mid_price, 1, Rounding::Down)?;
        let repay_value = mul_div(collateral_value, BPS, total_bps, Rounding::Down)?;
        repay = mul_div(repay_value, 1, input.liability_mid_price, Rounding::Down)?;
        seized = input.collateral;
    }
    let insurance_fee = insurance_fee_on(repay, input.insurance_fee_bps)?;
    Ok(LiquidationQuote { repay, seized, insurance_fee })
}

/// How a market absorbs debt that no collateral backs any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadDebtResolution {
    /// Tokens the insurance fund pays.
    pub covered_by_insurance: u128,
    /// Tokens depositors lose through a lower deposit index.
    pub socialized: u128,
    pub new_deposit_index: u128,
}

/// The deposit index never falls below this (one WAD unit per share): a market whose
/// depositors lost everything keeps a non-zero index, so share conversions never divide
/// by zero and new deposits still work. What the floor leaves on the books is at most
/// one base unit per 10^18 shares.
pub const MIN_DEPOSIT_INDEX: u128 = 1;

/// Insurance first, then a cut to the deposit index (rounded so depositors absorb at
/// least the whole loss, floored at [`MIN_DEPOSIT_INDEX`]).
pub fn resolve_bad_debt(
    debt: u128,
    insurance_fund: u128,
    total_deposit_shares: u128,
    deposit_index: u128,
) -> RiskResult<BadDebtResolution> {
    let covered_by_insurance = debt.min(insurance_fund);
    let socialized = debt - covered_by_insurance;
    let new_deposit_index = if socialized == 0 || total_deposit_shares == 0 {
        deposit_index
    } else {
        let cut = mul_div(socialized, WAD, total_deposit_shares, Rounding::Up)?;
        deposit_index.saturating_sub(cut).max(MIN_DEPOSIT_INDEX)
    };
    Ok(BadDebtResolution { covered_by_insurance, socialized, new_deposit_index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SOL collateral at $100 per 1e9 units, USDC debt at $1 per 1e6 units.
    const SOL_UNIT: u128 = 100 * WAD / 1_000_000_000;
    const USDC_UNIT: u128 = WAD / 1_000_000;

    fn input(init_health: i128, debt: u128, collateral: u128) -> LiquidationInput {
        LiquidationInput {
            init_health,
            debt,
            collateral,
            liability_mid_price: USDC_UNIT,
            asset_mid_price: SOL_UNIT,
            liability_health_price: USDC_UNIT,
            asset_health_price: SOL_UNIT,
            liability_init_weight_bps: 12_000,
            asset_init_weight_bps: 8_000,
            bonus_bps: 500,
            insurance_fee_bps: 100,
            dust_value: WAD,
        }
    }

    #[test]
    fn repays_exactly_enough_to_restore_initial_health() {
        // 10 SOL ($800 init), 700 USDC debt ($840 init): health -40.
        let i = input(-40 * WAD as i128, 700_000_000, 10_000_000_000);
        // Per USDC repaid: +1.2 health, -1.06 * 0.8 = -0.848: 40 / 0.352 = 113.63.. USDC.
        let q = quote(&i, u128::MAX).unwrap();
        // (40 + 1.2e-6 + 8e-8 of rounding margin) / 0.352, rounded up.
        assert_eq!(q.repay, 113_636_368);
        // 113.636368 USDC * 1.06 / $100 per SOL, rounded down.
        assert_eq!(q.seized, 1_204_545_500);
        // 1% of the repayment in USDC, rounded up.
        assert_eq!(q.insurance_fee, 1_136_364);
        // Health afterwards is back at zero (within one unit of rounding).
        let after =
            -40 * WAD as i128 + (q.repay * USDC_UNIT * 12 / 10) as i128 - (q.seized * SOL_UNIT * 8 / 10) as i128;
        assert!((0..(2 * USDC_UNIT) as i128).contains(&after), "{after}");
    }

    #[test]
    fn caller_may_repay_less_but_never_more_than_the_debt() {
        let i = input(-40 * WAD as i128, 700_000_000, 10_000_000_000);
        // Paying at most 50.5 USDC: 50 repaid, 0.5 of fee.
        let q = quote(&i, 50_500_000).unwrap();
        assert_eq!((q.repay, q.insurance_fee), (50_000_000, 500_000));
        // One unit less: the fee rounds up, so the repayment gives up a unit.
        let q = quote(&i, 50_499_999).unwrap();
        assert_eq!((q.repay, q.insurance_fee), (49_999_999, 500_000));
        let small_debt = input(-40 * WAD as i128, 10_000_000, 10_000_000_000);
        assert_eq!(quote(&small_debt, u128::MAX).unwrap().repay, 10_000_000);
    }

    #[test]
    fn collateral_limits_the_repayment() {
        // Unrestorable: 1 SOL against 700 USDC; all collateral goes, debt remains.
        let i = input(-760 * WAD as i128, 700_000_000, 1_000_000_000);
        let q = quote(&i, u128::MAX).unwrap();
        assert_eq!(q.seized, 1_000_000_000);
        // $100 of collateral covers 100 / 1.06 = 94.33 USDC of debt.
        assert_eq!(q.repay, 94_339_622);
    }

    #[test]
    fn dust_debt_is_closed_out() {
        // Restoring needs 1.136 USDC of 1.5 USDC; the 0.36 left is dust (< $1).
        let i = input(-(WAD as i128) * 4 / 10, 1_500_000, 10_000_000_000);
        assert_eq!(quote(&i, u128::MAX).unwrap().repay, 1_500_000);
    }

    #[test]
    fn insurance_pays_first_then_depositors() {
        let r = resolve_bad_debt(100, 30, 1_000, WAD).unwrap();
        assert_eq!((r.covered_by_insurance, r.socialized), (30, 70));
        assert_eq!(r.new_deposit_index, WAD - WAD * 70 / 1_000);
        let r = resolve_bad_debt(100, 500, 1_000, WAD).unwrap();
        assert_eq!((r.covered_by_insurance, r.socialized, r.new_deposit_index), (100, 0, WAD));
    }

    #[test]
    fn a_loss_beyond_every_deposit_leaves_the_index_at_its_floor() {
        let r = resolve_bad_debt(5_000, 0, 1_000, WAD).unwrap();
        assert_eq!((r.socialized, r.new_deposit_index), (5_000, MIN_DEPOSIT_INDEX));
        // Shares still convert both ways.
        assert!(crate::shares::deposit_shares_for(1, r.new_deposit_index).is_ok());
    }

    proptest! {
        #[test]
        fn never_seizes_more_than_the_collateral_or_repays_more_than_the_debt(
            health in -1_000_000i128..0, debt in 0u128..1_000_000_000_000, collateral in 0u128..1_000_000_000_000_000,
            bonus in 0u32..2_000, fee in 0u32..1_000, max in 0u128..u64::MAX as u128,
        ) {
            let i = LiquidationInput { bonus_bps: bonus, insurance_fee_bps: fee, ..input(health * WAD as i128, debt, collateral) };
            let q = quote(&i, max).unwrap();
            prop_assert!(q.repay <= debt && q.repay + q.insurance_fee <= max);
            prop_assert!(q.seized <= collateral);
            prop_assert_eq!(q.insurance_fee, (q.repay * u128::from(fee)).div_ceil(10_000));
            // The liquidator never receives less than the value it pays.
            let paid_value = (q.repay + q.insurance_fee) * USDC_UNIT;
            let seized_value = (q.seized + 1) * SOL_UNIT;
            prop_assert!(seized_value + USDC_UNIT >= paid_value);
        }

        #[test]
        fn socialized_loss_covers_the_whole_shortfall(debt in 0u128..u64::MAX as u128, insurance in 0u128..u64::MAX as u128, shares in 1u128..u64::MAX as u128) {
            let r = resolve_bad_debt(debt, insurance, shares, WAD).unwrap();
            prop_assert_eq!(r.covered_by_insurance + r.socialized, debt);
            let lost = (WAD - r.new_deposit_index) * shares / WAD;
            prop_assert!(lost >= r.socialized.min(shares) || r.new_deposit_index == MIN_DEPOSIT_INDEX);
            prop_assert!(r.new_deposit_index >= MIN_DEPOSIT_INDEX);
        }
    }
}
