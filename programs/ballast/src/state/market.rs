use anchor_lang::prelude::*;
use ballast_risk::borrow_limit::{self, validate_borrow_limit_params, BorrowLimitParams, BorrowWindowState};
use ballast_risk::dynamic_margin::{
    apply_multipliers, init_asset_weight_under_limit, validate_multipliers, RegimeMultipliers,
};
use ballast_risk::health::Weights;
use ballast_risk::interest::{accrual_secs, accrue, Accrual, MarketIndices, RateCurve};
use ballast_risk::liquidation::resolve_bad_debt;
use ballast_risk::oracle::{self, value_of, OracleAction, OracleLimits, OracleReading};
use ballast_risk::outflow::{self, validate_outflow_params, OutflowParams, OutflowState};
use ballast_risk::price_guard::{self, validate_price_guard_params, PriceGuardParams, PriceGuardState};
use ballast_risk::ramp::Ramp;
use ballast_risk::regime::Regime;
use ballast_risk::shares::{debt_amount, deposit_amount};
use ballast_risk::stable_price::{
    self, bound_by_stable, validate_stable_price_params, StablePriceParams, StablePriceState,
};
use ballast_risk::{params, RiskError, RiskResult, Rounding};

use super::oracle_source::OracleSource;
use super::pod::PodU128;
use super::protocol::{ProtocolConfig, VolatilityConfig, VolatilityRecord};
use crate::errors::{to_u64, BallastError, OrBallast};
use crate::events::{BadDebtResolved, DustSwept, MarketRegimeChanged, PriceGuardTripped};
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
    /// Price move guard and outflow limiter.
    pub breakers: BreakerConfig,
    /// How this market's volatility is sampled and when its regime moves.
    pub volatility: VolatilityConfig,
    /// What each of this market's regimes does to its weights.
    pub regime_weights: RegimeWeightsConfig,
    /// The slow reference price initial health is bounded by.
    pub stable_price: StablePriceConfig,
    /// Limits in quote value (USD).
    pub limits: UsdLimits,
}

/// Multipliers on a market's weights per regime (Calm, Elevated, Stressed, Crisis), see
/// `ballast_risk::dynamic_margin`. Asset multipliers at most 1.0 and never rising with
/// the regime, liability multipliers at least 1.0 and never falling.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct RegimeWeightsConfig {
    pub asset_multiplier_bps: [u32; 4],
    pub liability_multiplier_bps: [u32; 4],
    /// A new regime's multipliers are reached over this period, from where they stand.
    pub ramp_secs: u32,
}

impl RegimeWeightsConfig {
    /// Asset weights at 100 / 95 / 85 / 70% and liability weights at 100 / 100 / 105 /
    /// 110% from Calm to Crisis, reached over a day.
    pub const fn standard() -> RegimeWeightsConfig {
        RegimeWeightsConfig {
            asset_multiplier_bps: [10_000, 9_500, 8_500, 7_000],
            liability_multiplier_bps: [10_000, 10_000, 10_500, 11_000],
            ramp_secs: 86_400,
        }
    }

    pub fn multipliers(&self) -> RegimeMultipliers {
        RegimeMultipliers {
            asset_bps: self.asset_multiplier_bps,
            liability_bps: self.liability_multiplier_bps,
            ramp_secs: self.ramp_secs,
        }
    }
}

/// A market's stable price settings (see `ballast_risk::stable_price`).
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct StablePriceConfig {
    /// Most the stable price moves per hour, in bps of itself.
    pub max_hourly_move_bps: u32,
    /// The delayed price moves once per interval ...
    pub delay_interval_secs: u32,
    /// ... by at most this share of itself.
    pub max_delay_move_bps: u32,
    /// Farther than this from the delayed price, the stable price moves at a quarter speed.
    pub slow_band_bps: u32,
}

impl StablePriceConfig {
    pub const fn standard() -> StablePriceConfig {
        let p = StablePriceParams::standard();
        StablePriceConfig {
            max_hourly_move_bps: p.max_hourly_move_bps,
            delay_interval_secs: p.delay_interval_secs,
            max_delay_move_bps: p.max_delay_move_bps,
            slow_band_bps: p.slow_band_bps,
        }
    }

