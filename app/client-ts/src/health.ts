// Health of a margin account from decoded accounts and oracle readings, for display.
// Integer WAD (1e18) / basis-point math on bigint with the rounding of programs/ballast-risk
// (assets rounded down, debts and liability weights up), so that the numbers are the
// program's own (`Market::price` and `health_of`): interest is accrued to the time asked
// for as the program would accrue it, the regime multipliers are taken where their ramps
// stand then, initial health's prices are bounded by the stable price and its asset weight
// by the market's USD limit. Checked against the program by the `health` case of
// tests/fixtures/vectors.json. Oracle readings are taken as given: the program's staleness
// and confidence checks (which refuse a risk-increasing action, or value a liquidation's
// deposits at zero) are not repeated here.
import type { MarginAccount, Market, MarketConfig, PodI128, PodU128, WeightRamp } from './generated/index.ts';

export const WAD = 10n ** 18n;
export const BPS = 10_000n;
const U128_MAX = (1n << 128n) - 1n;
const MIN_EXPO = -18;
const MAX_EXPO = 6;
const MAX_DECIMALS = 18;

export type Rounding = 'down' | 'up';

function checked(v: bigint): bigint {
  if (v < 0n || v > U128_MAX) throw new RangeError('math overflow (u128)');
  return v;
}

/** a * b / d with explicit rounding; fails where the program's u128 math would. */
export function mulDiv(a: bigint, b: bigint, d: bigint, rounding: Rounding): bigint {
  if (d === 0n) throw new RangeError('divide by zero');
  const product = a * b;
  const q = product / d;
  return checked(rounding === 'up' && product % d !== 0n ? q + 1n : q);
}

export function applyBps(value: bigint, bps: bigint | number, rounding: Rounding): bigint {
  return mulDiv(value, BigInt(bps), BPS, rounding);
}

