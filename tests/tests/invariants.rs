//! Action-sequence fuzzer: random sequences of deposits, withdrawals, borrows, repays
//! (USDC, SOL and the native token, each a market), price moves, time, liquidations,
//! dust deposits into a collateral just seized, bad-debt write-offs, sweeps, buybacks,
//! staking (lock extensions, early exits and keepers' pokes included), the volatility crank, governance
//! changes (initial-health tightenings applied at once; anything that moves maintenance
//! health or loosens proposed and executed after the timelock) and guardian trips and
//! resumes, run against the real program on a launched
//! protocol. Actions may fail; the invariants may not. After every step:
//! - every market's vault holds what its books say (up to rounding dust in its favour);
//! - every market's total deposit and borrow shares are the sums of the margin
//!   accounts' shares in it;
//! - the native mint's supply is genesis + emitted - burned, the stake vault holds
//!   exactly the total staked;
//! - the protocol's total weight is the sum of the escrows' checkpointed weights, each at
//!   or above its escrow's true (decayed) weight by at most its decay since the
//!   checkpoint, and no weight rises but by a stake, an increase or a lock extension;
//! - an account is liquidated only if the test's own reference maintenance health
//!   ([`ReferenceHealth`]) is not clearly positive, and never refused as healthy when it
//!   is clearly negative;
//! - the breakers only ever refuse what they should: an instruction fails with
//!   `InstructionPaused` only while its family is paused, and always fails then; a
//!   borrow from a reduce-only market fails with `MarketReduceOnly`; deposits and
//!   repayments never meet the price guard or the outflow limiter, and liquidations
//!   never meet any breaker;
//! - a governance change that must wait never applies without the timelock.
//!
//! At the end of every sequence a plain keeper liquidates every account against every
//! (liability, collateral) pair while that makes progress, then writes off bad debt: no
//! account may be left holding debt below zero reference maintenance health.
//!
//! Half the sequences list the markets with the standard breakers (an outflow limit of
//! 25% of deposits per 6 hours), half with the test fixture's (no effective limit); the
//! price guard is on in both, and price jumps of 21-45% trip it.
//!
//! `BALLAST_FUZZ_CASES` (default 100) sets the number of sequences; a failing sequence
//! is shrunk and printed by proptest.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::{GovernanceAction, MarginAccount, Market, MarketConfig, WeightRamp};
use ballast_risk::gates;
use ballast_sim::ix::{self, BuybackFill, Liquidation, MarketTransfer};
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, BalanceChange, MarketHandle};
use ballast_tests::attack::assert_native_accounting;
use ballast_tests::*;
use proptest::prelude::*;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

const TRADERS: usize = 3;
const DAY: u32 = 86_400;
/// Native token base units each trader and the keeper start with (6 decimals).
const NATIVE_WALLET: u64 = 100_000_000_000;
/// 1 native token in base units.
const NATIVE: u64 = 1_000_000;
const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;
/// The reference health is computed in f64 with bps weights interpolated exactly, where
/// the program rounds ramped multipliers and scaled weights to whole bps (at most about
/// 2 bps of a weight, 0.02%) and index and value conversions to a base unit or a WAD.
/// An account whose reference health is within this share of its gross weighted value
/// (assets plus liabilities) of zero is too close to call: the liquidation check skips
/// it rather than assert either way.
const HEALTH_MARGIN: f64 = 1e-3;
/// Random actions per sequence, at most (after the opening deposits): sized so that the
/// default 100 sequences run in about three minutes in the debug profile.
const MAX_ACTIONS: usize = 32;
/// Rounds of the end-of-sequence keeper over every account and pair.
const KEEPER_ROUNDS: usize = 6;

/// The three listed tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asset {
    Usdc,
    Sol,
    Native,
}

impl Asset {
    const ALL: [Asset; 3] = [Asset::Usdc, Asset::Sol, Asset::Native];

    fn slot(self) -> usize {
        self as usize
    }

    /// A trader's notional per market, about $20,000 at the starting prices.
    fn notional(self) -> u64 {
        match self {
            Asset::Usdc => 20_000 * USDC,
            Asset::Sol => 200 * SOL,
            Asset::Native => 10_000 * NATIVE,
        }
    }

    fn starting_price(self) -> i64 {
        match self {
            Asset::Usdc => USD,
            Asset::Sol => SOL_PRICE,
            Asset::Native => NATIVE_PRICE,
        }
    }
}

/// An amount: a fraction (bps) of a per-market notional, so that most actions are
/// plausible, or a raw value to hit the edges (0, dust, u64::MAX).
#[derive(Debug, Clone, Copy)]
enum Amount {
    Bps(u16),
    Raw(u64),
}

impl Amount {
    fn of(self, notional: u64) -> u64 {
        match self {
            Amount::Bps(bps) => (u128::from(notional) * u128::from(bps) / 10_000) as u64,
            Amount::Raw(raw) => raw,
        }
    }
}

/// A market config change governance might make. Lower asset weights and higher
/// liability weights tighten (applied at once); the rest loosens (a liquidation bonus
/// change loosens either way) and waits in the timelock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigChange {
    /// The initial asset weight 5 points lower and the initial liability weight 5
    /// points higher: tightens initial health only, so it applies at once.
    TightenInitialWeights,
    /// Initial and maintenance asset weights 5 points lower.
    LowerAssetWeights,
    /// Initial and maintenance liability weights 5 points higher.
    RaiseLiabilityWeights,
    RaiseAssetWeights,
    LowerLiabilityWeights,
    /// The liquidation bonus 2 points higher or lower.
    LiquidationBonus {
        up: bool,
    },
}

impl ConfigChange {
    /// Whether `apply_change` takes it at once: only a tightening of initial health.
    /// Anything that moves maintenance health (either way) or loosens waits in the
    /// timelock, so an admin key cannot make accounts liquidatable in one slot.
    fn applies_at_once(self) -> bool {
        matches!(self, ConfigChange::TightenInitialWeights)
    }