    pub fn params(&self) -> StablePriceParams {
        StablePriceParams {
            max_hourly_move_bps: self.max_hourly_move_bps,
            delay_interval_secs: self.delay_interval_secs,
            max_delay_move_bps: self.max_delay_move_bps,
            slow_band_bps: self.slow_band_bps,
        }
    }
}

/// A market's limits in whole quote units (USD); 0 is no limit.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct UsdLimits {
    /// Beyond this total deposit value, each deposit's initial asset weight is scaled by
    /// `limit / value` (marginfi's total-asset-value-init-limit).
    pub asset_value_init_limit_usd: u64,
    /// Most net borrows per window, valued at the borrow's price.
    pub borrow_limit_per_window_usd: u64,
    pub borrow_limit_window_secs: u32,
    pub _padding: u32,
}

impl UsdLimits {
    pub const fn none() -> UsdLimits {
        UsdLimits {
            asset_value_init_limit_usd: 0,
            borrow_limit_per_window_usd: 0,
            borrow_limit_window_secs: 3_600,
            _padding: 0,
        }
    }

    pub fn borrow_limit(&self) -> BorrowLimitParams {
        BorrowLimitParams { window_secs: self.borrow_limit_window_secs, limit_usd: self.borrow_limit_per_window_usd }
    }
}

/// A market's circuit breakers: the price move guard (`ballast_risk::price_guard`) and
/// the outflow limiter (`ballast_risk::outflow`). Bounds-checked on-chain.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct BreakerConfig {
    /// A price move is measured from the first price seen in a window this long.
    pub price_guard_window_secs: u32,
    /// A larger move (bps of that reference price) makes the market reduce-only ...
    pub price_guard_max_move_bps: u32,
    /// ... for this long.
    pub price_guard_cooldown_secs: u32,
    /// The outflow limiter's rolling window.
    pub outflow_window_secs: u32,
    /// Largest net outflow (withdrawals and borrows minus deposits and repayments) per
    /// window, in bps of the market's deposits.
    pub outflow_max_bps: u32,
    pub _padding: u32,
    /// Withdrawals and borrows of at most this many base units always pass.
    pub small_outflow_threshold: u64,
}

impl BreakerConfig {
    /// A 20% move within an hour makes the market reduce-only for 30 minutes; net
    /// outflow is limited to 25% of deposits per 6 hours; withdrawals and borrows up to
    /// 1/100,000 of the deposit cap (at least one base unit) always pass.
    pub const fn standard(deposit_cap: u64) -> BreakerConfig {
        let small = deposit_cap / 100_000;
        BreakerConfig {
            price_guard_window_secs: 3_600,
            price_guard_max_move_bps: 2_000,
            price_guard_cooldown_secs: 1_800,
            outflow_window_secs: 6 * 3_600,
            outflow_max_bps: 2_500,
            _padding: 0,
            small_outflow_threshold: if small == 0 { 1 } else { small },
        }
    }

    pub fn price_guard(&self) -> PriceGuardParams {
        PriceGuardParams {
            window_secs: self.price_guard_window_secs,
            max_move_bps: self.price_guard_max_move_bps,
            cooldown_secs: self.price_guard_cooldown_secs,
        }
    }

    pub fn outflow(&self) -> OutflowParams {
        OutflowParams {
            window_secs: self.outflow_window_secs,
            max_outflow_bps: self.outflow_max_bps,
            small_outflow_threshold: self.small_outflow_threshold,
        }
    }

    /// `InvalidPriceGuardParams` or `InvalidOutflowParams` when out of bounds.
    pub fn validate(&self) -> Result<()> {
        validate_price_guard_params(&self.price_guard()).or_ballast()?;
        validate_outflow_params(&self.outflow()).or_ballast()
    }
}

