use anchor_lang::prelude::*;
use ballast_risk::auction::AuctionParams;
use ballast_risk::gates;
use ballast_risk::governance::{validate_timelock_params, TimelockParams};
use ballast_risk::guardian::{self, validate_guardian_params, GuardianParams, GuardianState};
use ballast_risk::oracle::OracleLimits;
use ballast_risk::params::{MAX_CONF_BPS, MAX_EMA_DEVIATION_BPS, MAX_ORACLE_AGE_SECS};
use ballast_risk::regime::{
    track, validate_settings, validate_thresholds, Regime, RegimeSettings, RegimeState, RegimeThresholds,
};
use ballast_risk::staking::{Drip, ExitPenaltyBounds, LockParams, MAX_COOLDOWN_SECS, MAX_DRIP_SECS};
use ballast_risk::volatility::{validate_volatility_params, VolatilityParams, VolatilityState};
use ballast_risk::BPS;

use super::oracle_source::OracleSource;
use super::pod::PodU128;
use crate::constants::{PROTOCOL_SEED, REWARD_STREAMS};
use crate::errors::{param_error, BallastError, OrBallast};

/// Longest buyback epoch: 30 days.
pub const MAX_BUYBACK_EPOCH_SECS: u32 = 30 * 86_400;

/// How an asset's volatility is sampled (see `ballast_risk::volatility`) and the regime
/// thresholds with hysteresis (see `ballast_risk::regime`): the native token's in
/// `ProtocolConfig`, each market's in its `MarketConfig`.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct VolatilityConfig {
    /// Samples closer together than this are refused.
    pub min_sample_interval_secs: u32,
    /// Time constant of the EWMA of squared returns.
    pub var_time_constant_secs: u32,
    /// Time constant of the EMA price that drawdowns are measured from.
    pub ema_time_constant_secs: u32,
    /// A longer gap between samples counts as this long (an outage cannot dilute a move).
    pub max_gap_secs: u32,
    /// Annualised volatility entering Elevated, Stressed, Crisis.
    pub enter_vol_bps: [u32; 3],
    /// ... and below which each is left (lower than the entry: hysteresis).
    pub exit_vol_bps: [u32; 3],
    /// Drawdown from the EMA price entering Elevated, Stressed, Crisis.
    pub enter_drawdown_bps: [u32; 3],
    pub exit_drawdown_bps: [u32; 3],
    /// A regime is held at least this long before stepping down.
    pub min_dwell_secs: u32,
}

impl VolatilityConfig {
    /// One-minute samples; one-day variance and three-day EMA time constants; gaps
    /// count as at most an hour; Elevated / Stressed / Crisis entered at 80% / 120% /
    /// 200% annualised volatility or 15% / 30% / 50% drawdown, left below 60% / 100% /
    /// 160% and 10% / 20% / 40%; six hours' dwell.
    pub const fn standard() -> VolatilityConfig {
        VolatilityConfig {
            min_sample_interval_secs: 60,
            var_time_constant_secs: 86_400,
            ema_time_constant_secs: 3 * 86_400,
            max_gap_secs: 3_600,
            enter_vol_bps: [8_000, 12_000, 20_000],
            exit_vol_bps: [6_000, 10_000, 16_000],
            enter_drawdown_bps: [1_500, 3_000, 5_000],
            exit_drawdown_bps: [1_000, 2_000, 4_000],
            min_dwell_secs: 6 * 3_600,
        }
    }

    pub fn params(&self) -> VolatilityParams {
        VolatilityParams {
            min_sample_interval_secs: self.min_sample_interval_secs,
            var_time_constant_secs: self.var_time_constant_secs,
            ema_time_constant_secs: self.ema_time_constant_secs,
            max_gap_secs: self.max_gap_secs,
        }
    }

    /// `InvalidVolatilityParams` or `InvalidRegimeThresholds` when out of bounds.
    pub fn validate(&self) -> Result<()> {
        validate_volatility_params(&self.params()).map_err(param_error)?;
        validate_thresholds(&self.thresholds()).map_err(param_error)
    }

    pub fn thresholds(&self) -> RegimeThresholds {
        RegimeThresholds {
            enter_vol_bps: self.enter_vol_bps,
            exit_vol_bps: self.exit_vol_bps,
            enter_drawdown_bps: self.enter_drawdown_bps,
            exit_drawdown_bps: self.exit_drawdown_bps,
            min_dwell_secs: self.min_dwell_secs,
        }
    }
}

