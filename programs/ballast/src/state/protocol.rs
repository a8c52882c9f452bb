use anchor_lang::prelude::*;
use ballast_risk::auction::{AuctionParams, MAX_PREMIUM_CAP_BPS};
use ballast_risk::governance::{validate_timelock_params, TimelockParams};
use ballast_risk::oracle::OracleLimits;
use ballast_risk::params::{MAX_CONF_BPS, MAX_EMA_DEVIATION_BPS, MAX_ORACLE_AGE_SECS};
use ballast_risk::staking::{Drip, LockParams, MAX_COOLDOWN_SECS, MAX_DRIP_SECS, MAX_EXIT_PENALTY_BPS};
use ballast_risk::BPS;

use super::pod::PodU128;
use crate::constants::{PROTOCOL_SEED, REWARD_STREAMS};
use crate::errors::{BallastError, OrBallast};

/// Longest buyback epoch: 30 days.
pub const MAX_BUYBACK_EPOCH_SECS: u32 = 30 * 86_400;
/// Most native tokens minted per second as staking emissions (in base units).
pub const MAX_EMISSION_RATE_PER_SEC: u64 = 1_000_000_000_000;

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
    /// Share of a buyback pool (as it stands at the epoch's first fill) sellable per epoch.
    pub buyback_budget_bps: u32,
    pub auction_duration_secs: u32,
    pub auction_start_discount_bps: u32,
    pub auction_premium_cap_bps: u32,
    pub native_oracle_max_age_secs: u32,
    pub native_oracle_max_conf_bps: u32,
    pub native_oracle_max_ema_deviation_bps: u32,
    pub min_lock_secs: u32,
    pub max_lock_secs: u32,
    /// Extra stake weight at the longest lock, in bps of the amount.
    pub max_lock_boost_bps: u32,
    pub unstake_cooldown_secs: u32,
    /// Share of the stake burned when leaving before the lock ends.
    pub exit_penalty_bps: u32,
    /// Lump rewards (buybacks, swept fees) are paid out to stakers over this period.
    pub reward_drip_secs: u32,
    /// Native base units minted per second to stakers (0: no emissions).
    pub emission_rate_per_sec: u64,
    /// How long loosening governance changes wait, and how long they stay executable.
    pub timelock: TimelockConfig,
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
    /// bought-back tokens to stakers; daily epochs selling up to 10% of a pool; a
    /// one-hour auction from 5% below the oracle to 3% above; 60 s / 2% / 10% native
    /// oracle limits; locks of 1 week to 1 year with up to 2x weight; a 2-day cooldown;
    /// a 10% exit penalty; rewards dripped over a day; no emissions; a 2-day timelock
    /// with a 7-day grace period.
    pub const fn standard() -> ProtocolConfig {
        ProtocolConfig {
            fee_insurance_bps: 3_000,
            fee_buyback_bps: 4_000,
            fee_stakers_bps: 3_000,
            buyback_stakers_bps: 5_000,
            buyback_epoch_secs: 86_400,
            buyback_budget_bps: 1_000,
            auction_duration_secs: 3_600,
            auction_start_discount_bps: 500,
            auction_premium_cap_bps: 300,
            native_oracle_max_age_secs: 60,
            native_oracle_max_conf_bps: 200,
            native_oracle_max_ema_deviation_bps: 1_000,
            min_lock_secs: 7 * 86_400,
            max_lock_secs: 365 * 86_400,
            max_lock_boost_bps: 10_000,
            unstake_cooldown_secs: 2 * 86_400,
            exit_penalty_bps: 1_000,
            reward_drip_secs: 86_400,
            emission_rate_per_sec: 0,
            timelock: TimelockConfig::standard(),
        }
    }

    /// Whether staking emissions are on: the protocol must then mint the native token.
    pub fn emits(&self) -> bool {
        self.emission_rate_per_sec > 0
    }

    pub fn auction(&self) -> AuctionParams {
        AuctionParams {
            duration_secs: self.auction_duration_secs,
            start_discount_bps: self.auction_start_discount_bps,
            premium_cap_bps: self.auction_premium_cap_bps,
        }
    }

    pub fn locks(&self) -> LockParams {
        LockParams {
            min_lock_secs: self.min_lock_secs,
            max_lock_secs: self.max_lock_secs,
            max_boost_bps: self.max_lock_boost_bps,
        }
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
            self.auction().is_valid()
                && self.auction_premium_cap_bps <= MAX_PREMIUM_CAP_BPS
                && (1..=MAX_BUYBACK_EPOCH_SECS).contains(&self.buyback_epoch_secs)
                && (1..=BPS as u32).contains(&self.buyback_budget_bps),
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
                && self.unstake_cooldown_secs <= MAX_COOLDOWN_SECS
                && self.exit_penalty_bps <= MAX_EXIT_PENALTY_BPS
                && (1..=MAX_DRIP_SECS).contains(&self.reward_drip_secs)
                && self.emission_rate_per_sec <= MAX_EMISSION_RATE_PER_SEC,
            BallastError::InvalidStakingParams
        );
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
    /// Pyth price account of the native token (buyback pricing).
    pub native_oracle: Pubkey,
    /// Native token account (PDA `["stake_vault", protocol]`) holding staked tokens.
    pub stake_vault: Pubkey,
    /// Native token account (PDA `["reward_vault", protocol]`) holding native rewards.
    pub reward_vault: Pubkey,
    pub config: ProtocolConfig,
    /// Native tokens staked (including those cooling down).
    pub total_staked: u64,
    /// Sum of every escrow's weight; cooling-down stakes weigh nothing.
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
    /// Setup phase / launch and the proposal counter.
    pub governance: GovernanceState,
    /// Room for later state without a migration.
    pub _reserved: [u64; 60],
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

pub const PROTOCOL_SIZE: usize = 8 + 7 * 32 + 88 + 8 + 16 + 8 + 3 * 8 + REWARD_STREAMS * 40 + 8 + 24 + 60 * 8;
const _: () = assert!(core::mem::size_of::<ProtocolConfig>() == 88);
const _: () = assert!(core::mem::size_of::<GovernanceState>() == 24);
const _: () = assert!(core::mem::size_of::<RewardStream>() == 40);
const _: () = assert!(8 + core::mem::size_of::<Protocol>() == PROTOCOL_SIZE);
const _: () = assert!(PROTOCOL_SIZE == 1568);

impl Protocol {
    pub fn signer_seeds(&self) -> [&[u8]; 2] {
        [PROTOCOL_SEED, core::slice::from_ref(&self.bump)]
    }

    pub fn total_weight(&self) -> u128 {
        self.total_weight.get()
    }
}