impl MarketConfig {
    /// A conservative starting point for a volatile asset: 80/90% asset weights,
    /// 120/110% liability weights, a 10% APR kink at 80% utilisation (1% base, 100%
    /// max), 10% of interest to the protocol, 60 s / 2% / 10% oracle limits for
    /// borrowing (600 s / 10% for liquidation), a 5% liquidation bonus and a 1%
    /// insurance fee; the standard breakers ([`BreakerConfig::standard`]), volatility
    /// settings, regime weights and stable price; no USD limits.
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
            breakers: BreakerConfig::standard(deposit_cap),
            volatility: VolatilityConfig::standard(),
            regime_weights: RegimeWeightsConfig::standard(),
            stable_price: StablePriceConfig::standard(),
            limits: UsdLimits::none(),
        }
    }

    /// Every parameter group within its bounds, each with its own error.
    pub fn validate(&self) -> Result<()> {
        params::validate_weights(&self.weights()).or_ballast()?;
        params::validate_rate_curve(&self.rate_curve()).or_ballast()?;
        params::validate_protocol_fee(self.protocol_fee_bps).or_ballast()?;
        params::validate_oracle_limits(&self.oracle_limits()).or_ballast()?;
        params::validate_caps(self.deposit_cap, self.borrow_cap).or_ballast()?;
        params::validate_liquidation(
            self.liquidation_bonus_bps,
            self.liquidation_insurance_fee_bps,
            self.init_asset_weight_bps,
        )
        .or_ballast()?;
        self.breakers.validate()?;
        self.volatility.validate()?;
        validate_multipliers(&self.regime_weights.multipliers()).or_ballast()?;
        validate_stable_price_params(&self.stable_price.params()).or_ballast()?;
        validate_borrow_limit_params(&self.limits.borrow_limit()).or_ballast()
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
    /// The asset's Pyth feed: format, pinned price account and feed id.
    pub oracle: OracleSource,
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
    /// Price move guard and outflow limiter state.
    pub breakers: MarketBreakers,
    /// Multipliers on this market's asset (at most 1.0) and liability (at least 1.0)
    /// weights, ramping towards the values of the market's regime.
    pub asset_multiplier: WeightRamp,
    pub liability_multiplier: WeightRamp,
    /// This market's volatility estimate and regime (sampled by `refresh_market`).
    pub volatility: VolatilityRecord,
    /// The slow reference price initial health is bounded by.
    pub stable_price: StablePriceRecord,
    /// Net borrows in the current window of the USD borrow limit.
    pub borrow_window: BorrowWindow,
    /// Room for later state without a migration.
    pub _reserved: [u64; 7],
}

/// A market's stable price and the delayed price that slows it (see
/// `ballast_risk::stable_price`), WAD per base unit. All zero: never observed.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct StablePriceRecord {
    pub stable_price: PodU128,
    pub delayed_price: PodU128,
    pub last_update_ts: i64,
    pub delay_interval_start_ts: i64,
}

impl StablePriceRecord {
    pub fn state(&self) -> StablePriceState {
        StablePriceState {
            stable_wad: self.stable_price.get(),
            delayed_wad: self.delayed_price.get(),
            last_update_ts: self.last_update_ts,
            delay_interval_start_ts: self.delay_interval_start_ts,
        }
    }

    pub fn store(&mut self, s: &StablePriceState) {
        self.stable_price.set(s.stable_wad);
        self.delayed_price.set(s.delayed_wad);
        self.last_update_ts = s.last_update_ts;
        self.delay_interval_start_ts = s.delay_interval_start_ts;
    }
}

/// The USD borrow limit's window (see `ballast_risk::borrow_limit`).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct BorrowWindow {
    pub window_start_ts: i64,
    pub net_borrows: u64,
}

impl BorrowWindow {
    pub fn state(&self) -> BorrowWindowState {
        BorrowWindowState { window_start_ts: self.window_start_ts, net_borrows: self.net_borrows }
    }

    pub fn store(&mut self, s: &BorrowWindowState) {
        self.window_start_ts = s.window_start_ts;
        self.net_borrows = s.net_borrows;
    }
}

