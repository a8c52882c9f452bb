//! Cranking the buyback auction: each non-native market sells its buyback pool for
//! native tokens on a Dutch auction whose price rises over time. The keeper pays native
//! tokens and receives pool tokens; it fills when the pool tokens it gets are worth its
//! minimum profit more than the native tokens it pays, valued at its own reference.
//!
//! [`plan_buyback`] mirrors the program's `buyback` handler step by step (same engine
//! calls, same epoch and budget rules), so the fill it predicts is the fill the chain
//! makes at the same clock. No network here: the bot fetches, this decides.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use ballast::Protocol;
use ballast_client::{decode, ix};
use ballast_risk::auction::{self, price_multiplier_bps, AuctionParams, Fill};
use ballast_risk::fixed::{apply_bps, mul_div, pow10, Rounding, BPS};
use ballast_risk::oracle::{self, OracleAction, OracleReading};
use ballast_risk::regime::Regime;
use ballast_risk::RiskError;

use crate::scan::MarketSnapshot;

/// What the keeper believes a native token is worth: its cost of getting more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferencePrice {
    /// The native feed's mid price.
    OracleMid,
    /// A fixed price (e.g. where the keeper buys on an exchange), WAD quote per whole token.
    PerToken(u128),
}

/// How the keeper trades the auction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuybackPolicy {
    /// Fill only when profit >= this share of the native tokens' reference value.
    pub min_profit_bps: u32,
    /// Most native base units paid in one fill.
    pub max_native_per_fill: u64,
    pub reference: ReferencePrice,
    /// Room left for the state to move between planning and landing, on both bounds.
    pub slippage_bps: u32,
}

impl Default for BuybackPolicy {
    fn default() -> Self {
        BuybackPolicy {
            min_profit_bps: 50,
            max_native_per_fill: u64::MAX,
            reference: ReferencePrice::OracleMid,
            slippage_bps: 50,
        }
    }
}

/// The native token as the auction prices it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeFeed {
    pub reading: OracleReading,
    pub decimals: u8,
}

/// One fill the keeper intends to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuybackPlan {
    pub market: Pubkey,
    /// What the program fills at the planning clock.
    pub fill: Fill,
    pub multiplier_bps: u128,
    /// Instruction bounds: the expected fill widened by the slippage tolerance.
    pub max_native_in: u64,
    pub min_pool_out: u64,
    /// Pool tokens at their mid price minus native tokens at the reference (WAD quote).
    pub profit: i128,
    /// The native tokens paid, at the reference (WAD quote).
    pub cost: u128,
    /// Pool tokens still for sale this epoch, before this fill.
    pub budget_left: u64,
}

/// Why a market is not worth a fill now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The native market has no auction.
    NativeMarket,
    NativeOracle(RiskError),
    PoolOracle(RiskError),
    PoolEmpty,
    /// This epoch's budget is sold.
    BudgetSpent,
    /// The keeper has no native tokens (or a zero per-fill cap).
    NoNative,
    /// The keeper's native tokens buy less than one pool base unit.
    TooSmall,
    /// The price has not reached the keeper's minimum profit yet. `profitable_at`: the
    /// first second the rising curve does, if prices hold and nobody else fills (`None`
    /// if not before the curve caps or the epoch ends), so the bot can sleep until then.
    Unprofitable {
        profit: i128,
        cost: u128,
        profitable_at: Option<i64>,
    },
    /// A parameter or value the program would also reject (zero epoch, overflow).
    Math,
}

impl From<RiskError> for Skip {
    fn from(_: RiskError) -> Self {
        Skip::Math
    }
}

/// A market's auction as it stands at the planning clock: the program's prices, and the
/// epoch state after the reset the program would apply on its next fill.
struct Auction<'a> {
    market: Pubkey,
    policy: &'a BuybackPolicy,
    params: AuctionParams,
    start_ts: i64,
    /// First second of the next epoch, when the curve restarts.
    epoch_end: i64,
    budget_left: u64,
    available: u64,
    native_price: u128,
    pool_price: u128,
    /// Pool tokens valued at their mid price (rounded down: the keeper's gain is not overstated).
    pool_mid: u128,
    /// Native tokens valued at `reference.0 / reference.1` per base unit (rounded up).
    reference: (u128, u128),
    max_native_in: u64,
}

