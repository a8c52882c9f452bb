use anchor_lang::prelude::*;
use ballast_risk::health::Weights;
use ballast_risk::interest::{accrue, Accrual, MarketIndices, RateCurve};
use ballast_risk::oracle::{self, OracleAction, OracleLimits, OracleReading};
use ballast_risk::ramp::{scale_weight, Ramp};
use ballast_risk::{Rounding, BPS};

use super::pod::PodU128;
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::health::PricedMarket;

/// Risk parameters of one market, set by governance and bounds-checked on-chain.
/// Weights, rates and limits are in basis points (10_000 = 1.0 = 100%).
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct MarketConfig {
    pub init_asset_weight_bps: u32,
    pub maint_asset_weight_bps: u32,
    pub init_liability_weight_bps: u32,
    pub maint_liability_weight_bps: u32,
    pub optimal_utilization_bps: u32,
    /// Annual borrow rate at 0% utilisation.
    pub base_rate_bps: u32,
    /// Annual borrow rate at the kink.
    pub optimal_rate_bps: u32,
    /// Annual borrow rate at 100% utilisation.
    pub max_rate_bps: u32,
    /// Share of interest that goes to the protocol's fee pool.
    pub protocol_fee_bps: u32,
    pub oracle_max_age_secs: u32,
    pub oracle_liquidation_max_age_secs: u32,
    pub oracle_max_conf_bps: u32,
    pub oracle_liquidation_max_conf_bps: u32,
    pub oracle_max_ema_deviation_bps: u32,
    /// Confidence intervals taken off asset prices and added to liability prices.
    pub oracle_conf_multiplier_bps: u32,
    /// Extra collateral a liquidator receives when seizing this asset.
    pub liquidation_bonus_bps: u32,
    /// Collateral moved to this market's insurance fund per liquidation, on top.
    pub liquidation_insurance_fee_bps: u32,
    pub _padding: u32,
    /// Most tokens the market may hold as deposits.
    pub deposit_cap: u64,
    /// Most tokens the market may lend.
    pub borrow_cap: u64,
}

impl MarketConfig {
    /// A conservative starting point for a volatile asset: 80/90% asset weights,
    /// 120/110% liability weights, a 10% APR kink at 80% utilisation (1% base, 100%
    /// max), 10% of interest to the protocol, 60 s / 2% / 10% oracle limits for
    /// borrowing (600 s / 10% for liquidation), a 5% liquidation bonus and a 1%
    /// insurance fee.
    pub const fn conservative(deposit_cap: u64, borrow_cap: u64) -> MarketConfig {
        MarketConfig {
            init_asset_weight_bps: 8_000,
            maint_asset_weight_bps: 9_000,
            init_liability_weight_bps: 12_000,
            maint_liability_weight_bps: 11_000,
            optimal_utilization_bps: 8_000,
            base_rate_bps: 100,
            optimal_rate_bps: 1_000,
            max_rate_bps: 10_000,
            protocol_fee_bps: 1_000,
            oracle_max_age_secs: 60,
            oracle_liquidation_max_age_secs: 600,
            oracle_max_conf_bps: 200,
            oracle_liquidation_max_conf_bps: 1_000,
            oracle_max_ema_deviation_bps: 1_000,
            oracle_conf_multiplier_bps: 10_000,
            liquidation_bonus_bps: 500,
            liquidation_insurance_fee_bps: 100,
            _padding: 0,
            deposit_cap,
            borrow_cap,
        }
    }

    pub fn weights(&self) -> Weights {
        Weights {
            init_asset_bps: self.init_asset_weight_bps,
            maint_asset_bps: self.maint_asset_weight_bps,
            init_liability_bps: self.init_liability_weight_bps,
            maint_liability_bps: self.maint_liability_weight_bps,
        }
    }

    pub fn rate_curve(&self) -> RateCurve {
        RateCurve {
            optimal_utilization_bps: self.optimal_utilization_bps,
            base_rate_bps: self.base_rate_bps,
            optimal_rate_bps: self.optimal_rate_bps,
            max_rate_bps: self.max_rate_bps,
        }
    }

    pub fn oracle_limits(&self) -> OracleLimits {
        OracleLimits {
            max_age_secs: self.oracle_max_age_secs,
            liquidation_max_age_secs: self.oracle_liquidation_max_age_secs,
            max_conf_bps: self.oracle_max_conf_bps,
            liquidation_max_conf_bps: self.oracle_liquidation_max_conf_bps,
            max_ema_deviation_bps: self.oracle_max_ema_deviation_bps,
            conf_multiplier_bps: self.oracle_conf_multiplier_bps,
        }
    }
}