/// A market's price move guard and outflow limiter state. All zero: never observed,
/// nothing flowed out.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct MarketBreakers {
    /// When the guard's current window started.
    pub window_start_ts: i64,
    /// The guard's reference price: the oracle mid price per base unit (WAD) first seen
    /// in the current window.
    pub window_start_price: PodU128,
    /// The market is reduce-only (no new borrows) while `now < reduce_only_until_ts`.
    pub reduce_only_until_ts: i64,
    /// Net outflow in the limiter's bucket, in base units, as of `outflow_updated_ts`.
    pub net_outflow: u64,
    pub outflow_updated_ts: i64,
    /// Small outflows let past the limit, as of `outflow_updated_ts`.
    pub exempt_outflow: u64,
}

impl MarketBreakers {
    pub fn price_guard(&self) -> PriceGuardState {
        PriceGuardState {
            window_start_ts: self.window_start_ts,
            window_start_price_wad: self.window_start_price.get(),
            reduce_only_until_ts: self.reduce_only_until_ts,
        }
    }

    pub fn store_price_guard(&mut self, s: &PriceGuardState) {
        self.window_start_ts = s.window_start_ts;
        self.window_start_price.set(s.window_start_price_wad);
        self.reduce_only_until_ts = s.reduce_only_until_ts;
    }

    pub fn outflow(&self) -> OutflowState {
        OutflowState {
            net_outflow: self.net_outflow,
            exempt_outflow: self.exempt_outflow,
            last_update_ts: self.outflow_updated_ts,
        }
    }

    pub fn store_outflow(&mut self, s: &OutflowState) {
        self.net_outflow = s.net_outflow;
        self.outflow_updated_ts = s.last_update_ts;
        self.exempt_outflow = s.exempt_outflow;
    }
}

/// A market's buyback epoch as a fill sees it (see [`Market::buyback_epoch_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuybackEpoch {
    pub epoch: u64,
    /// Pool tokens the auction may sell in this epoch, and those sold so far.
    pub budget: u64,
    pub sold: u64,
    /// The auction curve starts here.
    pub auction_start_ts: i64,
    /// When the epoch ends.
    pub end_ts: i64,
}

/// A multiplier (bps) moving linearly from `from_bps` to `to_bps` over `ramp_secs`
/// from `start_ts` (see `ballast_risk::ramp`), so a regime change reaches weights
/// gradually rather than liquidating accounts in one jump.
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

pub const MARKET_SIZE: usize =
    8 + 3 * 32 + 72 + 4 * 16 + 14 * 8 + 4 + 2 + 3 + 7 + 264 + 48 + 2 * 24 + 80 + 56 + 16 + 7 * 8;