/// What the native token's regime sets (see `ballast_risk::regime::RegimeSettings`).
/// Counter-cyclical: from Calm to Crisis emissions never rise, the buyback budget,
/// premium cap and exit penalty never fall. (The native token's own market, like every
/// market, moves its weights with its own regime: `MarketConfig::regime_weights`.)
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct RegimeRow {
    /// Native base units minted per second to stakers (0: no emissions).
    pub emission_rate_per_sec: u64,
    /// Share of a buyback pool (as it stands at the epoch's first fill) sellable per epoch.
    pub buyback_budget_bps: u32,
    /// Highest premium over the oracle the buyback auction pays.
    pub premium_cap_bps: u32,
    /// Share of the stake burned when leaving before the lock ends.
    pub exit_penalty_bps: u32,
    pub _padding: u32,
}

impl RegimeRow {
    /// Calm / Elevated / Stressed / Crisis: buyback budgets of 10 / 12.5 / 15 / 20% of
    /// the pool per epoch, premium caps of 3 / 5 / 8 / 12%, exit penalties of 10 / 15 /
    /// 20 / 30%; no emissions.
    pub const fn standard_table() -> [RegimeRow; 4] {
        const fn row(budget: u32, premium: u32, penalty: u32) -> RegimeRow {
            RegimeRow {
                emission_rate_per_sec: 0,
                buyback_budget_bps: budget,
                premium_cap_bps: premium,
                exit_penalty_bps: penalty,
                _padding: 0,
            }
        }
        [row(1_000, 300, 1_000), row(1_250, 500, 1_500), row(1_500, 800, 2_000), row(2_000, 1_200, 3_000)]
    }

    pub fn settings(&self) -> RegimeSettings {
        RegimeSettings {
            emission_rate_per_sec: self.emission_rate_per_sec,
            buyback_budget_bps: self.buyback_budget_bps,
            premium_cap_bps: self.premium_cap_bps,
            exit_penalty_bps: self.exit_penalty_bps,
        }
    }
}

/// Protocol-wide parameters: how fees are recycled, how the buyback auction runs, how
/// the native token's oracle is trusted and how staking works. Bounds-checked on-chain.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct ProtocolConfig {
    /// Shares of swept protocol fees; the three sum to 10_000.
    pub fee_insurance_bps: u32,
    pub fee_buyback_bps: u32,
    pub fee_stakers_bps: u32,
    /// Share of bought-back native tokens paid to stakers; the rest is burned.
    pub buyback_stakers_bps: u32,
    pub buyback_epoch_secs: u32,
    pub auction_duration_secs: u32,
    pub auction_start_discount_bps: u32,
    pub native_oracle_max_age_secs: u32,
    pub native_oracle_max_conf_bps: u32,
    pub native_oracle_max_ema_deviation_bps: u32,
    pub min_lock_secs: u32,
    pub max_lock_secs: u32,
    /// Extra stake weight with `max_lock_secs` left to run, in bps of the amount; it
    /// decays linearly to nothing as the lock runs down.
    pub max_lock_boost_bps: u32,
    pub unstake_cooldown_secs: u32,
    /// Lump rewards (buybacks, swept fees) are paid out to stakers over this period.
    pub reward_drip_secs: u32,
    /// The early-exit penalty (the regime's rate scaled by the share of the lock left)
    /// is at least this ...
    pub exit_penalty_floor_bps: u32,
    /// ... and at most this.
    pub exit_penalty_cap_bps: u32,
    /// How the native token's volatility is measured and when the regime moves.
    pub volatility: VolatilityConfig,
    /// What each regime (Calm, Elevated, Stressed, Crisis) sets: emissions, the buyback
    /// budget and premium cap and the exit penalty.
    pub regimes: [RegimeRow; 4],
    /// Limits on the guardian's trips.
    pub guardian: GuardianConfig,
    /// How long loosening governance changes wait, and how long they stay executable.
    pub timelock: TimelockConfig,
}

/// How long and how often the guardian may pause instructions (see
/// `ballast_risk::guardian`). Counts are `u32` so the config has no padding; they must
/// fit the engine's `u8`.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct GuardianConfig {
    /// Longest single trip.
    pub max_trip_secs: u32,
    /// A trip starting within this many seconds of the previous one's end follows it.
    pub consecutive_gap_secs: u32,
    /// Most trips in a row.
    pub max_consecutive: u32,
    /// Most trips in a day window.
    pub max_per_day: u32,
}