/** Unsigned value of a 128-bit little-endian field. */
export function u128(pod: PodU128): bigint {
  return pod.bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** Signed (two's complement) value of a 128-bit little-endian field. */
export function i128(pod: PodI128): bigint {
  const v = u128(pod);
  return v >= 1n << 127n ? v - (1n << 128n) : v;
}

/** A market's asset and liability prices, WAD quote value per token base unit. */
export type ValuationPrices = { asset: bigint; liability: bigint };

/** A Pyth price as the program reads it: mantissas with a power-of-ten exponent. */
export type OracleReading = { price: bigint; conf: bigint; emaPrice: bigint; expo: number };

/** Oracle mantissa to WAD quote value per token base unit (10^(18 + expo - decimals)). */
export function mantissaToWadPerUnit(mantissa: bigint, expo: number, decimals: number, rounding: Rounding): bigint {
  if (expo < MIN_EXPO || expo > MAX_EXPO || decimals > MAX_DECIMALS) throw new RangeError('exponent out of range');
  const shift = 18 + expo - decimals;
  return shift >= 0 ? checked(mantissa * 10n ** BigInt(shift)) : mulDiv(mantissa, 1n, 10n ** BigInt(-shift), rounding);
}

/** Conservative prices: assets at min(price - k*conf, EMA), debts at max(price + k*conf, EMA). */
export function valuationPrices(
  reading: OracleReading,
  config: Pick<MarketConfig, 'oracleConfMultiplierBps'>,
  decimals: number,
): ValuationPrices {
  if (reading.price <= 0n || reading.emaPrice <= 0n) throw new RangeError('non-positive oracle price');
  const band = applyBps(reading.conf, config.oracleConfMultiplierBps, 'up');
  const low = reading.price > band ? reading.price - band : 0n;
  const asset = low < reading.emaPrice ? low : reading.emaPrice;
  const high = reading.price + band;
  const liability = high > reading.emaPrice ? high : reading.emaPrice;
  return {
    asset: mantissaToWadPerUnit(asset, reading.expo, decimals, 'down'),
    liability: mantissaToWadPerUnit(liability, reading.expo, decimals, 'up'),
  };
}

// Interest, as ballast-risk interest.rs accrues it: the program prices a market with the
// interest owed up to the instruction's clock, whether or not anyone refreshed it, but
// at most an hour of it per accrual (MAX_ACCRUAL_SECS).

/** Seconds in a 365-day year, the unit of annual rates. */
export const SECONDS_PER_YEAR = 365n * 86_400n;

/** A market's share totals and indices (WAD per share). */
export type MarketIndices = {
  depositIndex: bigint;
  borrowIndex: bigint;
  totalDepositShares: bigint;
  totalBorrowShares: bigint;
};

/** The indices as stored, i.e. as of the market's last accrual. */
export function storedIndices(
  market: Pick<Market, 'depositIndex' | 'borrowIndex' | 'totalDepositShares' | 'totalBorrowShares'>,
): MarketIndices {
  return {
    depositIndex: u128(market.depositIndex),
    borrowIndex: u128(market.borrowIndex),
    totalDepositShares: u128(market.totalDepositShares),
    totalBorrowShares: u128(market.totalBorrowShares),
  };
}

/** Tokens owed to all depositors (rounded down). */
export function totalDeposits(indices: MarketIndices): bigint {
  return mulDiv(indices.totalDepositShares, indices.depositIndex, WAD, 'down');
}

/** Tokens owed by all borrowers (rounded up). */
export function totalBorrows(indices: MarketIndices): bigint {
  return mulDiv(indices.totalBorrowShares, indices.borrowIndex, WAD, 'up');
}

/** The kinked borrow-rate curve: the config's rate fields. */
export type RateCurve = Pick<MarketConfig, 'optimalUtilizationBps' | 'baseRateBps' | 'optimalRateBps' | 'maxRateBps'>;

/** Borrowed share of deposits (WAD, rounded up), capped at 1.0; full when borrowed with no deposits. */
export function utilizationWad(deposits: bigint, borrows: bigint): bigint {
  if (deposits === 0n) return borrows === 0n ? 0n : WAD;
  const util = mulDiv(borrows, WAD, deposits, 'up');
  return util < WAD ? util : WAD;
}

/** Annual borrow rate (WAD) at `utilWad`: linear base -> optimal up to the kink, optimal -> max past it; rounded up (borrowers pay). */
export function borrowRateWad(curve: RateCurve, utilWad: bigint): bigint {
  const bpsToWad = (bps: number) => BigInt(bps) * (WAD / BPS);
  const optimalUtil = bpsToWad(curve.optimalUtilizationBps);
  const [base, optimal, max] = [bpsToWad(curve.baseRateBps), bpsToWad(curve.optimalRateBps), bpsToWad(curve.maxRateBps)];
  const util = utilWad < WAD ? utilWad : WAD;
  if (util <= optimalUtil) return checked(base + mulDiv(checked(optimal - base), util, optimalUtil, 'up'));
  return checked(optimal + mulDiv(checked(max - optimal), util - optimalUtil, WAD - optimalUtil, 'up'));
}

/** Interest over some seconds: the new indices, the interest added to all debt (WAD-scaled tokens) and the whole tokens the protocol takes. */
export type Accrual = { depositIndex: bigint; borrowIndex: bigint; interestWad: bigint; protocolFee: bigint };

/**
 * `elapsedSecs` of interest at the current utilisation, rounded as the program does: the
 * borrow index grows by `index * rate * elapsed / year` rounded up, the protocol takes
 * its share of that in whole tokens (rounded down) and depositors the rest per share
 * (rounded down; with no deposit shares the protocol takes it all).
 */
export function accrue(indices: MarketIndices, curve: RateCurve, protocolFeeBps: number, elapsedSecs: bigint): Accrual {
  if (elapsedSecs === 0n || indices.totalBorrowShares === 0n) {
    return { depositIndex: indices.depositIndex, borrowIndex: indices.borrowIndex, interestWad: 0n, protocolFee: 0n };
  }
  const rate = borrowRateWad(curve, utilizationWad(totalDeposits(indices), totalBorrows(indices)));
  const perYear = mulDiv(indices.borrowIndex, rate, WAD, 'up');
  const growth = mulDiv(perYear, elapsedSecs, SECONDS_PER_YEAR, 'up');
  const borrowIndex = checked(indices.borrowIndex + growth);
  const interestWad = checked(indices.totalBorrowShares * growth);
  let protocolFee = applyBps(interestWad, protocolFeeBps, 'down') / WAD;
  let depositIndex = indices.depositIndex;
  if (indices.totalDepositShares === 0n) {
    // Nobody to pay: all interest is the protocol's.
    protocolFee = interestWad / WAD;
  } else {
    depositIndex = checked(depositIndex + checked(interestWad - protocolFee * WAD) / indices.totalDepositShares);
  }
  return { depositIndex, borrowIndex, interestWad, protocolFee };
}

/** Most seconds of interest one accrual counts (ballast-risk `MAX_ACCRUAL_SECS`). */
export const MAX_ACCRUAL_SECS = 3_600n;

/** Interest owed by `market` from its last accrual to `at` (unix seconds; none if `at` is not later; at most `MAX_ACCRUAL_SECS` of it), as `Market::accrual_at`. */
export function accrualAt(
  market: Pick<Market, 'depositIndex' | 'borrowIndex' | 'totalDepositShares' | 'totalBorrowShares' | 'lastAccrualTs' | 'config'>,
  at: bigint,
): Accrual {
  const since = at - market.lastAccrualTs;
  const elapsed = since <= 0n ? 0n : since > MAX_ACCRUAL_SECS ? MAX_ACCRUAL_SECS : since;
  return accrue(storedIndices(market), market.config, market.config.protocolFeeBps, elapsed);
}

// Weights in force, as ballast-risk ramp.rs and dynamic_margin.rs compute them: each
// market's regime moves multipliers on its weights, reached over a ramp so that no regime
// change makes an account liquidatable in one slot.

/** Collateral and liability weights of one market, bps (10_000 = 1.0). */
export type Weights = { initAssetBps: number; maintAssetBps: number; initLiabilityBps: number; maintLiabilityBps: number };

const U32_MAX = 0xffff_ffffn;

/** The config's weights, before any multiplier. */
export function configWeights(config: MarketConfig): Weights {
  return {
    initAssetBps: config.initAssetWeightBps,
    maintAssetBps: config.maintAssetWeightBps,
    initLiabilityBps: config.initLiabilityWeightBps,
    maintLiabilityBps: config.maintLiabilityWeightBps,
  };
}

/**
 * A linear move from `fromBps` at `startTs` to `toBps` at `startTs + rampSecs`: exactly
 * `fromBps` up to the start, `toBps` from the end on (at once if `rampSecs` is 0), and
 * rounded down in between (a rising ramp rounds its step down, a falling one its step up),
 * as ramp.rs `ramped_bps` does for both multipliers.
 */
export function rampedBps(fromBps: number, toBps: number, startTs: bigint, now: bigint, rampSecs: number): number {
  const elapsed = now - startTs;
  if (elapsed >= BigInt(rampSecs)) return toBps;
  if (elapsed <= 0n) return fromBps;
  const [from, to, span] = [BigInt(fromBps), BigInt(toBps), BigInt(rampSecs)];
  if (to >= from) return Number(from + ((to - from) * elapsed) / span);
  return Number(from - ceilDiv((from - to) * elapsed, span));
}

/** A stored multiplier ramp's value at `at`. */
export function rampAt(ramp: WeightRamp, at: bigint): number {
  return rampedBps(ramp.fromBps, ramp.toBps, ramp.startTs, at, ramp.rampSecs);
}

/** An asset weight under a multiplier, rounded down; a multiplier above 1.0 counts as 1.0 (the regime only lowers it). */
export function scaleAssetWeight(weightBps: number, multiplierBps: number): number {
  const multiplier = BigInt(multiplierBps) < BPS ? BigInt(multiplierBps) : BPS;
  return Number((BigInt(weightBps) * multiplier) / BPS);
}

/** A liability weight under a multiplier, rounded up, at most u32::MAX; a multiplier below 1.0 counts as 1.0 (the regime only raises it). */
export function scaleLiabilityWeight(weightBps: number, multiplierBps: number): number {
  const multiplier = BigInt(multiplierBps) > BPS ? BigInt(multiplierBps) : BPS;
  const scaled = ceilDiv(BigInt(weightBps) * multiplier, BPS);
  return Number(scaled < U32_MAX ? scaled : U32_MAX);
}

/** `weights` under the multipliers: asset weights scaled down, liability weights up. */
export function applyMultipliers(weights: Weights, assetMultiplierBps: number, liabilityMultiplierBps: number): Weights {
  return {
    initAssetBps: scaleAssetWeight(weights.initAssetBps, assetMultiplierBps),
    maintAssetBps: scaleAssetWeight(weights.maintAssetBps, assetMultiplierBps),
    initLiabilityBps: scaleLiabilityWeight(weights.initLiabilityBps, liabilityMultiplierBps),
    maintLiabilityBps: scaleLiabilityWeight(weights.maintLiabilityBps, liabilityMultiplierBps),
  };
}

/** The market's weights at `at`: the config's under its multipliers where their ramps stand (`Market::weights_at`; before the USD limit). */
export function weightsAt(market: Pick<Market, 'config' | 'assetMultiplier' | 'liabilityMultiplier'>, at: bigint): Weights {
  return applyMultipliers(configWeights(market.config), rampAt(market.assetMultiplier, at), rampAt(market.liabilityMultiplier, at));
}

/**
 * Initial health's prices: the asset price no higher and the liability price no lower
 * than the market's stable price (WAD per base unit), so a price walked up quickly does
 * not lend against more than the slow reference has caught up to. A stable price of 0
 * (never observed) leaves the oracle's prices.
 */
export function boundByStable(prices: ValuationPrices, stableWad: bigint): ValuationPrices {
  if (stableWad === 0n) return prices;
  return {
    asset: prices.asset < stableWad ? prices.asset : stableWad,
    liability: prices.liability > stableWad ? prices.liability : stableWad,
  };
}

/**
 * The initial asset weight of a market whose deposits are worth `depositsValue` (WAD
 * quote) under a limit of `limitUsd` whole quote units (0: none): unchanged up to the
 * limit, scaled by limit / value (rounded down) beyond it, so the market never adds more
 * than its limit (times the weight) to initial health across all accounts.
 */
export function initAssetWeightUnderLimit(weightBps: number, depositsValue: bigint, limitUsd: bigint): number {
  if (limitUsd === 0n) return weightBps;
  const limit = limitUsd * WAD;
  if (depositsValue <= limit) return weightBps;
  return Number(mulDiv(BigInt(weightBps), limit, depositsValue, 'down'));
}

function ceilDiv(a: bigint, d: bigint): bigint {
  return (a + d - 1n) / d;
}

/** A market as health sees it at one time: what `Market::price` gives the program. */
export type PricedMarket = {
  marketIndex: number;
  decimals: number;
  /** Indices with interest accrued to the pricing time. */
  depositIndex: bigint;
  borrowIndex: bigint;
  /** Conservative oracle prices: maintenance health and liquidation price. */
  prices: ValuationPrices;
  /** Initial health's prices: `prices` bounded by the stable price. */
  initPrices: ValuationPrices;
  /** Weights in force: the regime multipliers where their ramps stand, the initial asset weight under the USD limit. */
  weights: Weights;
};

/**
 * `market` priced by `reading` at `at` (unix seconds, normally the current time or the
 * reading's publish time), as the program prices it in an instruction at that clock:
 * interest accrued to `at`, multipliers ramped to `at`, initial prices bounded by the
 * stable price and the initial asset weight scaled by the USD limit on the market's
 * total deposits valued at the initial asset price.
 */
export function priceMarket(market: Market, reading: OracleReading, at: bigint): PricedMarket {
  const prices = valuationPrices(reading, market.config, market.decimals);
  const accrual = accrualAt(market, at);
  const indices = { ...storedIndices(market), depositIndex: accrual.depositIndex, borrowIndex: accrual.borrowIndex };
  const initPrices = boundByStable(prices, u128(market.stablePrice.stablePrice));
  const ramped = weightsAt(market, at);
  const depositsValue = checked(totalDeposits(indices) * initPrices.asset);
  const limit = market.config.limits.assetValueInitLimitUsd;
  return {
    marketIndex: market.marketIndex,
    decimals: market.decimals,
    depositIndex: indices.depositIndex,
    borrowIndex: indices.borrowIndex,
    prices,
    initPrices,
    weights: { ...ramped, initAssetBps: initAssetWeightUnderLimit(ramped.initAssetBps, depositsValue, limit) },
  };
}

export type Health = {
  initAssets: bigint;
  initLiabilities: bigint;
  maintAssets: bigint;
  maintLiabilities: bigint;
  /** initAssets - initLiabilities (WAD quote value): below zero, no new risk is allowed. */
  init: bigint;
  /** maintAssets - maintLiabilities (WAD quote value): below zero, the account is liquidatable. */
  maint: bigint;
};

/** Token amounts of one balance: deposits rounded down, debts up. */
export function balanceAmounts(
  balance: MarginAccount['balances'][number],
  market: PricedMarket,
): { deposit: bigint; debt: bigint } {
  return {
    deposit: mulDiv(u128(balance.depositShares), market.depositIndex, WAD, 'down'),
    debt: mulDiv(u128(balance.borrowShares), market.borrowIndex, WAD, 'up'),
  };
}

/**
 * Weighted health of every active balance, with each market's weights in force: initial
 * totals at its initial prices, maintenance totals at its oracle prices. Throws if a
 * balance's market is not in `markets`.
 */
export function healthOf(account: MarginAccount, markets: PricedMarket[]): Health {
  let initAssets = 0n;
  let initLiabilities = 0n;
  let maintAssets = 0n;
  let maintLiabilities = 0n;
  for (const balance of account.balances.filter((b) => b.active !== 0)) {
    const market = markets.find((m) => m.marketIndex === balance.marketIndex);
    if (!market) throw new Error(`market ${balance.marketIndex} not priced`);
    const { deposit, debt } = balanceAmounts(balance, market);
    const assetValue = checked(deposit * market.prices.asset);
    const debtValue = checked(debt * market.prices.liability);
    const initAssetValue = checked(deposit * market.initPrices.asset);
    const initDebtValue = checked(debt * market.initPrices.liability);
    const w = market.weights;
    initAssets = checked(initAssets + applyBps(initAssetValue, w.initAssetBps, 'down'));
    maintAssets = checked(maintAssets + applyBps(assetValue, w.maintAssetBps, 'down'));
    initLiabilities = checked(initLiabilities + applyBps(initDebtValue, w.initLiabilityBps, 'up'));
    maintLiabilities = checked(maintLiabilities + applyBps(debtValue, w.maintLiabilityBps, 'up'));
  }
  return {
    initAssets,
    initLiabilities,
    maintAssets,
    maintLiabilities,
    init: initAssets - initLiabilities,
    maint: maintAssets - maintLiabilities,
  };
}

/**
 * Weighted collateral over weighted debt on the maintenance side, with the weights in
 * force that `healthOf` used (WAD, rounded down): 1.0 (= WAD) is the liquidation
 * threshold. `null` for an account without debt.
 */
export function healthRatio(health: Health): bigint | null {
  return health.maintLiabilities === 0n ? null : mulDiv(health.maintAssets, WAD, health.maintLiabilities, 'down');
}

/**
 * Asset valuation price (WAD per base unit of the collateral in market `marketIndex`) at
 * which maintenance health reaches zero, other prices and the weights in force unchanged
 * (maintenance ignores the stable price and the USD limit, so the price alone moves it);
 * rounded up, so at this price the account is at or just above the threshold. `null` if
 * the account has no deposit there, or stays healthy even at a price of zero.
 */
export function liquidationPrice(account: MarginAccount, markets: PricedMarket[], marketIndex: number): bigint | null {
  const balance = account.balances.find((b) => b.active !== 0 && b.marketIndex === marketIndex);
  const market = markets.find((m) => m.marketIndex === marketIndex);
  if (!balance || !market) return null;
  const { deposit } = balanceAmounts(balance, market);
  const weight = BigInt(market.weights.maintAssetBps);
  if (deposit === 0n || weight === 0n) return null;
  const health = healthOf(account, markets);
  const own = applyBps(deposit * market.prices.asset, weight, 'down');
  const otherAssets = health.maintAssets - own;
  if (health.maintLiabilities <= otherAssets) return null;
  // deposit * p * weight / BPS + otherAssets = maintLiabilities, solved for p.
  return mulDiv(health.maintLiabilities - otherAssets, BPS, deposit * weight, 'up');
}

/** A WAD price per base unit as a decimal number per whole token (display only). */
export function toUiPrice(wadPerUnit: bigint, decimals: number): number {
  return Number((wadPerUnit * 10n ** BigInt(decimals)) / 10n ** 12n) / 1e6;
}