/// One lending market per asset (PDA `["market", protocol, mint]`): the "vault" of
/// that asset, with its share indices, fee pools and insurance fund.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    /// At byte 8, for getProgramAccounts filters.
    pub protocol: Pubkey,
    /// At byte 40, for getProgramAccounts filters.
    pub mint: Pubkey,
    /// Token account (PDA `["vault", market]`, owned by this market) holding the asset.
    pub vault: Pubkey,
    /// Pyth price account of the asset.
    pub oracle: Pubkey,
    /// Tokens per deposit share (WAD), grows with interest.
    pub deposit_index: PodU128,
    /// Tokens per debt share (WAD), grows with interest.
    pub borrow_index: PodU128,
    pub total_deposit_shares: PodU128,
    pub total_borrow_shares: PodU128,
    /// Interest taken for the protocol, not yet swept into pools.
    pub accrued_protocol_fees: u64,
    /// Tokens set aside to cover bad debt.
    pub insurance_fund: u64,
    /// Tokens reserved for buyback of the native token.
    pub buyback_pool: u64,
    /// Tokens owed to stakers (dripping or claimable) from this market's fees.
    pub staker_pool: u64,
    /// Buyback epoch (`now / buyback_epoch_secs`) the budget below belongs to.
    pub buyback_epoch: u64,
    /// Pool tokens the auction may sell in `buyback_epoch`.
    pub buyback_epoch_budget: u64,
    /// Pool tokens sold so far in `buyback_epoch`.
    pub buyback_epoch_sold: u64,
    /// The auction's price curve restarts here (the last fill or the epoch's start).
    pub auction_start_ts: i64,
    /// Pool tokens paid out by buybacks, ever.
    pub total_buyback_spent: u64,
    pub last_accrual_ts: i64,
    /// Last oracle sample taken by refresh_market.
    pub last_price: i64,
    pub last_conf: u64,
    pub last_ema_price: i64,
    pub last_publish_time: i64,
    pub last_expo: i32,
    pub market_index: u16,
    pub decimals: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub _padding: [u8; 7],
    pub config: MarketConfig,
    /// Multiplier on this market's asset weights. Moves with the regime on the native
    /// token's own market; 1.0 (settled) on every other market.
    pub weight_multiplier: WeightRamp,
    /// Room for later state without a migration.
    pub _reserved: [u64; 22],
}

/// A multiplier (bps) moving linearly from `from_bps` to `to_bps` over `ramp_secs`
/// from `start_ts` (see `ballast_risk::ramp`), so a regime change reaches collateral
/// weights gradually rather than liquidating accounts in one jump.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct WeightRamp {
    pub from_bps: u32,
    pub to_bps: u32,
    pub start_ts: i64,
    pub ramp_secs: u32,
    pub _padding: u32,
}

impl WeightRamp {
    /// No multiplier (1.0), as every market starts.
    pub fn none(now: i64) -> WeightRamp {
        WeightRamp::settled(BPS as u32, now)
    }

    pub fn settled(bps: u32, now: i64) -> WeightRamp {
        WeightRamp { from_bps: bps, to_bps: bps, start_ts: now, ramp_secs: 0, _padding: 0 }
    }

    fn ramp(&self) -> Ramp {
        Ramp { from_bps: self.from_bps, to_bps: self.to_bps, start_ts: self.start_ts }
    }

    pub fn current(&self, now: i64) -> u32 {
        self.ramp().current(now, self.ramp_secs)
    }

    /// Heads for `to_bps` from wherever the ramp is now, over `ramp_secs`.
    pub fn retarget(&mut self, to_bps: u32, now: i64, ramp_secs: u32) {
        let next = self.ramp().retarget(to_bps, now, self.ramp_secs);
        if next != self.ramp() {
            *self = WeightRamp {
                from_bps: next.from_bps,
                to_bps: next.to_bps,
                start_ts: next.start_ts,
                ramp_secs,
                _padding: 0,
            };
        }
    }
}