impl GuardianConfig {
    /// Trips of at most 30 minutes, at most 2 in a row (a trip starting within an hour of
    /// the previous one's end follows it) and 3 a day.
    pub const fn standard() -> GuardianConfig {
        GuardianConfig { max_trip_secs: 1_800, consecutive_gap_secs: 3_600, max_consecutive: 2, max_per_day: 3 }
    }

    /// The engine's limits, or `InvalidGuardianParams` when a count does not fit.
    pub fn params(&self) -> Result<GuardianParams> {
        let count = |n: u32| u8::try_from(n).map_err(|_| error!(BallastError::InvalidGuardianParams));
        Ok(GuardianParams {
            max_trip_secs: self.max_trip_secs,
            max_consecutive: count(self.max_consecutive)?,
            max_per_day: count(self.max_per_day)?,
            consecutive_gap_secs: self.consecutive_gap_secs,
        })
    }

    pub fn validate(&self) -> Result<()> {
        validate_guardian_params(&self.params()?).or_ballast()
    }
}

/// The governance timelock (see `ballast_risk::governance`): a loosening change waits
/// `delay_secs` after its proposal, then may execute for `grace_secs`.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct TimelockConfig {
    pub delay_secs: u32,
    pub grace_secs: u32,
}

impl TimelockConfig {
    /// Two days to react to a loosening change, then a week to execute it.
    pub const fn standard() -> TimelockConfig {
        TimelockConfig { delay_secs: 2 * 86_400, grace_secs: 7 * 86_400 }
    }

    pub fn params(&self) -> TimelockParams {
        TimelockParams { delay_secs: self.delay_secs, grace_secs: self.grace_secs }
    }

    /// Delay and grace within `ballast_risk::governance`'s bounds (`InvalidTimelockParams`).
    pub fn validate(&self) -> Result<()> {
        validate_timelock_params(&self.params()).or_ballast()
    }
}

impl ProtocolConfig {
    /// A reasonable start: fees 30% insurance / 40% buyback / 30% stakers; half of
    /// bought-back tokens to stakers; daily epochs; a one-hour auction starting 5% below
    /// the oracle; 60 s / 2% / 10% native oracle limits; locks of 1 week to 1 year with
    /// up to 2x weight; a 2-day cooldown; rewards dripped over a day; early-exit penalties
    /// within 1% and 30% of the stake; the standard
    /// volatility settings and regime table (no emissions); a
    /// 2-day timelock with a 7-day grace period.
    pub const fn standard() -> ProtocolConfig {
        ProtocolConfig {
            fee_insurance_bps: 3_000,
            fee_buyback_bps: 4_000,
            fee_stakers_bps: 3_000,
            buyback_stakers_bps: 5_000,
            buyback_epoch_secs: 86_400,
            auction_duration_secs: 3_600,
            auction_start_discount_bps: 500,
            native_oracle_max_age_secs: 60,
            native_oracle_max_conf_bps: 200,
            native_oracle_max_ema_deviation_bps: 1_000,
            min_lock_secs: 7 * 86_400,
            max_lock_secs: 365 * 86_400,
            max_lock_boost_bps: 10_000,
            unstake_cooldown_secs: 2 * 86_400,
            reward_drip_secs: 86_400,
            exit_penalty_floor_bps: 100,
            exit_penalty_cap_bps: 3_000,
            volatility: VolatilityConfig::standard(),
            regimes: RegimeRow::standard_table(),
            guardian: GuardianConfig::standard(),
            timelock: TimelockConfig::standard(),
        }
    }

    /// Whether staking emissions are on in some regime: the protocol must then be able
    /// to mint the native token.
    pub fn emits(&self) -> bool {
        self.regimes.iter().any(|r| r.emission_rate_per_sec > 0)
    }

    /// The settings of `regime`.
    pub fn regime(&self, regime: Regime) -> RegimeSettings {
        self.regimes[regime.index()].settings()
    }

    /// The auction curve in `regime` (its premium cap grows as the regime worsens).
    pub fn auction(&self, regime: Regime) -> AuctionParams {
        AuctionParams {
            duration_secs: self.auction_duration_secs,
            start_discount_bps: self.auction_start_discount_bps,
            premium_cap_bps: self.regime(regime).premium_cap_bps,
        }
    }

    pub fn locks(&self) -> LockParams {
        LockParams {
            min_lock_secs: self.min_lock_secs,
            max_lock_secs: self.max_lock_secs,
            max_boost_bps: self.max_lock_boost_bps,
        }
    }