    /// `config` with the change made; out-of-bounds results are for the program to refuse.
    fn applied_to(self, config: MarketConfig) -> MarketConfig {
        const STEP: u32 = 500;
        let mut c = config;
        match self {
            ConfigChange::TightenInitialWeights => {
                c.init_asset_weight_bps = c.init_asset_weight_bps.saturating_sub(STEP);
                c.init_liability_weight_bps += STEP;
            }
            ConfigChange::LowerAssetWeights => {
                c.init_asset_weight_bps = c.init_asset_weight_bps.saturating_sub(STEP);
                c.maint_asset_weight_bps = c.maint_asset_weight_bps.saturating_sub(STEP);
            }
            ConfigChange::RaiseLiabilityWeights => {
                c.init_liability_weight_bps += STEP;
                c.maint_liability_weight_bps += STEP;
            }
            ConfigChange::RaiseAssetWeights => {
                c.init_asset_weight_bps += STEP;
                c.maint_asset_weight_bps += STEP;
            }
            ConfigChange::LowerLiabilityWeights => {
                c.init_liability_weight_bps = c.init_liability_weight_bps.saturating_sub(STEP);
                c.maint_liability_weight_bps = c.maint_liability_weight_bps.saturating_sub(STEP);
            }
            ConfigChange::LiquidationBonus { up: true } => c.liquidation_bonus_bps += 200,
            ConfigChange::LiquidationBonus { up: false } => {
                c.liquidation_bonus_bps = c.liquidation_bonus_bps.saturating_sub(200)
            }
        }
        c
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Deposit {
        who: usize,
        asset: Asset,
        amount: Amount,
    },
    Withdraw {
        who: usize,
        asset: Asset,
        amount: Amount,
        all: bool,
    },
    Borrow {
        who: usize,
        asset: Asset,
        amount: Amount,
    },
    Repay {
        who: usize,
        asset: Asset,
        amount: Amount,
        all: bool,
    },
    /// SOL or the native token moves to `pct` percent of its starting price.
    MovePrice {
        asset: Asset,
        pct: u16,
    },
    /// SOL or the native token jumps `pct` percent up or down from where it is (at
    /// least 5% of its starting price): past the guard's 20% limit, so the next price
    /// read trips it.
    JumpPrice {
        asset: Asset,
        up: bool,
        pct: u16,
    },
    Wait {
        secs: u32,
    },
    Refresh {
        asset: Asset,
    },
    /// The keeper's crank of the native token's volatility.
    UpdateVolatility,
    /// The keeper liquidates `who`'s debt in one market against their collateral in
    /// another: the `pick`-th (modulo) pair they hold, or the markets `fallback` names
    /// when they hold none.
    Liquidate {
        who: usize,
        pick: u8,
        fallback: (Asset, Asset),
        max_repay: Amount,
    },
    /// The owner of the account last liquidated deposits `units` base units of the
    /// collateral it lost.
    DustAfterLiquidation {
        units: u64,
    },
    ResolveBadDebt {
        who: usize,
        asset: Asset,
    },
    Sweep {
        asset: Asset,
    },
    Buyback {
        asset: Asset,
        max_native_in: Amount,
    },
    Stake {
        who: usize,
        amount: Amount,
        lock_days: u8,
    },
    IncreaseStake {
        who: usize,
        amount: Amount,
    },
    ExtendLock {
        who: usize,
        lock_days: u16,
    },
    Unstake {
        who: usize,
    },
    WithdrawStake {
        who: usize,
    },
    ExitEarly {
        who: usize,
    },
    ClaimRewards {
        who: usize,
    },
    /// A keeper checkpoints the trader's escrow.
    PokeStake {
        who: usize,
    },
    ClaimMarketRewards {
        who: usize,
        asset: Asset,
    },
    /// The admin changes a market's config: at once if it tightens, else by proposal.
    Govern {
        asset: Asset,
        change: ConfigChange,
    },
    /// The oldest queued proposal is executed, once the clock is past its timelock.
    ExecuteProposal,
    GuardianTrip {
        secs: u32,
        mask: u64,
    },
    /// The trip ends: by the admin (any time) or by the keeper (once it ran out).
    Resume {
        by_admin: bool,
    },
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        8 => (1u16..=10_000).prop_map(Amount::Bps),
        1 => prop_oneof![Just(0u64), 1u64..1_000, Just(u64::MAX)].prop_map(Amount::Raw),
    ]
}

fn asset() -> impl Strategy<Value = Asset> {
    prop_oneof![Just(Asset::Usdc), Just(Asset::Sol), Just(Asset::Native)]
}

/// The tokens whose price moves (USDC holds its peg).
fn volatile_asset() -> impl Strategy<Value = Asset> {
    prop_oneof![Just(Asset::Sol), Just(Asset::Native)]
}

/// Two different assets: a liability and a collateral.
fn asset_pair() -> impl Strategy<Value = (Asset, Asset)> {
    (0usize..3, 1usize..3).prop_map(|(first, offset)| (Asset::ALL[first], Asset::ALL[(first + offset) % 3]))
}

fn config_change() -> impl Strategy<Value = ConfigChange> {
    prop_oneof![
        Just(ConfigChange::TightenInitialWeights),
        Just(ConfigChange::LowerAssetWeights),
        Just(ConfigChange::RaiseLiabilityWeights),
        Just(ConfigChange::RaiseAssetWeights),
        Just(ConfigChange::LowerLiabilityWeights),
        any::<bool>().prop_map(|up| ConfigChange::LiquidationBonus { up }),
    ]
}