impl<'a> Auction<'a> {
    fn new(
        protocol: &Protocol,
        snapshot: &MarketSnapshot,
        native: &NativeFeed,
        keeper_native_balance: u64,
        now: i64,
        policy: &'a BuybackPolicy,
    ) -> Result<Auction<'a>, Skip> {
        let market = &snapshot.market;
        if market.mint == protocol.native_mint {
            return Err(Skip::NativeMarket);
        }
        let cfg = protocol.config;
        let regime = Regime::from_u8(protocol.volatility.regime)?;
        // The same validity and conservative sides as the program: the fill depends on them.
        let native_limits = cfg.native_oracle_limits();
        oracle::validate(&native.reading, &native_limits, OracleAction::RiskIncreasing, now)
            .map_err(Skip::NativeOracle)?;
        let native_price = oracle::valuation_prices(&native.reading, &native_limits, native.decimals)
            .map_err(Skip::NativeOracle)?
            .asset;
        let pool_limits = market.config.oracle_limits();
        oracle::validate(&snapshot.reading, &pool_limits, OracleAction::RiskIncreasing, now)
            .map_err(Skip::PoolOracle)?;
        let pool_price = oracle::valuation_prices(&snapshot.reading, &pool_limits, market.decimals)
            .map_err(Skip::PoolOracle)?
            .liability;
        if market.buyback_pool == 0 {
            return Err(Skip::PoolEmpty);
        }

        // The program's own epoch rule.
        let epoch = market.buyback_epoch_at(&cfg, regime, now)?;
        let budget_left = epoch.budget.checked_sub(epoch.sold).ok_or(Skip::Math)?;
        if budget_left == 0 {
            return Err(Skip::BudgetSpent);
        }
        let max_native_in = policy.max_native_per_fill.min(keeper_native_balance);
        if max_native_in == 0 {
            return Err(Skip::NoNative);
        }
        let pool_mid = oracle::mid_price(&snapshot.reading, market.decimals, Rounding::Down)?;
        let reference = match policy.reference {
            ReferencePrice::OracleMid => (oracle::mid_price(&native.reading, native.decimals, Rounding::Up)?, 1),
            ReferencePrice::PerToken(per_token) => (per_token, pow10(u32::from(native.decimals))?),
        };
        Ok(Auction {
            market: snapshot.key,
            policy,
            params: cfg.auction(regime),
            start_ts: epoch.auction_start_ts,
            epoch_end: epoch.end_ts,
            budget_left,
            available: budget_left.min(market.buyback_pool),
            native_price,
            pool_price,
            pool_mid,
            reference,
            max_native_in,
        })
    }

    /// The first second after `now` at which [`Self::plan_at`] passes, if any.
    fn profitable_from(&self, now: i64) -> Option<i64> {
        // The multiplier stops rising at the cap, and a new epoch restarts it.
        let capped = self.start_ts.saturating_add(i64::from(self.params.duration_secs));
        let last = capped.min(self.epoch_end - 1);
        if last <= now {
            return None;
        }
        self.plan_at(last).ok()?;
        // The price only rises with time: find the first second that passes.
        let (mut fails, mut passes) = (now, last);
        while passes - fails > 1 {
            let mid = fails + (passes - fails) / 2;
            if self.plan_at(mid).is_ok() {
                passes = mid;
            } else {
                fails = mid;
            }
        }
        Some(passes)
    }

    /// The plan at `t` (same epoch, no other fill in between): the program's fill, then
    /// the keeper's profit test.
    fn plan_at(&self, t: i64) -> Result<BuybackPlan, Skip> {
        let multiplier = price_multiplier_bps(&self.params, self.start_ts, t);
        let fill = auction::fill(self.max_native_in, self.available, self.native_price, self.pool_price, multiplier)?
            .ok_or(Skip::TooSmall)?;
        let value = u128::from(fill.pool_out).checked_mul(self.pool_mid).ok_or(Skip::Math)?;
        let cost = mul_div(u128::from(fill.native_in), self.reference.0, self.reference.1, Rounding::Up)?;
        let profit = i128::try_from(value).map_err(|_| Skip::Math)? - i128::try_from(cost).map_err(|_| Skip::Math)?;
        // value >= cost * (1 + min_profit): both sides scaled by BPS to stay in integers.
        let needed = cost.checked_mul(BPS + u128::from(self.policy.min_profit_bps)).ok_or(Skip::Math)?;
        if value.checked_mul(BPS).ok_or(Skip::Math)? < needed {
            return Err(Skip::Unprofitable { profit, cost, profitable_at: None });
        }
        // Any max_native_in in [native_in, cap] buys exactly this fill, so the widened
        // bound only matters if the state moves (a rival fill, a new epoch).
        let slippage = u128::from(self.policy.slippage_bps.min(BPS as u32));
        let extra_in = apply_bps(u128::from(fill.native_in), slippage, Rounding::Up)?;
        let max_native_in = u128::from(fill.native_in).saturating_add(extra_in).min(u128::from(self.max_native_in));
        let less_out = apply_bps(u128::from(fill.pool_out), slippage, Rounding::Up)?;
        Ok(BuybackPlan {
            market: self.market,
            fill,
            multiplier_bps: multiplier,
            // Both bounded by u64 inputs above.
            max_native_in: max_native_in as u64,
            min_pool_out: u128::from(fill.pool_out).saturating_sub(less_out) as u64,
            profit,
            cost,
            budget_left: self.budget_left,
        })
    }
}