    pub fn exit_penalty_bounds(&self) -> ExitPenaltyBounds {
        ExitPenaltyBounds { floor_bps: self.exit_penalty_floor_bps, cap_bps: self.exit_penalty_cap_bps }
    }

    /// The native token's price must be fresh and tight; the buyback is the only
    /// reader, so the liquidation limits are the same as the strict ones.
    pub fn native_oracle_limits(&self) -> OracleLimits {
        OracleLimits {
            max_age_secs: self.native_oracle_max_age_secs,
            liquidation_max_age_secs: self.native_oracle_max_age_secs,
            max_conf_bps: self.native_oracle_max_conf_bps,
            liquidation_max_conf_bps: self.native_oracle_max_conf_bps,
            max_ema_deviation_bps: self.native_oracle_max_ema_deviation_bps,
            conf_multiplier_bps: BPS as u32,
        }
    }

    /// Every group within its bounds, each with its own error.
    pub fn validate(&self) -> Result<()> {
        let shares =
            u64::from(self.fee_insurance_bps) + u64::from(self.fee_buyback_bps) + u64::from(self.fee_stakers_bps);
        require!(shares == BPS as u64 && self.buyback_stakers_bps <= BPS as u32, BallastError::InvalidFeeSplit);
        require!(
            Regime::ALL.iter().all(|&r| self.auction(r).is_valid())
                && (1..=MAX_BUYBACK_EPOCH_SECS).contains(&self.buyback_epoch_secs),
            BallastError::InvalidAuctionParams
        );
        require!(
            (1..=MAX_ORACLE_AGE_SECS).contains(&self.native_oracle_max_age_secs)
                && (1..=MAX_CONF_BPS).contains(&self.native_oracle_max_conf_bps)
                && (1..=MAX_EMA_DEVIATION_BPS).contains(&self.native_oracle_max_ema_deviation_bps),
            BallastError::InvalidOracleLimits
        );
        require!(
            self.locks().is_valid()
                && self.exit_penalty_bounds().is_valid()
                && self.unstake_cooldown_secs <= MAX_COOLDOWN_SECS
                && (1..=MAX_DRIP_SECS).contains(&self.reward_drip_secs),
            BallastError::InvalidStakingParams
        );
        self.volatility.validate()?;
        validate_settings(&self.regimes.map(|r| r.settings())).map_err(param_error)?;
        self.guardian.validate()?;
        self.timelock.validate()
    }
}

/// One reward stream's accumulator and dripping lump rewards (see `ballast_risk::staking`).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct RewardStream {
    pub acc_per_weight: PodU128,
    pub undripped: u64,
    pub drip_end: i64,
    pub last_update: i64,
}

impl RewardStream {
    pub fn drip(&self) -> Drip {
        Drip {
            acc_per_weight: self.acc_per_weight.get(),
            undripped: self.undripped,
            drip_end: self.drip_end,
            last_update: self.last_update,
        }
    }

    pub fn store(&mut self, d: &Drip) {
        self.acc_per_weight.set(d.acc_per_weight);
        self.undripped = d.undripped;
        self.drip_end = d.drip_end;
        self.last_update = d.last_update;
    }
}

/// The protocol's root account (PDA `["protocol"]`): who governs, the native token,
/// fee recycling, the staking pool and lifetime stats.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Protocol {
    /// Governance key (a multisig vault in production). Lists markets, sets parameters.
    pub admin: Pubkey,
    /// Proposed next admin during a two-step transfer; default when none.
    pub pending_admin: Pubkey,
    /// Key allowed only to tighten (trip breakers); default when none.
    pub guardian: Pubkey,
    /// The native token whose value Ballast protects.
    pub native_mint: Pubkey,
    /// The native token's Pyth feed (volatility samples, buyback pricing).
    pub native_oracle: OracleSource,
    /// Native token account (PDA `["stake_vault", protocol]`) holding staked tokens.
    pub stake_vault: Pubkey,
    /// Native token account (PDA `["reward_vault", protocol]`) holding native rewards.
    pub reward_vault: Pubkey,
    pub config: ProtocolConfig,
    /// Native tokens staked (including those cooling down).
    pub total_staked: u64,
    /// Sum of every escrow's checkpointed weight (`StakeEscrow::weight`); cooling-down
    /// stakes weigh nothing.
    pub total_weight: PodU128,
    /// Emissions have been minted up to this time.
    pub last_emission_ts: i64,
    /// Native tokens paid in by buyback keepers, ever.
    pub total_bought_back: u64,
    /// Native tokens burned, ever (buybacks and exit penalties).
    pub total_burned: u64,
    /// Native tokens minted as staking emissions, ever.
    pub total_emitted: u64,
    /// Stream 0: native tokens (buybacks and emissions); stream 1 + i: market i's token.
    pub reward_streams: [RewardStream; REWARD_STREAMS],
    /// Markets listed so far; the next market gets this index.
    pub market_count: u16,
    pub bump: u8,
    pub stake_vault_bump: u8,
    pub reward_vault_bump: u8,
    pub _padding: [u8; 3],
    /// The native token's volatility estimate and the regime it drives.
    pub volatility: VolatilityRecord,
    /// The native token's own market, once listed (its collateral multiplier follows
    /// the regime); default before.
    pub native_market: Pubkey,
    /// Instruction gates and the guardian's trip.
    pub breakers: ProtocolBreakers,
    /// Setup phase / launch and the proposal counter.
    pub governance: GovernanceState,
    /// Emissions credited to stakers but not yet minted (a governance change accrued
    /// them); the next staking instruction mints them.
    pub unminted_emissions: u64,
    /// Room for later state without a migration.
    pub _reserved: [u64; 18],
}