/// Mostly masks the guardian may set; sometimes any defined bits, liquidations and
/// repayments included, which it may not.
fn gate_mask() -> impl Strategy<Value = u64> {
    let allowed = gates::ALL & !gates::GUARDIAN_FORBIDDEN;
    prop_oneof![
        3 => (0..13u32).prop_map(move |bit| (1u64 << bit) & allowed),
        2 => any::<u64>().prop_map(move |bits| bits & allowed),
        1 => any::<u64>().prop_map(|bits| bits & gates::ALL),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..TRADERS;
    prop_oneof![
        4 => (who.clone(), asset(), amount()).prop_map(|(who, asset, amount)| Action::Deposit { who, asset, amount }),
        2 => (who.clone(), asset(), amount(), any::<bool>())
            .prop_map(|(who, asset, amount, all)| Action::Withdraw { who, asset, amount, all }),
        4 => (who.clone(), asset(), amount()).prop_map(|(who, asset, amount)| Action::Borrow { who, asset, amount }),
        2 => (who.clone(), asset(), amount(), any::<bool>())
            .prop_map(|(who, asset, amount, all)| Action::Repay { who, asset, amount, all }),
        3 => (volatile_asset(), 10u16..=160).prop_map(|(asset, pct)| Action::MovePrice { asset, pct }),
        2 => (volatile_asset(), any::<bool>(), 21u16..=45)
            .prop_map(|(asset, up, pct)| Action::JumpPrice { asset, up, pct }),
        2 => prop_oneof![1u32..3_600, 86_400u32..30 * 86_400].prop_map(|secs| Action::Wait { secs }),
        1 => asset().prop_map(|asset| Action::Refresh { asset }),
        1 => Just(Action::UpdateVolatility),
        4 => (who.clone(), any::<u8>(), asset_pair(), amount()).prop_map(|(who, pick, fallback, max_repay)| {
            Action::Liquidate { who, pick, fallback, max_repay }
        }),
        2 => (1u64..=3).prop_map(|units| Action::DustAfterLiquidation { units }),
        1 => (who.clone(), asset()).prop_map(|(who, asset)| Action::ResolveBadDebt { who, asset }),
        1 => asset().prop_map(|asset| Action::Sweep { asset }),
        1 => (asset(), amount()).prop_map(|(asset, max_native_in)| Action::Buyback { asset, max_native_in }),
        2 => (who.clone(), amount(), 0u8..=200).prop_map(|(who, amount, lock_days)| Action::Stake { who, amount, lock_days }),
        1 => (who.clone(), amount()).prop_map(|(who, amount)| Action::IncreaseStake { who, amount }),
        1 => (who.clone(), 0u16..=400).prop_map(|(who, lock_days)| Action::ExtendLock { who, lock_days }),
        1 => who.clone().prop_map(|who| Action::Unstake { who }),
        1 => who.clone().prop_map(|who| Action::WithdrawStake { who }),
        1 => who.clone().prop_map(|who| Action::ExitEarly { who }),
        1 => who.clone().prop_map(|who| Action::ClaimRewards { who }),
        1 => who.clone().prop_map(|who| Action::PokeStake { who }),
        1 => (who, asset()).prop_map(|(who, asset)| Action::ClaimMarketRewards { who, asset }),
        2 => (asset(), config_change()).prop_map(|(asset, change)| Action::Govern { asset, change }),
        1 => Just(Action::ExecuteProposal),
        1 => (1u32..=2_400, gate_mask()).prop_map(|(secs, mask)| Action::GuardianTrip { secs, mask }),
        1 => any::<bool>().prop_map(|by_admin| Action::Resume { by_admin }),
    ]
}

/// Maintenance health of one margin account as the test computes it, in USD: deposits
/// at (price - conf x conf_multiplier) x maintenance asset weight x the asset multiplier
/// in force, less debts at (price + conf x conf_multiplier) x maintenance liability
/// weight x the liability multiplier in force, interest accrued to now.
#[derive(Debug, Clone, Copy)]
struct ReferenceHealth {
    health: f64,
    /// Too close to call within this distance of zero (see [`HEALTH_MARGIN`]).
    margin: f64,
    has_debt: bool,
}

impl ReferenceHealth {
    fn is_healthy(&self) -> bool {
        self.health >= self.margin
    }

    fn is_unhealthy(&self) -> bool {
        self.health < -self.margin
    }
}

/// One market as the reference health sees it at a given time.
struct ReferenceMarket {
    /// USD per base unit.
    asset_price: f64,
    liability_price: f64,
    /// Tokens per deposit and per debt share, interest accrued.
    tokens_per_deposit_share: f64,
    tokens_per_debt_share: f64,
    maint_asset_weight: f64,
    maint_liability_weight: f64,
}

impl ReferenceMarket {
    /// `market` priced by the feed publishing `feed`, at `now`. The test's feeds publish
    /// an EMA equal to the price, so the program's EMA bound on both prices never binds.
    fn new(market: &Market, feed: &PythPrice, now: i64) -> ReferenceMarket {
        let config = &market.config;
        let usd_per_unit = 10f64.powi(feed.expo) / 10f64.powi(i32::from(market.decimals));
        let price = feed.price as f64;
        let band = feed.conf as f64 * f64::from(config.oracle_conf_multiplier_bps) / 1e4;
        // A feed too old or too wide even for a liquidation prices deposits at zero.
        let usable = now - feed.publish_time <= i64::from(config.oracle_liquidation_max_age_secs)
            && feed.conf as f64 * 1e4 <= f64::from(config.oracle_liquidation_max_conf_bps) * price;
        let asset_price = if usable { (price - band).max(0.0) * usd_per_unit } else { 0.0 };
        let liability_price = (price + band) * usd_per_unit;

        // Simple interest since the last accrual at the utilisation of the stored books,
        // as one accrual step does; depositors get all of it but the protocol's fee.
        let wad = 1e18;
        let deposit_index = market.deposit_index.get() as f64 / wad;
        let borrow_index = market.borrow_index.get() as f64 / wad;
        let deposit_shares = market.total_deposit_shares.get() as f64;
        let borrow_shares = market.total_borrow_shares.get() as f64;
        let (deposits, borrows) = (deposit_shares * deposit_index, borrow_shares * borrow_index);
        let utilization = if deposits > 0.0 { (borrows / deposits).min(1.0) } else { f64::from(borrows > 0.0) };
        let elapsed = (now - market.last_accrual_ts).max(0) as f64;
        let borrow_index_now = borrow_index * (1.0 + annual_rate(config, utilization) * elapsed / SECONDS_PER_YEAR);
        let interest = borrow_shares * (borrow_index_now - borrow_index);
        let to_depositors = interest * (1.0 - f64::from(config.protocol_fee_bps) / 1e4);
        let deposit_index_now =
            if deposit_shares > 0.0 { deposit_index + to_depositors / deposit_shares } else { deposit_index };

        // The regime multipliers only ever lower asset weights and raise liability ones.
        let asset_multiplier = ramp_value(&market.asset_multiplier, now).min(1.0);
        let liability_multiplier = ramp_value(&market.liability_multiplier, now).max(1.0);
        ReferenceMarket {
            asset_price,
            liability_price,
            tokens_per_deposit_share: deposit_index_now,
            tokens_per_debt_share: borrow_index_now,
            maint_asset_weight: f64::from(config.maint_asset_weight_bps) / 1e4 * asset_multiplier,
            maint_liability_weight: f64::from(config.maint_liability_weight_bps) / 1e4 * liability_multiplier,
        }
    }
}

/// The kinked borrow rate (a fraction a year) at `utilization` (0 to 1).
fn annual_rate(config: &MarketConfig, utilization: f64) -> f64 {
    let bps = |v: u32| f64::from(v) / 1e4;
    let kink = bps(config.optimal_utilization_bps);
    let (base, optimal, max) = (bps(config.base_rate_bps), bps(config.optimal_rate_bps), bps(config.max_rate_bps));
    if utilization <= kink {
        base + (optimal - base) * utilization / kink
    } else {
        optimal + (max - optimal) * (utilization - kink) / (1.0 - kink)
    }
}

/// Where a weight multiplier ramp stands at `now`, as a fraction: linear from its
/// start value to its target over `ramp_secs`.
fn ramp_value(ramp: &WeightRamp, now: i64) -> f64 {
    let elapsed = (now - ramp.start_ts) as f64;
    let progress = if ramp.ramp_secs == 0 { 1.0 } else { (elapsed / f64::from(ramp.ramp_secs)).clamp(0.0, 1.0) };
    let (from, to) = (f64::from(ramp.from_bps), f64::from(ramp.to_bps));
    (from + (to - from) * progress) / 1e4
}

/// A queued governance proposal the test made.
#[derive(Debug, Clone)]
struct Proposal {
    id: u64,
    action: GovernanceAction,
    ready_at: i64,
}

struct World {
    fx: Fixture,
    native_market: MarketHandle,
    traders: Vec<(Trader, ix::Staker)>,
    keeper: Trader,
    keeper_native: Pubkey,
    guardian: Keypair,
    /// What each feed publishes (mantissa, exponent `EXPO`), by `Asset::slot`.
    prices: [i64; 3],
    /// When the feeds last published.
    published_at: i64,
    proposals: Vec<Proposal>,
    /// The last successful liquidation: whose account lost which collateral.
    last_seizure: Option<(usize, Asset)>,
    /// Successful actions so far: each may leave the vaults a unit or two of rounding dust.
    done: u128,
    /// Each trader's escrow weight at the last check (0 without one), and the trader whose
    /// weight the last step may have raised (a stake, an increase or a lock extension).
    stake_weights: [u128; TRADERS],
    weight_may_rise: Option<usize>,
    /// How the last gated instruction ended, for the step log.
    last_outcome: String,
}

impl World {
    /// USDC, SOL and native markets with the standard breakers when `limiter`, else with
    /// the fixture's; a guardian named; the protocol launched.
    async fn new(limiter: bool) -> World {
        let mut fx = if limiter { Fixture::with_standard_breakers().await } else { Fixture::new().await };
        let native_mint = fx.native_mint;
        let (deposit_cap, borrow_cap) = (10_000_000 * NATIVE, 8_000_000 * NATIVE);
        let native_config = if limiter {
            MarketConfig::conservative(deposit_cap, borrow_cap)
        } else {
            standard_config(deposit_cap, borrow_cap)
        };
        let listing_price = PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now);
        let native_market = fx.rt.list_market(native_mint, listing_price, native_config).await;
        let mut traders = Vec::new();
        for _ in 0..TRADERS {
            let t = fx.trader(20_000 * USDC, 200 * SOL).await;
            let owner_native = fx.rt.funded_token_account(&native_mint, &t.key.pubkey(), NATIVE_WALLET).await;
            let staker = ix::Staker { owner: t.key.pubkey(), native_mint, owner_native };
            traders.push((t, staker));
        }
        let keeper = fx.trader(1_000_000 * USDC, 10_000 * SOL).await;
        let keeper_native = fx.rt.funded_token_account(&native_mint, &keeper.key.pubkey(), 10 * NATIVE_WALLET).await;
        // The keeper also lends about $100,000 in every market, so that most borrows
        // find liquidity and sequences reach debt, crashes and bad debt.
        let loans = [
            (fx.usdc, keeper.usdc, 100_000 * USDC),
            (fx.sol, keeper.sol, 1_000 * SOL),
            (native_market, keeper_native, 50_000 * NATIVE),
        ];
        for (market, user_token, amount) in loans {
            let owner = keeper.key.pubkey();
            let lend = MarketTransfer { owner, margin_account: keeper.margin_account, market: market.key, user_token };
            fx.rt.send(&[ix::deposit(&lend, amount)], &[&keeper.key]).await.expect("the keeper lends");
        }
        let guardian = Keypair::new();
        let admin = fx.rt.admin.insecure_clone();
        let setup = [ix::set_guardian(admin.pubkey(), guardian.pubkey()), ix::launch(admin.pubkey())];
        fx.rt.send(&setup, &[&admin]).await.expect("the admin names the guardian and launches");
        let mut world = World {
            fx,
            native_market,
            traders,
            keeper,
            keeper_native,
            guardian,
            prices: Asset::ALL.map(Asset::starting_price),
            published_at: 0,
            proposals: Vec::new(),
            last_seizure: None,
            done: 0,
            last_outcome: String::new(),
            stake_weights: [0; TRADERS],
            weight_may_rise: None,
        };
        world.publish_prices();
        world
    }

    fn market(&self, asset: Asset) -> MarketHandle {
        match asset {
            Asset::Usdc => self.fx.usdc,
            Asset::Sol => self.fx.sol,
            Asset::Native => self.native_market,
        }
    }

    fn asset_of(&self, market_index: u16) -> Option<Asset> {
        Asset::ALL.into_iter().find(|&a| self.market(a).index == market_index)
    }

    fn trader_token(&self, who: usize, asset: Asset) -> Pubkey {
        let (trader, staker) = &self.traders[who];
        match asset {
            Asset::Usdc => trader.usdc,
            Asset::Sol => trader.sol,
            Asset::Native => staker.owner_native,
        }
    }

    fn keeper_token(&self, asset: Asset) -> Pubkey {
        match asset {
            Asset::Usdc => self.keeper.usdc,
            Asset::Sol => self.keeper.sol,
            Asset::Native => self.keeper_native,
        }
    }

    fn transfer(&self, who: usize, asset: Asset) -> MarketTransfer {
        let trader = &self.traders[who].0;
        MarketTransfer {
            owner: trader.key.pubkey(),
            margin_account: trader.margin_account,
            market: self.market(asset).key,
            user_token: self.trader_token(who, asset),
        }
    }

    /// Every margin account there is: the traders' and the keeper's.
    fn margin_accounts(&self) -> Vec<Pubkey> {
        let mut accounts: Vec<Pubkey> = self.traders.iter().map(|(t, _)| t.margin_account).collect();
        accounts.push(self.keeper.margin_account);
        accounts
    }

    /// What `asset`'s feed publishes now.
    fn feed(&self, asset: Asset) -> PythPrice {
        PythPrice::steady(self.prices[asset.slot()], EXPO, self.published_at)
    }

    /// Re-publishes every feed at the current time, the protocol's native feed with the
    /// native market's price.
    fn publish_prices(&mut self) {
        self.published_at = self.fx.rt.now;
        for asset in Asset::ALL {
            let (oracle, feed) = (self.market(asset).oracle, self.feed(asset));
            self.fx.rt.set_price(&oracle, &feed);
        }
        self.fx.set_native_price(self.prices[Asset::Native.slot()]);
    }

    /// The gate bits in force: the admin's, and the guardian's while its trip runs.
    async fn paused_gates(&mut self) -> u64 {
        let breakers = self.fx.rt.protocol().await.breakers;
        let trip_runs = self.fx.rt.now < breakers.guardian_paused_until_ts;
        breakers.gates | if trip_runs { breakers.guardian_mask } else { 0 }
    }

    /// Sends an instruction of the family `gate` and checks the gates: it is refused as
    /// paused only while its family is paused, and never runs then.
    async fn send_gated(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        gate: u64,
    ) -> Result<(), BanksClientError> {
        let paused = self.paused_gates().await & gate != 0;
        let result = self.fx.rt.send(ixs, signers).await;
        self.last_outcome = describe(&result);
        if custom_error(&result) == Some(u32::from(BallastError::InstructionPaused)) {
            assert!(paused, "refused as paused, but gate {gate:#x} is open");
        }
        assert!(!paused || result.is_err(), "ran while gate {gate:#x} is paused");
        result
    }

    /// `who` sends an instruction of the family `gate`.
    async fn as_trader(&mut self, who: usize, ix: Instruction, gate: u64) -> Result<(), BanksClientError> {
        let key = self.traders[who].0.key.insecure_clone();
        self.send_gated(&[ix], &[&key], gate).await
    }

    /// A deposit or repayment: neither the price guard nor the outflow limiter may refuse it.
    async fn as_trader_unlimited(&mut self, who: usize, ix: Instruction, gate: u64) -> bool {
        let result = self.as_trader(who, ix, gate).await;
        assert_no_market_breaker(&result);
        result.is_ok()
    }

    /// Runs one action; returns whether it succeeded.
    async fn step(&mut self, action: Action) -> bool {
        self.weight_may_rise = match action {
            Action::Stake { who, .. } | Action::IncreaseStake { who, .. } | Action::ExtendLock { who, .. } => Some(who),
            _ => None,
        };
        match action {
            Action::Deposit { who, asset, amount } => {
                let ix = ix::deposit(&self.transfer(who, asset), amount.of(asset.notional()));
                self.as_trader_unlimited(who, ix, gates::DEPOSIT).await
            }
            Action::Withdraw { who, asset, amount, all } => {
                let (t, m) = (self.traders[who].0.margin_account, self.market(asset));
                let change = if all { BalanceChange::Closes(m.key) } else { BalanceChange::None };
                let health = self.fx.rt.health_accounts(&t, change).await;
                let ix = ix::withdraw(&self.transfer(who, asset), amount.of(asset.notional()), all, &health);
                self.as_trader(who, ix, gates::WITHDRAW).await.is_ok()
            }
            Action::Borrow { who, asset, amount } => self.borrow(who, asset, amount.of(asset.notional() / 2)).await,
            Action::Repay { who, asset, amount, all } => {
                let ix = ix::repay(&self.transfer(who, asset), amount.of(asset.notional() / 4), all);
                self.as_trader_unlimited(who, ix, gates::REPAY).await
            }
            Action::MovePrice { asset, pct } => {
                self.prices[asset.slot()] = asset.starting_price() / 100 * i64::from(pct);
                self.publish_prices();
                true
            }
            Action::JumpPrice { asset, up, pct } => {
                let factor = if up { 100 + i64::from(pct) } else { 100 - i64::from(pct) };
                let floor = asset.starting_price() / 20;
                self.prices[asset.slot()] = (self.prices[asset.slot()] / 100 * factor).max(floor);
                self.fx.rt.advance(1);
                self.publish_prices();
                true
            }
            Action::Wait { secs } => {
                self.fx.rt.advance(i64::from(secs));
                self.publish_prices();
                true
            }
            Action::Refresh { asset } => {
                let m = self.market(asset);
                self.fx.rt.send(&[ix::refresh_market(m.key, m.oracle)], &[]).await.is_ok()
            }
            Action::UpdateVolatility => {
                let native = self.fx.rt.native();
                let ix = ix::update_volatility(native.mint, native.oracle);
                self.send_gated(&[ix], &[], gates::UPDATE_VOLATILITY).await.is_ok()
            }
            Action::Liquidate { who, pick, fallback, max_repay } => {
                let pairs = self.held_pairs(who).await;
                let (liability, collateral) =
                    if pairs.is_empty() { fallback } else { pairs[usize::from(pick) % pairs.len()] };
                self.liquidate(who, liability, collateral, max_repay.of(liability.notional())).await.is_ok()
            }
            Action::DustAfterLiquidation { units } => {
                let Some((who, asset)) = self.last_seizure else { return false };
                let ix = ix::deposit(&self.transfer(who, asset), units);
                self.as_trader_unlimited(who, ix, gates::DEPOSIT).await
            }
            Action::ResolveBadDebt { who, asset } => self.resolve_bad_debt(who, asset).await.is_ok(),
            Action::Sweep { asset } => {
                let ix = ix::sweep_fees(self.market(asset).key);
                self.send_gated(&[ix], &[], gates::SWEEP_FEES).await.is_ok()
            }
            Action::Buyback { asset, max_native_in } => {
                let (m, native) = (self.market(asset), self.fx.rt.native());
                let fill = BuybackFill {
                    keeper: self.keeper.key.pubkey(),
                    market: m.key,
                    oracle: m.oracle,
                    native_mint: native.mint,
                    native_oracle: native.oracle,
                    keeper_native: self.keeper_native,
                    keeper_pool_token: self.keeper_token(asset),
                };
                let ix = ix::buyback(&fill, max_native_in.of(NATIVE_WALLET / 100), 0);
                let keeper = self.keeper.key.insecure_clone();
                self.send_gated(&[ix], &[&keeper], gates::BUYBACK).await.is_ok()
            }
            Action::Stake { who, amount, lock_days } => {
                let ix = self.traders[who].1.stake(amount.of(NATIVE_WALLET / 10), u32::from(lock_days) * DAY);
                self.as_trader(who, ix, gates::STAKE).await.is_ok()
            }
            Action::IncreaseStake { who, amount } => {
                let ix = self.traders[who].1.increase_stake(amount.of(NATIVE_WALLET / 10));
                self.as_trader(who, ix, gates::STAKE).await.is_ok()
            }
            Action::ExtendLock { who, lock_days } => {
                let ix = self.traders[who].1.extend_lock(u32::from(lock_days) * DAY);
                self.as_trader(who, ix, gates::STAKE).await.is_ok()
            }
            Action::Unstake { who } => {
                let ix = self.traders[who].1.unstake();
                self.as_trader(who, ix, gates::UNSTAKE).await.is_ok()
            }
            Action::WithdrawStake { who } => {
                let ix = self.traders[who].1.withdraw_stake();
                self.as_trader(who, ix, gates::UNSTAKE).await.is_ok()
            }
            Action::ExitEarly { who } => {
                let ix = self.traders[who].1.exit_early();
                self.as_trader(who, ix, gates::UNSTAKE).await.is_ok()
            }
            Action::ClaimRewards { who } => {
                let ix = self.traders[who].1.claim_rewards();
                self.as_trader(who, ix, gates::CLAIM).await.is_ok()
            }
            Action::PokeStake { who } => {
                // Anyone may poke: the runtime's payer signs alone.
                let escrow = ix::stake_escrow_pda(&self.traders[who].0.key.pubkey());
                self.fx.rt.send(&[ix::poke_stake(escrow)], &[]).await.is_ok()
            }
            Action::ClaimMarketRewards { who, asset } => {
                let (m, token) = (self.market(asset), self.trader_token(who, asset));
                let ix = self.traders[who].1.claim_market_rewards(m.key, token);
                self.as_trader(who, ix, gates::CLAIM).await.is_ok()
            }
            Action::Govern { asset, change } => self.govern(asset, change).await,
            Action::ExecuteProposal => self.execute_proposal().await,
            Action::GuardianTrip { secs, mask } => {
                let guardian = self.guardian.insecure_clone();
                let ix = ix::guardian_trip(guardian.pubkey(), secs, mask);
                let result = self.fx.rt.send(&[ix], &[&guardian]).await;
                let forbidden = mask & gates::GUARDIAN_FORBIDDEN != 0;
                assert!(!(forbidden && result.is_ok()), "the guardian paused liquidations or repayments: {mask:#x}");
                result.is_ok()
            }
            Action::Resume { by_admin } => {
                let caller =
                    if by_admin { self.fx.rt.admin.insecure_clone() } else { self.keeper.key.insecure_clone() };
                self.fx.rt.send(&[ix::resume(caller.pubkey())], &[&caller]).await.is_ok()
            }
        }
    }

    /// A borrow: refused by name from a reduce-only market (unless its family is paused,
    /// which is checked first).
    async fn borrow(&mut self, who: usize, asset: Asset, amount: u64) -> bool {
        let (t, m) = (self.traders[who].0.margin_account, self.market(asset));
        let health = self.fx.rt.health_accounts(&t, BalanceChange::Opens(m.key)).await;
        let reduce_only = self.fx.rt.market(&m.key).await.breakers.reduce_only_until_ts > self.fx.rt.now;
        let paused = self.paused_gates().await & gates::BORROW != 0;
        let ix = ix::borrow(&self.transfer(who, asset), amount, &health);
        let result = self.as_trader(who, ix, gates::BORROW).await;
        if reduce_only && amount > 0 && !paused {
            assert_error(result, BallastError::MarketReduceOnly);
            return false;
        }
        result.is_ok()
    }

    /// The keeper liquidates `who` and checks the outcome against the reference health:
    /// an account clearly above zero is refused as healthy, one clearly below is never
    /// refused as healthy, and no breaker ever stops a liquidation.
    async fn liquidate(
        &mut self,
        who: usize,
        liability: Asset,
        collateral: Asset,
        max_repay: u64,
    ) -> Result<(), BanksClientError> {
        let victim = self.traders[who].0.margin_account;
        let l = Liquidation {
            liquidator: self.keeper.key.pubkey(),
            liquidatee: victim,
            liability_market: self.market(liability).key,
            liquidator_liability_token: self.keeper_token(liability),
            asset_market: self.market(collateral).key,
            liquidator_asset_token: self.keeper_token(collateral),
        };
        let reference = self.reference_health(&victim).await;
        let health = self.fx.rt.health_accounts(&victim, BalanceChange::None).await;
        let ix = ix::liquidate(&l, max_repay, &health);
        let keeper = self.keeper.key.insecure_clone();
        let result = self.send_gated(&[ix], &[&keeper], gates::LIQUIDATE).await;
        assert_no_market_breaker(&result);
        let refused_as_healthy = custom_error(&result) == Some(u32::from(BallastError::AccountHealthy));
        if reference.is_healthy() {
            assert!(refused_as_healthy, "liquidation of a healthy account ({reference:?}): {result:?}");
        }
        assert!(
            !(reference.is_unhealthy() && refused_as_healthy),
            "unhealthy account ({reference:?}) refused as healthy"
        );
        if result.is_ok() {
            self.last_seizure = Some((who, collateral));
        }
        result
    }

    async fn resolve_bad_debt(&mut self, who: usize, asset: Asset) -> Result<(), BanksClientError> {
        let account = self.traders[who].0.margin_account;
        let health = self.fx.rt.health_accounts(&account, BalanceChange::None).await;
        let ix = ix::resolve_bad_debt(account, self.market(asset).key, &health);
        self.send_gated(&[ix], &[], gates::RESOLVE_BAD_DEBT).await
    }

    /// The admin changes `asset`'s market config: a tightening applies at once, a
    /// loosening is refused at once and proposed instead.
    async fn govern(&mut self, asset: Asset, change: ConfigChange) -> bool {
        let m = self.market(asset);
        let config = change.applied_to(self.fx.rt.market(&m.key).await.config);
        let action = GovernanceAction::SetMarketConfig { market: m.key, config };
        let admin = self.fx.rt.admin.insecure_clone();
        let applied = self.fx.rt.send(&[ix::apply_change(admin.pubkey(), action.clone())], &[&admin]).await;
        if change.applies_at_once() {
            return applied.is_ok();
        }
        assert!(applied.is_err(), "a change that must wait ({change:?}) applied without the timelock");
        let protocol = self.fx.rt.protocol().await;
        let id = protocol.governance.proposal_count;
        let ready_at = self.fx.rt.now + i64::from(protocol.config.timelock.delay_secs);
        let proposed = self.fx.rt.send(&[ix::propose_change(admin.pubkey(), id, action.clone())], &[&admin]).await;
        if proposed.is_ok() {
            self.proposals.push(Proposal { id, action, ready_at });
        }
        proposed.is_ok()
    }

    /// Executes the oldest queued proposal, first waiting out its timelock if need be.
    async fn execute_proposal(&mut self) -> bool {
        if self.proposals.is_empty() {
            return false;
        }
        let proposal = self.proposals.remove(0);
        if self.fx.rt.now < proposal.ready_at {
            self.fx.rt.set_time(proposal.ready_at);
            self.publish_prices();
        }
        let ix = ix::execute_change(ix::proposal_pda(proposal.id), &proposal.action);
        self.fx.rt.send(&[ix], &[]).await.is_ok()
    }

    /// The reference maintenance health of `margin_account` now (see [`ReferenceHealth`]).
    async fn reference_health(&mut self, margin_account: &Pubkey) -> ReferenceHealth {
        let account: MarginAccount = self.fx.rt.margin_account(margin_account).await;
        let now = self.fx.rt.now;
        let (mut assets, mut liabilities, mut has_debt) = (0.0, 0.0, false);
        for balance in account.balances.iter().filter(|b| b.active != 0) {
            let asset = self.asset_of(balance.market_index).expect("a balance in a listed market");
            let market = self.fx.rt.market(&self.market(asset).key).await;
            let m = ReferenceMarket::new(&market, &self.feed(asset), now);
            let deposit = balance.deposit_shares.get() as f64 * m.tokens_per_deposit_share;
            let debt = balance.borrow_shares.get() as f64 * m.tokens_per_debt_share;
            assets += deposit * m.asset_price * m.maint_asset_weight;
            liabilities += debt * m.liability_price * m.maint_liability_weight;
            has_debt |= balance.borrow_shares.get() > 0;
        }
        ReferenceHealth { health: assets - liabilities, margin: HEALTH_MARGIN * (assets + liabilities), has_debt }
    }

    /// The (liability, collateral) pairs a liquidation of `who` could move: debt in the
    /// first, a deposit in the second.
    async fn held_pairs(&mut self, who: usize) -> Vec<(Asset, Asset)> {
        let account = self.fx.rt.margin_account(&self.traders[who].0.margin_account).await;
        let held = |shares: fn(&ballast::Balance) -> u128| -> Vec<Asset> {
            let active = account.balances.iter().filter(|b| b.active != 0 && shares(b) > 0);
            active.filter_map(|b| self.asset_of(b.market_index)).collect()
        };
        let (debts, deposits) = (held(|b| b.borrow_shares.get()), held(|b| b.deposit_shares.get()));
        debts.iter().flat_map(|&l| deposits.iter().map(move |&c| (l, c))).collect()
    }

    /// `who`'s balances, for a failure message.
    async fn describe_balances(&mut self, who: usize) -> String {
        let account = self.fx.rt.margin_account(&self.traders[who].0.margin_account).await;
        let active = account.balances.iter().filter(|b| b.active != 0);
        let described = active.map(|b| {
            let (deposit, debt) = (b.deposit_shares.get(), b.borrow_shares.get());
            format!("{:?}: {deposit} deposit shares, {debt} debt shares", self.asset_of(b.market_index))
        });
        described.collect::<Vec<_>>().join("; ")
    }

    async fn check_invariants(&mut self) {
        let slack = 4 * self.done + 4;
        for asset in Asset::ALL {
            let m = self.market(asset);
            self.fx.assert_books(&m, slack).await;
        }
        assert_native_accounting(&mut self.fx.rt).await;
        self.assert_share_totals().await;
        self.assert_stake_weights().await;
    }

    /// The total weight is the sum of the stored weights; each stored weight stands at or
    /// above the escrow's true weight now (computed here by hand), by at most the boost
    /// decayed since its checkpoint; none rose but the one the last step may raise.
    async fn assert_stake_weights(&mut self) {
        let protocol = self.fx.rt.protocol().await;
        let (max_lock, boost) =
            (u128::from(protocol.config.max_lock_secs), u128::from(protocol.config.max_lock_boost_bps));
        let now = self.fx.rt.now;
        let mut sum = 0;
        for who in 0..TRADERS {
            let owner = self.traders[who].0.key.pubkey();
            let stored = if self.fx.rt.raw_account(&ix::stake_escrow_pda(&owner)).await.is_some() {
                let e = self.fx.rt.stake_escrow(&owner).await;
                let left = u128::try_from(e.lock_end - now).unwrap_or(0).min(max_lock);
                let exact = if e.cooldown_end != 0 {
                    0
                } else {
                    u128::from(e.amount) * (max_lock * 10_000 + boost * left) / (max_lock * 10_000)
                };
                let since = u128::try_from(now - e.checkpoint_ts).unwrap_or(0).min(max_lock);
                let slack = u128::from(e.amount) * boost * since / (max_lock * 10_000) + 1;
                let stored = e.weight.get();
                assert!(
                    exact <= stored && stored - exact <= slack,
                    "trader {who}: stored weight {stored}, exact {exact}, slack {slack}"
                );
                stored
            } else {
                0
            };
            if self.weight_may_rise != Some(who) {
                assert!(
                    stored <= self.stake_weights[who],
                    "trader {who}: weight rose from {} to {stored}",
                    self.stake_weights[who]
                );
            }
            self.stake_weights[who] = stored;
            sum += stored;
        }
        assert_eq!(protocol.total_weight(), sum, "total weight against the escrows' weights");
        self.weight_may_rise = None;
    }

    /// Each market's total deposit and borrow shares are what the margin accounts hold.
    async fn assert_share_totals(&mut self) {
        let mut accounts = Vec::new();
        for key in self.margin_accounts() {
            accounts.push(self.fx.rt.margin_account(&key).await);
        }
        for asset in Asset::ALL {
            let handle = self.market(asset);
            let market = self.fx.rt.market(&handle.key).await;
            let balances = accounts.iter().flat_map(|a| a.balances.iter());
            let held: Vec<_> = balances.filter(|b| b.active != 0 && b.market_index == handle.index).collect();
            let deposit_shares: u128 = held.iter().map(|b| b.deposit_shares.get()).sum();
            let borrow_shares: u128 = held.iter().map(|b| b.borrow_shares.get()).sum();
            assert_eq!(market.total_deposit_shares.get(), deposit_shares, "{asset:?} deposit shares");
            assert_eq!(market.total_borrow_shares.get(), borrow_shares, "{asset:?} borrow shares");
        }
    }

    /// A plain keeper settles every account: it liquidates each one against every
    /// (liability, collateral) pair while that makes progress, then writes off what
    /// debt is left. Afterwards no account may hold debt below zero reference health.
    async fn settle_and_check_resolution(&mut self) {
        // The admin ends a guardian trip that would hold up write-offs, and the feeds
        // publish now so that every liquidation can price.
        let admin = self.fx.rt.admin.insecure_clone();
        self.fx.rt.send(&[ix::resume(admin.pubkey())], &[&admin]).await.expect("the admin may always resume");
        self.publish_prices();
        // Each account's attempts in the last round, for the failure message.
        let mut attempts: Vec<Vec<String>> = vec![Vec::new(); TRADERS];
        for _ in 0..KEEPER_ROUNDS {
            attempts.iter_mut().for_each(Vec::clear);
            let mut progress = false;
            for (who, tried) in attempts.iter_mut().enumerate() {
                for (liability, collateral) in self.held_pairs(who).await {
                    let result = self.liquidate(who, liability, collateral, u64::MAX).await;
                    let attempt = format!("liquidate {liability:?} for {collateral:?}: {}", describe(&result));
                    eprintln!("keeper, account {who}: {attempt}");
                    tried.push(attempt);
                    progress |= result.is_ok();
                    self.done += u128::from(result.is_ok());
                }
            }
            self.check_invariants().await;
            if !progress {
                break;
            }
        }
        for (who, tried) in attempts.iter_mut().enumerate() {
            for asset in Asset::ALL {
                let result = self.resolve_bad_debt(who, asset).await;
                let attempt = format!("resolve_bad_debt {asset:?}: {}", describe(&result));
                eprintln!("keeper, account {who}: {attempt}");
                tried.push(attempt);
                self.done += u128::from(result.is_ok());
            }
        }
        self.check_invariants().await;
        for (who, errors) in attempts.iter().enumerate() {
            let margin_account = self.traders[who].0.margin_account;
            let reference = self.reference_health(&margin_account).await;
            let balances = self.describe_balances(who).await;
            assert!(
                !(reference.has_debt && reference.is_unhealthy()),
                "account {who} holds debt the keeper cannot resolve ({reference:?})\nbalances: {balances}\nlast attempts:\n  {}",
                errors.join("\n  ")
            );
        }
    }
}