/// The fill to send on `market` at `now`, or why not. `keeper_native_balance` and the
/// policy's per-fill cap bound what the keeper pays.
pub fn plan_buyback(
    protocol: &Protocol,
    market: &MarketSnapshot,
    native: &NativeFeed,
    keeper_native_balance: u64,
    now: i64,
    policy: &BuybackPolicy,
) -> Result<BuybackPlan, Skip> {
    let auction = Auction::new(protocol, market, native, keeper_native_balance, now, policy)?;
    match auction.plan_at(now) {
        Err(Skip::Unprofitable { profit, cost, .. }) => {
            Err(Skip::Unprofitable { profit, cost, profitable_at: auction.profitable_from(now) })
        }
        planned => planned,
    }
}

/// Seconds to sleep before the next pass: the poll interval, or less if a buyback
/// becomes profitable sooner (at least one second).
pub fn sleep_secs(poll_secs: u64, wake_at: Option<i64>, now: i64) -> u64 {
    match wake_at {
        Some(t) => poll_secs.min(u64::try_from(t.saturating_sub(now)).unwrap_or(0).max(1)),
        None => poll_secs,
    }
}

/// The `buyback` instruction for `plan`, paying from `keeper_native` into `keeper_pool_token`.
pub fn buyback_instruction(
    keeper: Pubkey,
    protocol: &Protocol,
    market: &MarketSnapshot,
    plan: &BuybackPlan,
    keeper_native: Pubkey,
    keeper_pool_token: Pubkey,
) -> Instruction {
    let accounts = ix::BuybackFill {
        keeper,
        market: market.key,
        oracle: market.market.oracle.address,
        native_mint: protocol.native_mint,
        native_oracle: protocol.native_oracle.address,
        keeper_native,
        keeper_pool_token,
    };
    ix::buyback(&accounts, plan.max_native_in, plan.min_pool_out)
}

/// The protocol account from its raw bytes.
pub fn decode_protocol(data: &[u8]) -> Option<Protocol> {
    decode::view::<Protocol>(data).map(|p| *p)
}

/// The native feed from the raw bytes of the protocol's native oracle and native mint.
pub fn native_feed(
    protocol: &Protocol,
    oracle_owner: &Pubkey,
    oracle_data: &[u8],
    mint_data: &[u8],
) -> Option<NativeFeed> {
    let reading = ballast::oracle::parse_oracle(&protocol.native_oracle, oracle_owner, oracle_data).ok()?;
    let decimals = spl_token::state::Mint::unpack(mint_data).ok()?.decimals;
    Some(NativeFeed { reading, decimals })
}