const _: () = assert!(core::mem::size_of::<WeightRamp>() == 24);
const _: () = assert!(8 + core::mem::size_of::<Market>() == MARKET_SIZE);
const _: () = assert!(core::mem::size_of::<MarketConfig>() == 264);
const _: () = assert!(core::mem::size_of::<BreakerConfig>() == 32);
const _: () = assert!(core::mem::size_of::<RegimeWeightsConfig>() == 36);
const _: () = assert!(core::mem::size_of::<StablePriceConfig>() == 16);
const _: () = assert!(core::mem::size_of::<UsdLimits>() == 24);
const _: () = assert!(core::mem::size_of::<MarketBreakers>() == 56);
const _: () = assert!(core::mem::size_of::<StablePriceRecord>() == 48);
const _: () = assert!(core::mem::size_of::<BorrowWindow>() == 16);
const _: () = assert!(MARKET_SIZE == 936);

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

    /// Interest owed since the last accrual (at most `MAX_ACCRUAL_SECS` of it), computed
    /// but not written.
    pub fn accrual_at(&self, now: i64) -> Result<Accrual> {
        let elapsed = accrual_secs(self.seconds_since_accrual(now));
        accrue(&self.indices(), &self.config.rate_curve(), self.config.protocol_fee_bps, elapsed).or_ballast()
    }

    /// This market as a health check for `action` sees it at `now`, priced by `reading`.
    /// A risk-increasing check needs the feed valid; a liquidation's check never fails
    /// on the feed's state (see `ballast_risk::oracle::liquidation_prices`): an unusable
    /// feed is recorded in `unusable`. Initial health's prices are bounded by the stable
    /// price and its asset weight by the USD limit; the weights carry the regime's
    /// multipliers in force. Pure: the keeper calls it on decoded bytes too.
    pub fn price(&self, reading: &OracleReading, action: OracleAction, now: i64) -> Result<PricedMarket> {
        let limits = self.config.oracle_limits();
        let (prices, unusable) = if action == OracleAction::Liquidation {
            let p = oracle::liquidation_prices(reading, &limits, self.decimals, now).or_ballast()?;
            (p.prices, p.unusable)
        } else {
            oracle::validate(reading, &limits, action, now).or_ballast()?;
            (oracle::valuation_prices(reading, &limits, self.decimals).or_ballast()?, None)
        };
        // The exchange rate of a liquidation: only ever used with a usable feed.
        let (mid_down, mid_up) = match unusable {
            None => (
                oracle::mid_price(reading, self.decimals, Rounding::Down).or_ballast()?,
                oracle::mid_price(reading, self.decimals, Rounding::Up).or_ballast()?,
            ),
            Some(_) => (0, 0),
        };
        let accrual = self.accrual_at(now)?;
        let indices = MarketIndices {
            deposit_index: accrual.deposit_index,
            borrow_index: accrual.borrow_index,
            ..self.indices()
        };
        let init_prices = bound_by_stable(prices, self.stable_price.stable_price.get());
        let mut weights = self.weights_at(now);
        let deposits_value = value_of(indices.total_deposits().or_ballast()?, init_prices.asset).or_ballast()?;
        weights.init_asset_bps = init_asset_weight_under_limit(
            weights.init_asset_bps,
            deposits_value,
            self.config.limits.asset_value_init_limit_usd,
        )
        .or_ballast()?;
        Ok(PricedMarket {
            market_index: self.market_index,
            indices,
            prices,
            init_prices,
            mid_down,
            mid_up,
            weights,
            unusable,
        })
    }

    /// The buyback epoch a fill at `now` sees in `regime`: a new epoch sets its budget
    /// from the pool as it stands (the regime's share: larger as the price falls) and
    /// restarts the auction curve at the epoch's start. The program's rule, shared with
    /// the keeper's planner.
    pub fn buyback_epoch_at(&self, cfg: &ProtocolConfig, regime: Regime, now: i64) -> RiskResult<BuybackEpoch> {
        let epoch_secs = i64::from(cfg.buyback_epoch_secs);
        let epoch = now.checked_div(epoch_secs).and_then(|e| u64::try_from(e).ok()).ok_or(RiskError::MathOverflow)?;
        let start = now - now % epoch_secs;
        let end_ts = start.saturating_add(epoch_secs);
        if epoch != self.buyback_epoch || (self.buyback_epoch_budget == 0 && self.buyback_epoch_sold == 0) {
            let budget = cfg.regime(regime).buyback_budget(self.buyback_pool)?;
            return Ok(BuybackEpoch {
                epoch,
                budget,
                sold: 0,
                auction_start_ts: self.auction_start_ts.max(start),
                end_ts,
            });
        }
        Ok(BuybackEpoch {
            epoch,
            budget: self.buyback_epoch_budget,
            sold: self.buyback_epoch_sold,
            auction_start_ts: self.auction_start_ts,
            end_ts,
        })
    }

    /// The weights health uses at `now`: the config's, scaled by the regime multipliers
    /// where their ramps stand (before the USD limit, which only initial health sees).
    pub fn weights_at(&self, now: i64) -> Weights {
        apply_multipliers(
            self.config.weights(),
            self.asset_multiplier.current(now),
            self.liability_multiplier.current(now),
        )
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

    /// Writes off `shares` of debt that no collateral backs any more, held by
    /// `account`: the insurance fund pays first, the rest is cut from the deposit index.
    /// Call after accruing. Returns the event to emit.
    pub fn write_off_debt(&mut self, key: Pubkey, account: Pubkey, shares: u128) -> Result<BadDebtResolved> {
        let indices = self.indices();
        let debt = debt_amount(shares, indices.borrow_index).or_ballast()?;
        let r = resolve_bad_debt(debt, self.insurance_fund.into(), indices.total_deposit_shares, indices.deposit_index)
            .or_ballast()?;
        let covered = to_u64(r.covered_by_insurance)?;
        self.insurance_fund -= covered;
        self.deposit_index.set(r.new_deposit_index);
        self.total_borrow_shares
            .set(indices.total_borrow_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?);
        Ok(BadDebtResolved {
            margin_account: account,
            market: key,
            debt: to_u64(debt)?,
            covered_by_insurance: covered,
            socialized: to_u64(r.socialized)?,
            deposit_index_after: r.new_deposit_index,
        })
    }

    /// Takes `shares` of a bankrupt account's dust deposit into the insurance fund (the
    /// tokens stay in the vault; they stop backing the shares and back the fund).
    pub fn sweep_dust_deposit(&mut self, key: Pubkey, account: Pubkey, shares: u128) -> Result<DustSwept> {
        let indices = self.indices();
        let amount = to_u64(deposit_amount(shares, indices.deposit_index).or_ballast()?)?;
        self.insurance_fund = self.insurance_fund.checked_add(amount).ok_or(BallastError::MathOverflow)?;
        let total = indices.total_deposit_shares.checked_sub(shares).ok_or(BallastError::MathOverflow)?;
        self.total_deposit_shares.set(total);
        Ok(DustSwept { margin_account: account, market: key, shares, amount })
    }

    /// Fails unless the vault can pay out `amount` without touching reserved tokens.
    pub fn require_liquidity(&self, vault_amount: u64, amount: u64) -> Result<()> {
        let free = vault_amount.saturating_sub(self.reserved_tokens()?);
        require_gte!(free, amount, BallastError::InsufficientLiquidity);
        Ok(())
    }
}