/// The custom error code `result` failed with, if any.
fn custom_error(result: &Result<(), BanksClientError>) -> Option<u32> {
    match result {
        Err(BanksClientError::TransactionError(TransactionError::InstructionError(_, InstructionError::Custom(c))))
        | Err(BanksClientError::SimulationError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(c)),
            ..
        }) => Some(*c),
        _ => None,
    }
}

/// `result` as the keeper's log would put it: ok, a Ballast error by name, or the raw error.
fn describe(result: &Result<(), BanksClientError>) -> String {
    const NAMED: [BallastError; 9] = [
        BallastError::AccountHealthy,
        BallastError::HealthAccountsMismatch,
        BallastError::NothingToLiquidate,
        BallastError::AccountHasCollateral,
        BallastError::LiabilityNotHeld,
        BallastError::AssetNotHeld,
        BallastError::InsufficientLiquidity,
        BallastError::InstructionPaused,
        BallastError::MathOverflow,
    ];
    match (result, custom_error(result)) {
        (Ok(()), _) => "ok".to_string(),
        (_, Some(code)) => match NAMED.iter().find(|&&e| u32::from(e) == code) {
            Some(e) => format!("{e:?} ({code})"),
            None => format!("custom error {code}"),
        },
        (Err(e), None) => format!("{e:?}"),
    }
}