/// An asset's volatility estimate and regime: the last sample, the EWMA variance and EMA
/// price, the estimates derived from them and the regime (the native token's, kept by
/// `update_volatility`; each market's, kept by `refresh_market`). All zero before the
/// first sample.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct VolatilityRecord {
    /// Price (WAD per whole token) at the last sample.
    pub last_price_wad: PodU128,
    pub ema_price_wad: PodU128,
    /// EWMA of squared returns per second (WAD).
    pub var_rate_wad: PodU128,
    pub last_sample_ts: i64,
    pub regime_entered_at: i64,
    pub annual_vol_bps: u32,
    pub drawdown_bps: u32,
    /// `Regime` as its byte (0 Calm .. 3 Crisis).
    pub regime: u8,
    pub _padding: [u8; 7],
}

impl VolatilityRecord {
    pub fn state(&self) -> VolatilityState {
        VolatilityState {
            last_price_wad: self.last_price_wad.get(),
            last_sample_ts: self.last_sample_ts,
            ema_price_wad: self.ema_price_wad.get(),
            var_rate_wad: self.var_rate_wad.get(),
            annual_vol_bps: self.annual_vol_bps,
            drawdown_bps: self.drawdown_bps,
        }
    }

    pub fn regime_state(&self) -> Result<RegimeState> {
        Ok(RegimeState { regime: Regime::from_u8(self.regime).or_ballast()?, entered_at: self.regime_entered_at })
    }

    /// The regime in force (a corrupt byte is refused rather than read as Calm).
    pub fn regime(&self) -> Result<Regime> {
        Regime::from_u8(self.regime).or_ballast()
    }

    /// Takes the price sample `price_wad` (WAD per whole token) at `now` into the
    /// estimate and moves the regime (`ballast_risk::regime::track`); returns the regime
    /// before and after.
    pub fn track(&mut self, price_wad: u128, now: i64, cfg: &VolatilityConfig) -> Result<(RegimeState, RegimeState)> {
        let before = self.regime_state()?;
        let (vol, after) =
            track(&self.state(), before, price_wad, now, &cfg.params(), &cfg.thresholds()).or_ballast()?;
        self.store(&vol, &after);
        Ok((before, after))
    }

    /// When the next sample may be taken: at once before the first one, else the
    /// minimum interval after the last. The program's rule, shared with the keeper.
    pub fn next_sample_at(&self, cfg: &VolatilityConfig) -> i64 {
        if self.last_price_wad.get() == 0 {
            return i64::MIN;
        }
        self.last_sample_ts.saturating_add(i64::from(cfg.min_sample_interval_secs.max(1)))
    }

    /// Whether a sample at `now` would be taken.
    pub fn sample_due(&self, now: i64, cfg: &VolatilityConfig) -> bool {
        now >= self.next_sample_at(cfg)
    }

    pub fn store(&mut self, s: &VolatilityState, r: &RegimeState) {
        self.last_price_wad.set(s.last_price_wad);
        self.ema_price_wad.set(s.ema_price_wad);
        self.var_rate_wad.set(s.var_rate_wad);
        self.last_sample_ts = s.last_sample_ts;
        self.annual_vol_bps = s.annual_vol_bps;
        self.drawdown_bps = s.drawdown_bps;
        self.regime = r.regime as u8;
        self.regime_entered_at = r.entered_at;
    }
}