/// The market's own risk: regime, stable price, borrow limit.
impl Market {
    /// The market's regime in force.
    pub fn regime(&self) -> Result<Regime> {
        self.volatility.regime()
    }

    /// Both multiplier ramps head for `regime`'s values from where they stand (a no-op
    /// when already heading there).
    pub fn retarget_multipliers(&mut self, regime: Regime, now: i64) {
        let (asset, liability) = self.config.regime_weights.multipliers().of(regime);
        let ramp_secs = self.config.regime_weights.ramp_secs;
        self.asset_multiplier.retarget(asset, now, ramp_secs);
        self.liability_multiplier.retarget(liability, now, ramp_secs);
    }

    /// Multipliers settled at `regime`'s values (a new market, at listing).
    pub fn settle_multipliers(&mut self, regime: Regime, now: i64) {
        let (asset, liability) = self.config.regime_weights.multipliers().of(regime);
        self.asset_multiplier = WeightRamp::settled(asset, now);
        self.liability_multiplier = WeightRamp::settled(liability, now);
    }

    /// Takes the price sample `price_wad` (WAD per whole token) into the market's
    /// volatility estimate when one is due (else does nothing: `refresh_market` runs at
    /// any rate), moves the regime and retargets the multipliers. Returns whether a
    /// sample was taken, and the event when the regime moved.
    pub fn track_volatility(
        &mut self,
        key: Pubkey,
        price_wad: u128,
        now: i64,
    ) -> Result<(bool, Option<MarketRegimeChanged>)> {
        let cfg = self.config.volatility;
        if !self.volatility.sample_due(now, &cfg) {
            return Ok((false, None));
        }
        let (before, after) = self.volatility.track(price_wad, now, &cfg)?;
        self.retarget_multipliers(after.regime, now);
        let changed = (after.regime != before.regime).then_some(MarketRegimeChanged {
            market: key,
            from: before.regime as u8,
            to: after.regime as u8,
            annual_vol_bps: self.volatility.annual_vol_bps,
            drawdown_bps: self.volatility.drawdown_bps,
            asset_multiplier_bps: self.asset_multiplier.to_bps,
            liability_multiplier_bps: self.liability_multiplier.to_bps,
            timestamp: now,
        });
        Ok((true, changed))
    }