/// Fails if `result` is the price guard's or the outflow limiter's refusal.
fn assert_no_market_breaker(result: &Result<(), BanksClientError>) {
    let breakers = [BallastError::MarketReduceOnly, BallastError::OutflowLimitExceeded];
    if let Some(code) = custom_error(result) {
        assert!(!breakers.iter().any(|&b| u32::from(b) == code), "refused by a market breaker: {code}");
    }
}

/// Every random sequence opens with each trader holding about $10,000 of collateral in
/// a market of its own, and one of them owing $6,000 against SOL (90% of what it may
/// borrow), so that random borrows find backing and SOL's moves find debt.
const OPENING: [Action; TRADERS + 1] = [
    Action::Deposit { who: 0, asset: Asset::Usdc, amount: Amount::Bps(5_000) },
    Action::Deposit { who: 1, asset: Asset::Sol, amount: Amount::Bps(5_000) },
    Action::Deposit { who: 2, asset: Asset::Native, amount: Amount::Bps(5_000) },
    Action::Borrow { who: 1, asset: Asset::Usdc, amount: Amount::Bps(6_000) },
];

async fn run(limiter: bool, actions: Vec<Action>) {
    eprintln!("standard breakers: {limiter}");
    let mut world = World::new(limiter).await;
    world.check_invariants().await;
    for (i, action) in OPENING.into_iter().chain(actions).enumerate() {
        world.last_outcome.clear();
        let ok = world.step(action).await;
        world.done += u128::from(ok);
        // On a failure the log names the steps; proptest then shrinks the sequence.
        let outcome = if ok { "ok" } else { "refused" };
        eprintln!("step {i}: {action:?} -> {outcome} {}", world.last_outcome);
        world.check_invariants().await;
    }
    world.settle_and_check_resolution().await;
}