/// Balance of an SPL token account from its raw bytes.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    spl_token::state::Account::unpack(data).ok().map(|a| a.amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast::{Market, MarketConfig, ProtocolConfig};
    use ballast_risk::WAD;

    /// Mid-epoch, and well past any curve.
    const EPOCH: i64 = 86_400;
    const NOW: i64 = 20_000 * EPOCH + 40_000;
    const USD: i64 = 100_000_000;

    fn protocol() -> Protocol {
        let mut p: Protocol = bytemuck::Zeroable::zeroed();
        p.native_mint = Pubkey::new_unique();
        p.native_oracle = ballast::OracleSource::legacy(Pubkey::new_unique());
        p.config = ProtocolConfig::standard();
        p
    }

    fn reading(price: i64) -> OracleReading {
        OracleReading { price, conf: 0, ema_price: price, expo: -8, publish_time: NOW }
    }

    /// $2 native token, 6 decimals, with a zero confidence band so mid = valuation price.
    fn native() -> NativeFeed {
        NativeFeed { reading: reading(2 * USD), decimals: 6 }
    }

    /// A $1 USDC-like market with `pool` tokens in its buyback pool, epoch budget untouched.
    fn market(pool: u64) -> MarketSnapshot {
        let mut m: Market = bytemuck::Zeroable::zeroed();
        m.mint = Pubkey::new_unique();
        m.oracle = ballast::OracleSource::legacy(Pubkey::new_unique());
        m.decimals = 6;
        m.config = MarketConfig::conservative(u64::MAX, u64::MAX);
        m.buyback_pool = pool;
        MarketSnapshot { key: Pubkey::new_unique(), market: m, reading: reading(USD) }
    }

    /// The market in the current epoch with its curve started `elapsed` seconds ago.
    fn running(pool: u64, budget: u64, sold: u64, elapsed: i64) -> MarketSnapshot {
        let mut m = market(pool);
        m.market.buyback_epoch = (NOW / EPOCH) as u64;
        m.market.buyback_epoch_budget = budget;
        m.market.buyback_epoch_sold = sold;
        m.market.auction_start_ts = NOW - elapsed;
        m
    }

    /// `m` and the native feed, both republished unchanged at `t`.
    fn published(mut m: MarketSnapshot, t: i64) -> (MarketSnapshot, NativeFeed) {
        let mut n = native();
        m.reading.publish_time = t;
        n.reading.publish_time = t;
        (m, n)
    }

    /// When `plan` says the curve turns profitable: `now` if it already is.
    fn ready_at(plan: Result<BuybackPlan, Skip>, now: i64) -> Option<i64> {
        match plan {
            Ok(_) => Some(now),
            Err(Skip::Unprofitable { profitable_at, .. }) => profitable_at,
            Err(_) => None,
        }
    }

    fn policy(min_profit_bps: u32) -> BuybackPolicy {
        BuybackPolicy { min_profit_bps, ..BuybackPolicy::default() }
    }

    const BAL: u64 = 1_000_000_000;

    #[test]
    fn a_new_epoch_budgets_a_tenth_of_the_pool_and_restarts_the_curve_at_its_start() {
        // Never sold: the curve runs from the epoch's start, 40_000 s ago, so it is capped.
        let plan = plan_buyback(&protocol(), &market(1_000_000_000), &native(), BAL, NOW, &policy(0)).unwrap();
        assert_eq!(plan.budget_left, 100_000_000);
        assert_eq!(plan.multiplier_bps, 10_300);
        // 100 pool tokens ($1) at 1.03x of $2 native cost ceil(100 / 2.06) native.
        assert_eq!(plan.fill, Fill { pool_out: 100_000_000, native_in: 48_543_690 });
        assert_eq!(plan.cost, 48_543_690 * 2 * WAD / 1_000_000);
        assert!(plan.profit > 0);
    }

    #[test]
    fn the_plan_is_the_programs_fill_at_the_curve_price() {
        let p = protocol();
        // Ten minutes into the curve: 0.95 + 0.08 * 600 / 3600 = 0.9633.
        let m = running(1_000_000_000, 100_000_000, 0, 600);
        // Ten native tokens ($20) buy 19.266 pool tokens ($19.266): a loss.
        let plan = plan_buyback(&p, &m, &native(), 10_000_000, NOW, &policy(0));
        let profit = -(734 * WAD as i128) / 1_000;
        // Break-even (1.00x) comes 2_250 s into the curve, which started 600 s ago.
        assert_eq!(plan, Err(Skip::Unprofitable { profit, cost: 20 * WAD, profitable_at: Some(NOW + 1_650) }));
        let plan =
            plan_buyback(&p, &running(1_000_000_000, 100_000_000, 0, 3_000), &native(), 10_000_000, NOW, &policy(0))
                .unwrap();
        let multiplier = price_multiplier_bps(&p.config.auction(Regime::Calm), NOW - 3_000, NOW);
        assert_eq!(plan.multiplier_bps, multiplier);
        let expected = auction::fill(10_000_000, 100_000_000, 2 * WAD / 1_000_000, WAD / 1_000_000, multiplier);
        assert_eq!(Some(plan.fill), expected.unwrap());
        assert_eq!(plan.fill.native_in, 10_000_000, "bound by the keeper's balance");
    }

    #[test]
    fn profit_is_measured_against_the_reference_price() {
        let (p, m) = (protocol(), running(1_000_000_000, 100_000_000, 0, 3_600));
        // At the 3% cap the oracle reference leaves 3%: a 2% minimum fills, a 4% one does not.
        assert!(plan_buyback(&p, &m, &native(), BAL, NOW, &policy(200)).is_ok());
        assert!(matches!(plan_buyback(&p, &m, &native(), BAL, NOW, &policy(400)), Err(Skip::Unprofitable { .. })));
        // A keeper who buys native tokens at $1.90 elsewhere earns ~8.4% at the cap...
        let cheap = BuybackPolicy { reference: ReferencePrice::PerToken(19 * WAD / 10), ..policy(800) };
        let plan = plan_buyback(&p, &m, &native(), BAL, NOW, &cheap).unwrap();
        assert_eq!(
            plan.cost,
            mul_div(u128::from(plan.fill.native_in), 19 * WAD / 10, 1_000_000, Rounding::Up).unwrap()
        );
        // ... and one who pays $2.10 loses at any point of the curve.
        let dear = BuybackPolicy { reference: ReferencePrice::PerToken(21 * WAD / 10), ..policy(0) };
        assert!(
            matches!(plan_buyback(&p, &m, &native(), BAL, NOW, &dear), Err(Skip::Unprofitable { profit, .. }) if profit < 0)
        );
        assert_eq!(ready_at(plan_buyback(&p, &m, &native(), BAL, NOW, &dear), NOW), None);
    }

    #[test]
    fn the_curve_reaches_the_threshold_at_a_predictable_second() {
        let p = protocol();
        // Started now: 0.95. Break-even (1.00) is 5/8 of the way up: 2_250 s in.
        let m = running(1_000_000_000, 100_000_000, 0, 0);
        let at = ready_at(plan_buyback(&p, &m, &native(), BAL, NOW, &policy(0)), NOW).unwrap();
        assert_eq!(at, NOW + 2_250);
        // The prediction assumes prices hold: republished, the plan agrees to the second.
        let (before, n) = published(m, at - 1);
        assert!(matches!(plan_buyback(&p, &before, &n, BAL, at - 1, &policy(0)), Err(Skip::Unprofitable { .. })));
        let (then, n) = published(m, at);
        assert!(plan_buyback(&p, &then, &n, BAL, at, &policy(0)).is_ok());
        // Already profitable: now. Never profitable (above the 3% cap): none.
        let late = running(1_000_000_000, 100_000_000, 0, 3_600);
        assert_eq!(ready_at(plan_buyback(&p, &late, &native(), BAL, NOW, &policy(0)), NOW), Some(NOW));
        assert_eq!(ready_at(plan_buyback(&p, &m, &native(), BAL, NOW, &policy(301)), NOW), None);
        // Skipped for another reason: none.
        assert_eq!(ready_at(plan_buyback(&p, &market(0), &native(), BAL, NOW, &policy(0)), NOW), None);
    }

    #[test]
    fn the_curve_does_not_run_past_the_epoch() {
        let p = protocol();
        // Started 100 s before the epoch ends: break-even would come after it.
        let end = NOW - NOW % EPOCH + EPOCH;
        let mut m = running(1_000_000_000, 100_000_000, 0, 0);
        m.market.auction_start_ts = end - 100;
        let (m, n) = published(m, end - 50);
        assert_eq!(ready_at(plan_buyback(&p, &m, &n, BAL, end - 50, &policy(0)), end - 50), None);
    }

    #[test]
    fn skips_say_why() {
        let p = protocol();
        let live = running(1_000_000_000, 100_000_000, 0, 3_600);
        let plan = |m: &MarketSnapshot, n: &NativeFeed, balance: u64, policy: &BuybackPolicy| {
            plan_buyback(&p, m, n, balance, NOW, policy).map(|_| ())
        };
        let mut native_market = live;
        native_market.market.mint = p.native_mint;
        assert_eq!(plan(&native_market, &native(), BAL, &policy(0)), Err(Skip::NativeMarket));

        let mut stale = native();
        stale.reading.publish_time = NOW - 61;
        assert_eq!(plan(&live, &stale, BAL, &policy(0)), Err(Skip::NativeOracle(RiskError::OracleStale)));
        let mut wide = native();
        wide.reading.conf = 5_000_000; // 2.5% of $2, over the 2% limit
        assert_eq!(plan(&live, &wide, BAL, &policy(0)), Err(Skip::NativeOracle(RiskError::OracleTooUncertain)));
        let mut pool_stale = live;
        pool_stale.reading.publish_time = NOW - 61;
        assert_eq!(plan(&pool_stale, &native(), BAL, &policy(0)), Err(Skip::PoolOracle(RiskError::OracleStale)));

        assert_eq!(plan(&market(0), &native(), BAL, &policy(0)), Err(Skip::PoolEmpty));
        let spent = running(1_000_000_000, 100_000_000, 100_000_000, 3_600);
        assert_eq!(plan(&spent, &native(), BAL, &policy(0)), Err(Skip::BudgetSpent));
        // A pool too small for a tenth of it to be a base unit has no budget either.
        assert_eq!(plan(&market(9), &native(), BAL, &policy(0)), Err(Skip::BudgetSpent));

        assert_eq!(plan(&live, &native(), 0, &policy(0)), Err(Skip::NoNative));
        let no_cap = BuybackPolicy { max_native_per_fill: 0, ..policy(0) };
        assert_eq!(plan(&live, &native(), BAL, &no_cap), Err(Skip::NoNative));
        // One native base unit ($0.000002) at 1.03x buys no unit of a $5 pool token.
        let mut dear_pool = live;
        dear_pool.reading = reading(5 * USD);
        assert_eq!(plan(&dear_pool, &native(), 1, &policy(0)), Err(Skip::TooSmall));

        let mut no_epoch = p;
        no_epoch.config.buyback_epoch_secs = 0;
        assert_eq!(plan_buyback(&no_epoch, &live, &native(), BAL, NOW, &policy(0)).map(|_| ()), Err(Skip::Math));
    }

    #[test]
    fn a_spent_budget_comes_back_next_epoch() {
        let p = protocol();
        let mut spent = running(1_000_000_000, 100_000_000, 100_000_000, 3_600);
        spent.market.buyback_pool = 900_000_000;
        let next = NOW - NOW % EPOCH + EPOCH;
        let (m, n) = published(spent, next + 3_600);
        let plan = plan_buyback(&p, &m, &n, BAL, next + 3_600, &policy(0)).unwrap();
        assert_eq!((plan.budget_left, plan.multiplier_bps), (90_000_000, 10_300));
        // Partly sold: what is left of this epoch's budget.
        let partly = running(1_000_000_000, 100_000_000, 40_000_000, 3_600);
        assert_eq!(plan_buyback(&p, &partly, &native(), BAL, NOW, &policy(0)).unwrap().fill.pool_out, 60_000_000);
    }

    #[test]
    fn bounds_carry_the_slippage_tolerance() {
        let (p, m) = (protocol(), running(1_000_000_000, 100_000_000, 0, 3_600));
        let exact = plan_buyback(&p, &m, &native(), BAL, NOW, &BuybackPolicy { slippage_bps: 0, ..policy(0) }).unwrap();
        assert_eq!((exact.max_native_in, exact.min_pool_out), (exact.fill.native_in, exact.fill.pool_out));
        let loose =
            plan_buyback(&p, &m, &native(), BAL, NOW, &BuybackPolicy { slippage_bps: 100, ..policy(0) }).unwrap();
        assert_eq!(loose.fill, exact.fill);
        assert_eq!(loose.min_pool_out, 99_000_000);
        assert_eq!(loose.max_native_in, 48_543_690 + 485_437);
        // Never above what the keeper holds.
        let tight = plan_buyback(&p, &m, &native(), 48_543_690, NOW, &BuybackPolicy { slippage_bps: 100, ..policy(0) });
        assert_eq!(tight.unwrap().max_native_in, 48_543_690);
    }

    #[test]
    fn sleeps_until_the_threshold_but_no_longer_than_a_poll() {
        assert_eq!(sleep_secs(10, None, 100), 10);
        assert_eq!(sleep_secs(10, Some(104), 100), 4);
        assert_eq!(sleep_secs(10, Some(1_000), 100), 10);
        assert_eq!(sleep_secs(10, Some(100), 100), 1);
        assert_eq!(sleep_secs(10, Some(50), 100), 1);
    }

    #[test]
    fn decodes_the_accounts_the_bot_fetches() {
        use anchor_lang::Discriminator;
        let p = protocol();
        let mut bytes = Protocol::DISCRIMINATOR.to_vec();
        bytes.extend_from_slice(bytemuck::bytes_of(&p));
        assert_eq!(decode_protocol(&bytes).map(|d| d.native_mint), Some(p.native_mint));
        assert!(decode_protocol(&bytes[1..]).is_none());
        assert!(native_feed(&p, &ballast::PYTH_PROGRAM_ID, &[0; 10], &[0; 82]).is_none());
        assert!(token_amount(&[0; 3]).is_none());
    }

    /// xorshift64*: a fixed stream of cases, reproducible without a dependency.
    struct Cases(u64);

    impl Cases {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        /// Below a random power of two up to 2^bits: every magnitude is as likely.
        fn spread(&mut self, bits: u64) -> u64 {
            let magnitude = self.below(bits) + 1;
            self.below(1 << magnitude)
        }
    }

    #[test]
    fn never_asks_to_pay_more_than_the_cap_and_the_program_fills_exactly_the_plan() {
        let p = protocol();
        let mut cases = Cases(0x9e37_79b9_7f4a_7c15);
        let mut filled = 0;
        for _ in 0..20_000 {
            let pool = cases.spread(60);
            let budget = cases.below(pool / 5 + 1);
            let mut m = running(pool, budget, cases.below(budget + 1), cases.below(8_000) as i64);
            if cases.below(4) == 0 {
                m.market.buyback_epoch = 0; // a fresh epoch
            }
            m.market.decimals = cases.below(19) as u8;
            m.reading = reading(1 + cases.below(1 << 40) as i64);
            let mut n = native();
            n.decimals = cases.below(19) as u8;
            n.reading = reading(1 + cases.below(1 << 40) as i64);
            let balance = cases.spread(63);
            let policy = BuybackPolicy {
                min_profit_bps: cases.below(300) as u32,
                max_native_per_fill: if cases.below(2) == 0 { u64::MAX } else { cases.below(1 << 50) },
                reference: ReferencePrice::OracleMid,
                slippage_bps: cases.below(20_000) as u32,
            };
            let Ok(plan) = plan_buyback(&p, &m, &n, balance, NOW, &policy) else { continue };
            filled += 1;
            let cap = policy.max_native_per_fill.min(balance);
            assert!(plan.max_native_in <= cap && plan.fill.native_in <= plan.max_native_in, "{plan:?}");
            assert!(plan.min_pool_out <= plan.fill.pool_out && plan.fill.pool_out <= plan.budget_left);
            assert!(plan.profit >= 0);
            // The program, given the plan's bounds, makes the planned fill.
            let native_price =
                oracle::valuation_prices(&n.reading, &p.config.native_oracle_limits(), n.decimals).unwrap().asset;
            let pool_price = oracle::valuation_prices(&m.reading, &m.market.config.oracle_limits(), m.market.decimals)
                .unwrap()
                .liability;
            let available = plan.budget_left.min(m.market.buyback_pool);
            let chain =
                auction::fill(plan.max_native_in, available, native_price, pool_price, plan.multiplier_bps).unwrap();
            assert_eq!(chain, Some(plan.fill));
        }
        assert!(filled > 1_000, "only {filled} cases filled");
    }
}
