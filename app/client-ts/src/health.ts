// Health of a margin account from decoded accounts and oracle readings, for display.
// Integer WAD (1e18) / basis-point math on bigint with the rounding of programs/ballast-risk
// (assets rounded down, debts and liability weights up), so that at the same indices and
// prices the numbers are the program's own. Indices are taken as stored: interest since a
// market's last refresh is not added (call refresh_market first for up-to-the-second values).
import type { MarginAccount, Market, MarketConfig, PodI128, PodU128 } from './generated/index.ts';

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
): { asset: bigint; liability: bigint } {
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

/** A market with its valuation prices: what a health computation needs of it. */
export type PricedMarket = {
  marketIndex: number;
  decimals: number;
  depositIndex: bigint;
  borrowIndex: bigint;
  prices: { asset: bigint; liability: bigint };
  config: MarketConfig;
};

export function priceMarket(market: Market, reading: OracleReading): PricedMarket {
  return {
    marketIndex: market.marketIndex,
    decimals: market.decimals,
    depositIndex: u128(market.depositIndex),
    borrowIndex: u128(market.borrowIndex),
    prices: valuationPrices(reading, market.config, market.decimals),
    config: market.config,
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

/** Weighted health of every active balance; throws if a balance's market is not in `markets`. */
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
    const c = market.config;
    initAssets = checked(initAssets + applyBps(assetValue, c.initAssetWeightBps, 'down'));
    maintAssets = checked(maintAssets + applyBps(assetValue, c.maintAssetWeightBps, 'down'));
    initLiabilities = checked(initLiabilities + applyBps(debtValue, c.initLiabilityWeightBps, 'up'));
    maintLiabilities = checked(maintLiabilities + applyBps(debtValue, c.maintLiabilityWeightBps, 'up'));
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
 * Weighted collateral over weighted debt at maintenance weights (WAD, rounded down):
 * 1.0 (= WAD) is the liquidation threshold. `null` for an account without debt.
 */
export function healthRatio(health: Health): bigint | null {
  return health.maintLiabilities === 0n ? null : mulDiv(health.maintAssets, WAD, health.maintLiabilities, 'down');
}

/**
 * Asset valuation price (WAD per base unit of the collateral in market `marketIndex`) at
 * which maintenance health reaches zero, other prices unchanged; rounded up, so at this
 * price the account is at or just above the threshold. `null` if the account has no
 * deposit there, or stays healthy even at a price of zero.
 */
export function liquidationPrice(account: MarginAccount, markets: PricedMarket[], marketIndex: number): bigint | null {
  const balance = account.balances.find((b) => b.active !== 0 && b.marketIndex === marketIndex);
  const market = markets.find((m) => m.marketIndex === marketIndex);
  if (!balance || !market) return null;
  const { deposit } = balanceAmounts(balance, market);
  const weight = BigInt(market.config.maintAssetWeightBps);
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