fn cases() -> u32 {
    std::env::var("BALLAST_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn accounting_invariants_hold_after_every_action(limiter: bool, actions in proptest::collection::vec(action(), 1..MAX_ACTIONS)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(limiter, actions));
    }
}

/// A fixed sequence that reaches every branch the fuzzer relies on (a crash, a
/// liquidation, fees swept and bought back, a stake, a price-guard trip and the borrow
/// it refuses, native collateral, a tightening and a timelocked loosening, a guardian
/// trip), so the invariants are known to be exercised even when the random cases are few.
#[tokio::test]
async fn a_scripted_sequence_keeps_the_invariants() {
    let full = Amount::Bps(10_000);
    let script = [
        Action::Deposit { who: 0, asset: Asset::Usdc, amount: full },
        Action::Deposit { who: 1, asset: Asset::Sol, amount: Amount::Bps(500) },
        Action::Borrow { who: 1, asset: Asset::Usdc, amount: Amount::Bps(600) },
        Action::Stake { who: 2, amount: full, lock_days: 30 },
        Action::Wait { secs: 30 * DAY },
        Action::Sweep { asset: Asset::Usdc },
        Action::Wait { secs: 2 * DAY },
        Action::MovePrice { asset: Asset::Sol, pct: 60 },
        Action::Liquidate { who: 0, pick: 0, fallback: (Asset::Usdc, Asset::Sol), max_repay: full },
        Action::Liquidate { who: 1, pick: 0, fallback: (Asset::Usdc, Asset::Sol), max_repay: full },
        Action::Buyback { asset: Asset::Usdc, max_native_in: full },
        Action::ClaimMarketRewards { who: 2, asset: Asset::Usdc },
        Action::Repay { who: 1, asset: Asset::Usdc, amount: Amount::Raw(0), all: true },
        Action::Withdraw { who: 0, asset: Asset::Usdc, amount: Amount::Raw(0), all: true },
        // The crash's liquidation tripped SOL's guard: borrowing SOL is refused by name.
        Action::Borrow { who: 0, asset: Asset::Sol, amount: Amount::Bps(100) },
        Action::JumpPrice { asset: Asset::Sol, up: true, pct: 30 },
        Action::Refresh { asset: Asset::Sol },
        // The native token as collateral for a USDC loan.
        Action::Deposit { who: 2, asset: Asset::Usdc, amount: Amount::Bps(5_000) },
        Action::Deposit { who: 0, asset: Asset::Native, amount: Amount::Bps(1_000) },
        Action::Borrow { who: 0, asset: Asset::Usdc, amount: Amount::Bps(500) },
        Action::UpdateVolatility,
        Action::ExtendLock { who: 2, lock_days: 60 },
        Action::Govern { asset: Asset::Native, change: ConfigChange::TightenInitialWeights },
        Action::Govern { asset: Asset::Native, change: ConfigChange::LowerAssetWeights },
        Action::ExecuteProposal,
        // The guardian pauses deposits; the admin resumes.
        Action::GuardianTrip { secs: 600, mask: gates::DEPOSIT },
        Action::Deposit { who: 1, asset: Asset::Usdc, amount: Amount::Bps(100) },
        Action::Resume { by_admin: true },
        Action::Deposit { who: 1, asset: Asset::Usdc, amount: Amount::Bps(100) },
    ];
    let mut world = World::new(false).await;
    let mut outcomes = Vec::new();
    for action in script {
        outcomes.push(world.step(action).await);
        world.check_invariants().await;
    }
    // Account 1's liquidation took its last SOL and wrote off the rest of its debt at
    // once: its repayment (the 13th action) finds nothing to repay.
    let expected = [
        true, true, true, true, true, true, true, true, false, true, true, true, false, true, false, true, true, true,
        true, true, true, true, true, true, true, true, false, true, true,
    ];
    assert_eq!(outcomes, expected);
    assert!(world.fx.rt.protocol().await.total_burned > 0);
    // The initial-only tightening applied at once; the maintenance change waited out its
    // timelock after it.
    let native = world.native_market.key;
    let config = world.fx.rt.market(&native).await.config;
    assert_eq!((config.init_asset_weight_bps, config.maint_asset_weight_bps), (7_000, 8_500));
    world.settle_and_check_resolution().await;
}