pub const MARKET_SIZE: usize = 8 + 4 * 32 + 4 * 16 + 14 * 8 + 4 + 2 + 3 + 7 + 88 + 24 + 22 * 8;
const _: () = assert!(core::mem::size_of::<WeightRamp>() == 24);
const _: () = assert!(8 + core::mem::size_of::<Market>() == MARKET_SIZE);
const _: () = assert!(core::mem::size_of::<MarketConfig>() == 88);
const _: () = assert!(MARKET_SIZE == 616);

impl Market {
    pub fn indices(&self) -> MarketIndices {
        MarketIndices {
            deposit_index: self.deposit_index.get(),
            borrow_index: self.borrow_index.get(),
            total_deposit_shares: self.total_deposit_shares.get(),
            total_borrow_shares: self.total_borrow_shares.get(),
        }
    }

    pub fn signer_seeds(&self) -> [&[u8]; 4] {
        [crate::constants::MARKET_SEED, self.protocol.as_ref(), self.mint.as_ref(), core::slice::from_ref(&self.bump)]
    }
}

impl Market {
    /// Seconds of interest not yet accrued (zero if the clock is behind the last accrual).
    pub fn seconds_since_accrual(&self, now: i64) -> u64 {
        u64::try_from(now.saturating_sub(self.last_accrual_ts)).unwrap_or(0)
    }

    /// Interest owed since the last accrual, computed but not written.
    pub fn accrual_at(&self, now: i64) -> Result<Accrual> {
        let elapsed = self.seconds_since_accrual(now);
        accrue(&self.indices(), &self.config.rate_curve(), self.config.protocol_fee_bps, elapsed).or_ballast()
    }

    /// This market as a health check sees it at `now`, priced by `reading` if the feed
    /// is valid for `action`. Pure: the keeper calls it on decoded bytes too.
    pub fn price(&self, reading: &OracleReading, action: OracleAction, now: i64) -> Result<PricedMarket> {
        let limits = self.config.oracle_limits();
        oracle::validate(reading, &limits, action, now).or_ballast()?;
        let accrual = self.accrual_at(now)?;
        Ok(PricedMarket {
            market_index: self.market_index,
            indices: MarketIndices {
                deposit_index: accrual.deposit_index,
                borrow_index: accrual.borrow_index,
                ..self.indices()
            },
            prices: oracle::valuation_prices(reading, &limits, self.decimals).or_ballast()?,
            mid_down: oracle::mid_price(reading, self.decimals, Rounding::Down).or_ballast()?,
            mid_up: oracle::mid_price(reading, self.decimals, Rounding::Up).or_ballast()?,
            weights: self.weights_at(now),
        })
    }

    /// The weights health uses at `now`: the config's, with the asset weights scaled by
    /// the multiplier (a liability never counts for less).
    pub fn weights_at(&self, now: i64) -> Weights {
        let multiplier = self.weight_multiplier.current(now);
        let w = self.config.weights();
        Weights {
            init_asset_bps: scale_weight(w.init_asset_bps, multiplier),
            maint_asset_bps: scale_weight(w.maint_asset_bps, multiplier),
            ..w
        }
    }

    /// Writes interest owed up to `now` into the indices and the protocol fee pool.
    pub fn accrue_interest(&mut self, now: i64) -> Result<Accrual> {
        let accrual = self.accrual_at(now)?;
        let fee = to_u64(accrual.protocol_fee)?;
        self.accrued_protocol_fees = self.accrued_protocol_fees.checked_add(fee).ok_or(BallastError::MathOverflow)?;
        self.deposit_index.set(accrual.deposit_index);
        self.borrow_index.set(accrual.borrow_index);
        self.last_accrual_ts = self.last_accrual_ts.max(now);
        Ok(accrual)
    }

    /// Tokens held for the protocol (fees, insurance, buyback, stakers) that lenders
    /// cannot take.
    pub fn reserved_tokens(&self) -> Result<u64> {
        self.accrued_protocol_fees
            .checked_add(self.insurance_fund)
            .and_then(|v| v.checked_add(self.buyback_pool))
            .and_then(|v| v.checked_add(self.staker_pool))
            .ok_or(error!(BallastError::MathOverflow))
    }

    /// Fails unless the vault can pay out `amount` without touching reserved tokens.
    pub fn require_liquidity(&self, vault_amount: u64, amount: u64) -> Result<()> {
        let free = vault_amount.saturating_sub(self.reserved_tokens()?);
        require_gte!(free, amount, BallastError::InsufficientLiquidity);
        Ok(())
    }
}