/// The admin's instruction gates and the guardian's record (see `ballast_risk::gates`
/// and `ballast_risk::guardian`).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ProtocolBreakers {
    /// Gate bits set by the admin: an instruction family is paused while its bit is set.
    pub gates: u64,
    /// Gate bits the guardian's trip pauses, while `guardian_paused_until_ts` is ahead.
    pub guardian_mask: u64,
    /// The guardian's trip runs while `now < guardian_paused_until_ts`.
    pub guardian_paused_until_ts: i64,
    /// Start of the guardian's current day window.
    pub guardian_day_start_ts: i64,
    pub guardian_trips_today: u8,
    /// Length of the guardian's current run of consecutive trips.
    pub guardian_consecutive: u8,
    pub _padding: [u8; 6],
}

impl ProtocolBreakers {
    pub fn guardian_state(&self) -> GuardianState {
        GuardianState {
            paused_until_ts: self.guardian_paused_until_ts,
            day_start_ts: self.guardian_day_start_ts,
            trips_today: self.guardian_trips_today,
            consecutive: self.guardian_consecutive,
        }
    }

    pub fn store_guardian_state(&mut self, s: &GuardianState) {
        self.guardian_paused_until_ts = s.paused_until_ts;
        self.guardian_day_start_ts = s.day_start_ts;
        self.guardian_trips_today = s.trips_today;
        self.guardian_consecutive = s.consecutive;
    }

    /// Whether the guardian's trip runs at `now`.
    pub fn guardian_paused(&self, now: i64) -> bool {
        guardian::is_paused(&self.guardian_state(), now)
    }

    /// The gate bits in force at `now`: the admin's and the running trip's.
    pub fn effective_gates(&self, now: i64) -> u64 {
        gates::effective(self.gates, self.guardian_mask, self.guardian_paused(now))
    }
}

/// Governance state of the protocol.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct GovernanceState {
    /// Proposals made so far; the next proposal's id (its PDA seed).
    pub proposal_count: u64,
    /// When `launch` ran (0 before).
    pub launched_at: i64,
    /// 0 during the setup phase (the admin lists markets and applies any change at
    /// once); 1 once launched (loosening changes and listings wait in the timelock).
    pub launched: u8,
    pub _padding: [u8; 7],
}

impl GovernanceState {
    pub fn is_launched(&self) -> bool {
        self.launched != 0
    }
}

pub const PROTOCOL_SIZE: usize =
    8 + 6 * 32 + 72 + 256 + 8 + 16 + 8 + 3 * 8 + REWARD_STREAMS * 40 + 8 + 80 + 32 + 40 + 24 + 8 + 18 * 8;
const _: () = assert!(core::mem::size_of::<VolatilityConfig>() == 68);
const _: () = assert!(core::mem::size_of::<RegimeRow>() == 24);
const _: () = assert!(core::mem::size_of::<GuardianConfig>() == 16);
const _: () = assert!(core::mem::size_of::<ProtocolConfig>() == 256);
const _: () = assert!(core::mem::size_of::<VolatilityRecord>() == 80);
const _: () = assert!(core::mem::size_of::<ProtocolBreakers>() == 40);
const _: () = assert!(core::mem::size_of::<GovernanceState>() == 24);
const _: () = assert!(core::mem::size_of::<TimelockConfig>() == 8);
const _: () = assert!(core::mem::size_of::<RewardStream>() == 40);
const _: () = assert!(8 + core::mem::size_of::<Protocol>() == PROTOCOL_SIZE);
const _: () = assert!(PROTOCOL_SIZE == 1600);

impl Protocol {
    pub fn signer_seeds(&self) -> [&[u8]; 2] {
        [PROTOCOL_SEED, core::slice::from_ref(&self.bump)]
    }

    pub fn total_weight(&self) -> u128 {
        self.total_weight.get()
    }

    /// The native token's regime in force.
    pub fn regime(&self) -> Result<Regime> {
        self.volatility.regime()
    }

    /// The settings of the regime in force.
    pub fn regime_settings(&self) -> Result<RegimeSettings> {
        Ok(self.config.regime(self.regime()?))
    }

    /// Fails with `InstructionPaused` while `gate` (a `ballast_risk::gates` bit) is set
    /// by the admin or by a running guardian trip. Every gated handler calls this first.
    pub fn require_open(&self, gate: u64, now: i64) -> Result<()> {
        require!(self.breakers.effective_gates(now) & gate == 0, BallastError::InstructionPaused);
        Ok(())
    }
}