    /// Moves the stable price towards the oracle mid price `price` (WAD per base unit).
    pub fn observe_stable_price(&mut self, price: u128, now: i64) -> Result<()> {
        let next = stable_price::observe(&self.stable_price.state(), price, now, &self.config.stable_price.params())
            .or_ballast()?;
        self.stable_price.store(&next);
        Ok(())
    }

    /// Counts a borrow of `amount` priced at `price` (WAD per base unit, the liability
    /// side) against the USD borrow limit: `BorrowLimitExceeded` past it.
    pub fn record_borrow(&mut self, amount: u64, price: u128, now: i64) -> Result<()> {
        let params = self.config.limits.borrow_limit();
        let next =
            borrow_limit::record_borrow(&self.borrow_window.state(), amount, price, now, &params).or_ballast()?;
        self.borrow_window.store(&next);
        Ok(())
    }

    /// Counts a repayment of `amount`: frees room under the USD borrow limit.
    pub fn record_repay(&mut self, amount: u64, now: i64) {
        let next =
            borrow_limit::record_repay(&self.borrow_window.state(), amount, now, &self.config.limits.borrow_limit());
        self.borrow_window.store(&next);
    }
}

/// Circuit breakers.
impl Market {
    /// Whether the price move guard keeps the market reduce-only at `now`.
    pub fn is_reduce_only(&self, now: i64) -> bool {
        price_guard::is_reduce_only(&self.breakers.price_guard(), now)
    }

    /// Fails with `MarketReduceOnly` while the guard's cooldown runs.
    pub fn require_not_reduce_only(&self, now: i64) -> Result<()> {
        require!(!self.is_reduce_only(now), BallastError::MarketReduceOnly);
        Ok(())
    }

    /// Feeds the guard the oracle mid price per base unit (WAD) this instruction read at
    /// `now` (the reading it uses, never a stored sample) and stores the new state.
    /// Returns the event to emit when this observation tripped the guard.
    pub fn observe_price(&mut self, key: Pubkey, price: u128, now: i64) -> Result<Option<PriceGuardTripped>> {
        let before = self.breakers.price_guard();
        let (after, tripped) =
            price_guard::observe_price(&before, price, now, &self.config.breakers.price_guard()).or_ballast()?;
        self.breakers.store_price_guard(&after);
        Ok(tripped.then_some(PriceGuardTripped {
            market: key,
            reference_price: before.window_start_price_wad,
            price,
            reference_ts: before.window_start_ts,
            reduce_only_until: after.reduce_only_until_ts,
        }))
    }

    /// Deposits in tokens at the current indices, saturated to `u64`.
    fn total_deposits_u64(&self) -> Result<u64> {
        let deposits = self.indices().total_deposits().or_ballast()?;
        Ok(u64::try_from(deposits).unwrap_or(u64::MAX))
    }

    /// Records a withdrawal or borrow of `amount` leaving the vault (call before the
    /// deposits change); `OutflowLimitExceeded` past the window's capacity, unless small.
    pub fn record_outflow(&mut self, amount: u64, now: i64) -> Result<()> {
        let deposits = self.total_deposits_u64()?;
        let params = self.config.breakers.outflow();
        let after = outflow::record_outflow(&self.breakers.outflow(), amount, deposits, now, &params).or_ballast()?;
        self.breakers.store_outflow(&after);
        Ok(())
    }

    /// Records a deposit or repayment of `amount`: always passes and frees room at once.
    pub fn record_inflow(&mut self, amount: u64) {
        let after = outflow::record_inflow(&self.breakers.outflow(), amount);
        self.breakers.store_outflow(&after);
    }
}