/// An account whose collateral a liquidation took in full, leaving debt, must not be
/// able to shield that debt from write-off by depositing a few base units of the same
/// collateral back: a keeper can then neither liquidate (the dust pays for nothing) nor
/// resolve (the account holds collateral).
#[tokio::test]
async fn dust_after_a_liquidation_never_blocks_resolution() {
    let script = [
        Action::Deposit { who: 0, asset: Asset::Usdc, amount: Amount::Bps(10_000) },
        // 10 SOL ($1,000) backs 600 USDC; SOL then falls 70%: $300 of collateral.
        Action::Deposit { who: 1, asset: Asset::Sol, amount: Amount::Bps(500) },
        Action::Borrow { who: 1, asset: Asset::Usdc, amount: Amount::Bps(600) },
        Action::MovePrice { asset: Asset::Sol, pct: 30 },
        Action::Liquidate { who: 1, pick: 0, fallback: (Asset::Usdc, Asset::Sol), max_repay: Amount::Raw(u64::MAX) },
        Action::DustAfterLiquidation { units: 2 },
    ];
    let mut world = World::new(false).await;
    for action in script {
        assert!(world.step(action).await, "{action:?} refused");
        world.check_invariants().await;
    }
    let account = world.fx.rt.margin_account(&world.traders[1].0.margin_account).await;
    let sol = account.balances.iter().find(|b| b.active != 0 && b.market_index == world.fx.sol.index);
    assert!(sol.is_some_and(|b| b.deposit_shares.get() > 0), "the dust is deposited");
    world.settle_and_check_resolution().await;
}
