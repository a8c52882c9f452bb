// health.ts on hand-computed cases; the cross-language check against the program's own
// numbers is in vectors.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MarginAccount, Market, MarketConfig, WeightRamp } from '../src/generated/index.ts';
import {
  type MarketIndices,
  type PricedMarket,
  type Weights,
  MAX_ACCRUAL_SECS,
  SECONDS_PER_YEAR,
  WAD,
  accrualAt,
  accrue,
  applyMultipliers,
  borrowRateWad,
  boundByStable,
  healthOf,
  healthRatio,
  i128,
  initAssetWeightUnderLimit,
  liquidationPrice,
  mantissaToWadPerUnit,
  mulDiv,
  priceMarket,
  rampAt,
  rampedBps,
  scaleAssetWeight,
  scaleLiabilityWeight,
  storedIndices,
  toUiPrice,
  u128,
  valuationPrices,
  weightsAt,
} from '../src/health.ts';

const pod = (v: bigint) => {
  const bytes = new Uint8Array(16);
  let x = BigInt.asUintN(128, v);
  for (let i = 0; i < 16; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
  return { bytes };
};

const T0 = 1_750_000_000n;
const DAY = 86_400n;
const U32_MAX = 0xffff_ffff;

const config = {
  initAssetWeightBps: 8_000,
  maintAssetWeightBps: 9_000,
  initLiabilityWeightBps: 12_000,
  maintLiabilityWeightBps: 11_000,
  optimalUtilizationBps: 8_000,
  baseRateBps: 0,
  optimalRateBps: 1_000,
  maxRateBps: 10_000,
  protocolFeeBps: 1_000,
  oracleConfMultiplierBps: 10_000,
  limits: { assetValueInitLimitUsd: 0n, borrowLimitPerWindowUsd: 0n, borrowLimitWindowSecs: 3_600, padding: 0 },
} as MarketConfig;
const weights: Weights = { initAssetBps: 8_000, maintAssetBps: 9_000, initLiabilityBps: 12_000, maintLiabilityBps: 11_000 };

// USDC (6 decimals) at $1 and SOL (9 decimals) at $100, indices at 1.0, no stable price.
const dollar = { asset: 10n ** 12n, liability: 10n ** 12n };
const hundred = { asset: 10n ** 11n, liability: 10n ** 11n };
const usdc: PricedMarket = { marketIndex: 0, decimals: 6, depositIndex: WAD, borrowIndex: WAD, prices: dollar, initPrices: dollar, weights };
const sol: PricedMarket = { marketIndex: 1, decimals: 9, depositIndex: WAD, borrowIndex: WAD, prices: hundred, initPrices: hundred, weights };

const settled = (bps: number): WeightRamp => ({ fromBps: bps, toBps: bps, startTs: T0, rampSecs: 0, padding: 0 });

/** A decoded market with the fields pricing reads: SOL, 9 decimals, last accrued at T0. */
function market(m: {
  depositShares?: bigint;
  borrowShares?: bigint;
  stable?: bigint;
  limitUsd?: bigint;
  assetMultiplier?: WeightRamp;
  liabilityMultiplier?: WeightRamp;
}): Market {
  return {
    marketIndex: 1,
    decimals: 9,
    depositIndex: pod(WAD),
    borrowIndex: pod(WAD),
    totalDepositShares: pod(m.depositShares ?? 0n),
    totalBorrowShares: pod(m.borrowShares ?? 0n),
    lastAccrualTs: T0,
    config: { ...config, limits: { ...config.limits, assetValueInitLimitUsd: m.limitUsd ?? 0n } },
    assetMultiplier: m.assetMultiplier ?? settled(10_000),
    liabilityMultiplier: m.liabilityMultiplier ?? settled(10_000),
    stablePrice: { stablePrice: pod(m.stable ?? 0n), delayedPrice: pod(m.stable ?? 0n), lastUpdateTs: T0, delayIntervalStartTs: T0 },
  } as unknown as Market;
}

/** $100.00000000 (expo -8), no confidence band. */
const solReading = (dollars: bigint) => ({ price: dollars * 10n ** 8n, conf: 0n, emaPrice: dollars * 10n ** 8n, expo: -8 });

function account(balances: { marketIndex: number; deposit?: bigint; borrow?: bigint }[]): MarginAccount {
  const empty = { depositShares: pod(0n), borrowShares: pod(0n), marketIndex: 0, active: 0, padding: new Uint8Array(5) };
  const slots = balances.map((b) => ({ ...empty, marketIndex: b.marketIndex, active: 1, depositShares: pod(b.deposit ?? 0n), borrowShares: pod(b.borrow ?? 0n) }));
  while (slots.length < 8) slots.push(empty);
  return { balances: slots } as unknown as MarginAccount;
}

test('128-bit pods decode both ways', () => {
  assert.equal(u128(pod(5n)), 5n);
  assert.equal(i128(pod(-5n)), -5n);
  assert.equal(u128(pod(-1n)), (1n << 128n) - 1n);
});

test('mulDiv rounds as asked and refuses u128 overflow', () => {
  assert.equal(mulDiv(7n, 1n, 2n, 'down'), 3n);
  assert.equal(mulDiv(7n, 1n, 2n, 'up'), 4n);
  assert.throws(() => mulDiv(1n << 127n, 4n, 1n, 'down'), RangeError);
  assert.throws(() => mulDiv(1n, 1n, 0n, 'down'), RangeError);
});

test('oracle prices scale to WAD per base unit, conservatively', () => {
  // $100.00000000 (expo -8) for a 9-decimal token: 1e-7 dollars per base unit = 1e11 WAD.
  assert.equal(mantissaToWadPerUnit(10_000_000_000n, -8, 9, 'down'), 10n ** 11n);
  const p = valuationPrices({ price: 10_000_000_000n, conf: 100_000_000n, emaPrice: 10_000_000_000n, expo: -8 }, config, 9);
  assert.equal(p.asset, 99n * 10n ** 9n); // $99: price - conf
  assert.equal(p.liability, 101n * 10n ** 9n); // $101: price + conf
});

test('ramps are exact at their ends and round down in between, both ways', () => {
  assert.equal(rampedBps(10_000, 7_000, T0, T0 - 5n, 100), 10_000);
  assert.equal(rampedBps(10_000, 7_000, T0, T0, 100), 10_000);
  assert.equal(rampedBps(10_000, 7_000, T0, T0 + 100n, 100), 7_000);
  assert.equal(rampedBps(10_000, 7_000, T0, (1n << 63n) - 1n, 100), 7_000);
  // Falling 3_000 over 7 s: after 1 s 428.57 off, rounded to 429 off (the value down).
  assert.equal(rampedBps(10_000, 7_000, T0, T0 + 1n, 7), 9_571);
  // Rising: 428.57 on, rounded to 428 on (the value down again).
  assert.equal(rampedBps(7_000, 10_000, T0, T0 + 1n, 7), 7_428);
  // A zero-length ramp jumps at once.
  assert.equal(rampedBps(7_000, 10_000, T0, T0, 0), 10_000);
  // A stored ramp: a third of the way down 30 days from 1.0 to 0.7.
  const ramp: WeightRamp = { fromBps: 10_000, toBps: 7_000, startTs: T0, rampSecs: 30 * 86_400, padding: 0 };
  assert.equal(rampAt(ramp, T0 + 10n * DAY), 9_000);
  assert.equal(rampAt(ramp, T0 + 10n * DAY + 1n), 8_999); // 1_000.001.. off, rounded up
});

test('multipliers scale asset weights down and liability weights up', () => {
  assert.deepEqual(applyMultipliers(weights, 7_000, 11_000), {
    initAssetBps: 5_600,
    maintAssetBps: 6_300,
    initLiabilityBps: 13_200,
    maintLiabilityBps: 12_100,
  });
  assert.equal(scaleAssetWeight(8_001, 7_000), 5_600); // 5_600.7 down
  assert.equal(scaleLiabilityWeight(11_001, 11_000), 12_102); // 12_101.1 up
  assert.equal(scaleLiabilityWeight(10_001, 10_001), 10_003); // 10_002.0001 up
  // Multipliers on the wrong side of 1.0 count as 1.0; the liability weight saturates.
  assert.deepEqual(applyMultipliers(weights, 12_000, 9_000), weights);
  assert.equal(scaleLiabilityWeight(U32_MAX, 30_000), U32_MAX);
  // A market's weights at a time: both ramps read there.
  const m = market({
    assetMultiplier: { fromBps: 10_000, toBps: 7_000, startTs: T0, rampSecs: 7, padding: 0 },
    liabilityMultiplier: { fromBps: 10_000, toBps: 11_000, startTs: T0, rampSecs: 7, padding: 0 },
  });
  // 1 s in: asset 9_571, liability 10_142 (142.86 on, down); 9_000 * 0.9571 = 8_613.9 down, 11_000 * 1.0142 = 11_156.2 up.
  assert.deepEqual(weightsAt(m, T0 + 1n), { initAssetBps: 7_656, maintAssetBps: 8_613, initLiabilityBps: 12_171, maintLiabilityBps: 11_157 });
  assert.deepEqual(weightsAt(m, T0), weights);
});

test('the stable price bounds initial health only', () => {
  assert.deepEqual(boundByStable({ asset: 100n, liability: 110n }, 0n), { asset: 100n, liability: 110n });
  assert.deepEqual(boundByStable({ asset: 100n, liability: 110n }, 90n), { asset: 90n, liability: 110n });
  assert.deepEqual(boundByStable({ asset: 100n, liability: 110n }, 120n), { asset: 100n, liability: 120n });
  // SOL at $100 on the oracle, $90 stable: 10 SOL count $900 * 80% initially, $1,000 * 90% for maintenance.
  const priced = priceMarket(market({ depositShares: 10n ** 10n, stable: 9n * 10n ** 10n }), solReading(100n), T0);
  assert.deepEqual(priced.prices, hundred);
  assert.deepEqual(priced.initPrices, { asset: 9n * 10n ** 10n, liability: 10n ** 11n });
  const h = healthOf(account([{ marketIndex: 1, deposit: 10n ** 10n }]), [priced]);
  assert.equal(h.initAssets, 720n * WAD);
  assert.equal(h.maintAssets, 900n * WAD);
  // A debt is held up to a higher stable price, again only initially: 1 SOL owed at $100, stable $120.
  const owed = priceMarket(market({ depositShares: 10n ** 10n, borrowShares: 10n ** 9n, stable: 12n * 10n ** 10n }), solReading(100n), T0);
  const d = healthOf(account([{ marketIndex: 1, borrow: 10n ** 9n }]), [owed]);
  assert.equal(d.initLiabilities, 144n * WAD); // $120 * 120%
  assert.equal(d.maintLiabilities, 110n * WAD); // $100 * 110%
});

test('the USD limit scales the initial asset weight beyond it', () => {
  // $2M of deposits against a $1M limit: the weight halves; at or under the limit, or with no limit (0), it stands.
  assert.equal(initAssetWeightUnderLimit(8_000, 2_000_000n * WAD, 1_000_000n), 4_000);
  assert.equal(initAssetWeightUnderLimit(8_000, 1_000_000n * WAD, 1_000_000n), 8_000);
  assert.equal(initAssetWeightUnderLimit(8_000, (1n << 128n) - 1n, 0n), 8_000);
  assert.equal(initAssetWeightUnderLimit(8_000, 3_000_000n * WAD, 1_000_000n), 2_666); // 2_666.67 down
  // The market's 20 SOL at $100 are $2,000: a $1,000 limit halves the initial weight, not the maintenance one.
  const limited = priceMarket(market({ depositShares: 20n * 10n ** 9n, limitUsd: 1_000n }), solReading(100n), T0);
  assert.deepEqual(limited.weights, { ...weights, initAssetBps: 4_000 });
  assert.deepEqual(priceMarket(market({ depositShares: 20n * 10n ** 9n, limitUsd: 0n }), solReading(100n), T0).weights, weights);
  // Deposits are valued at the initial price: held to a $50 stable price they are $1,000, within the limit.
  const stable = priceMarket(market({ depositShares: 20n * 10n ** 9n, limitUsd: 1_000n, stable: 5n * 10n ** 10n }), solReading(100n), T0);
  assert.equal(stable.weights.initAssetBps, 8_000);
  // The limit applies after the multipliers: 0.7 * 8_000 = 5_600, then halved.
  const crisis = market({ depositShares: 20n * 10n ** 9n, limitUsd: 1_000n, assetMultiplier: settled(7_000) });
  assert.equal(priceMarket(crisis, solReading(100n), T0).weights.initAssetBps, 2_800);
});

const indices = (deposits: bigint, borrows: bigint): MarketIndices => ({
  depositIndex: WAD,
  borrowIndex: WAD,
  totalDepositShares: deposits,
  totalBorrowShares: borrows,
});

test('a year of interest at 90% utilisation, past the kink', () => {
  // 0.1 at the kink (80%) plus half of the 0.9 slope to 100%: 0.55 a year.
  assert.equal(borrowRateWad(config, (WAD * 9n) / 10n), (WAD * 55n) / 100n);
  const a = accrue(indices(1_000_000n, 900_000n), config, 1_000, SECONDS_PER_YEAR);
  assert.equal(a.borrowIndex, (WAD * 155n) / 100n);
  // 495,000 tokens of interest; 10% to the protocol, 445,500 over 1,000,000 deposit shares.
  assert.equal(a.interestWad, 495_000n * WAD);
  assert.equal(a.protocolFee, 49_500n);
  assert.equal(a.depositIndex, WAD + (WAD * 4_455n) / 10_000n);
});

test('accrual rounds as the program does and runs from the last accrual', () => {
  // 1 of 3 tokens borrowed: utilisation 1/3 rounded up, the rate (0.1 * util / 0.8) rounded
  // up, a day's growth (rate / 365) rounded up.
  const util = WAD / 3n + 1n;
  const rate = 41_666_666_666_666_667n;
  assert.equal(borrowRateWad(config, util), rate);
  const a = accrue(indices(3n, 1n), config, 1_000, DAY);
  assert.equal(a.borrowIndex, WAD + 114_155_251_141_553n); // 41_666_666_666_666_667 / 365 = ..552.51 up
  // 114_155_251_141_553 WAD-tokens of interest: no whole token for the protocol, the rest over 3 shares (down).
  assert.equal(a.protocolFee, 0n);
  assert.equal(a.depositIndex, WAD + 38_051_750_380_517n);
  // No deposit shares: all interest is the protocol's.
  assert.equal(accrue(indices(0n, 10n ** 18n), config, 1_000, SECONDS_PER_YEAR).protocolFee, 10n ** 18n);
  // From the market's last accrual to `at`, at most an hour of it (a year's gap accrues
  // an hour, as the program's MAX_ACCRUAL_SECS); nothing at or before it.
  const m = market({ depositShares: 1_000_000n, borrowShares: 900_000n });
  const hour = accrue(storedIndices(m), config, config.protocolFeeBps, MAX_ACCRUAL_SECS);
  assert.equal(MAX_ACCRUAL_SECS, 3_600n);
  assert.ok(hour.borrowIndex > WAD);
  assert.deepEqual(accrualAt(m, T0 + SECONDS_PER_YEAR), hour);
  assert.deepEqual(accrualAt(m, T0 + MAX_ACCRUAL_SECS), hour);
  assert.ok(accrualAt(m, T0 + MAX_ACCRUAL_SECS - 1n).borrowIndex < hour.borrowIndex);
  assert.equal(accrualAt(m, T0).borrowIndex, WAD);
  assert.equal(accrualAt(m, T0 - DAY).borrowIndex, WAD);
  // priceMarket values balances at the accrued indices.
  const priced = priceMarket(m, solReading(100n), T0 + SECONDS_PER_YEAR);
  assert.deepEqual([priced.depositIndex, priced.borrowIndex], [hour.depositIndex, hour.borrowIndex]);
  const h = healthOf(account([{ marketIndex: 1, borrow: 10n ** 9n }]), [priced]);
  // 1 SOL of debt shares at the hour's index, at $100, 110%.
  assert.equal(h.maintLiabilities, mulDiv(mulDiv(10n ** 9n, hour.borrowIndex, WAD, 'up') * 100n * 10n ** 9n, 11_000n, 10_000n, 'up'));
});

test('health, ratio and liquidation price of 10 SOL against 600 USDC', () => {
  const acct = account([{ marketIndex: 1, deposit: 10n * 10n ** 9n }, { marketIndex: 0, borrow: 600n * 10n ** 6n }]);
  const h = healthOf(acct, [usdc, sol]);
  assert.equal(h.maintAssets, 900n * WAD); // $1,000 * 90%
  assert.equal(h.maintLiabilities, 660n * WAD); // $600 * 110%
  assert.equal(h.init, 800n * WAD - 720n * WAD);
  assert.equal(healthRatio(h), (900n * WAD) / 660n);
  // 10 SOL * p * 90% = $660  =>  p = $73.33.. per SOL, rounded up per base unit.
  const p = liquidationPrice(acct, [usdc, sol], 1)!;
  assert.equal(p, mulDiv(660n * WAD, 10_000n, 10n * 10n ** 9n * 9_000n, 'up'));
  assert.equal(toUiPrice(p, 9), 73.333333); // display precision: 6 decimals, truncated
  const at = (asset: bigint) => healthOf(acct, [usdc, { ...sol, prices: { ...sol.prices, asset } }]).maint;
  assert.ok(at(p) >= 0n && at(p - 1n) < 0n, 'the price is the threshold');
});

test('the ratio and liquidation price use the weights in force', () => {
  // SOL in Crisis (0.7 on its asset weights): 10 SOL * p * 63% = $660  =>  p = $104.76.. per SOL.
  const acct = account([{ marketIndex: 1, deposit: 10n * 10n ** 9n }, { marketIndex: 0, borrow: 600n * 10n ** 6n }]);
  const crisis = { ...sol, weights: applyMultipliers(weights, 7_000, 11_000) };
  const h = healthOf(acct, [usdc, crisis]);
  assert.equal(h.maintAssets, 630n * WAD);
  assert.equal(healthRatio(h), (630n * WAD) / 660n);
  const p = liquidationPrice(acct, [usdc, crisis], 1)!;
  assert.equal(p, mulDiv(660n * WAD, 10_000n, 10n * 10n ** 9n * 6_300n, 'up'));
  assert.equal(toUiPrice(p, 9), 104.761904);
  const at = (asset: bigint) => healthOf(acct, [usdc, { ...crisis, prices: { ...crisis.prices, asset } }]).maint;
  assert.ok(at(p) >= 0n && at(p - 1n) < 0n, 'the price is the threshold');
});

test('no debt: no ratio and no liquidation price', () => {
  const acct = account([{ marketIndex: 1, deposit: 10n ** 9n }]);
  assert.equal(healthRatio(healthOf(acct, [sol])), null);
  assert.equal(liquidationPrice(acct, [sol], 1), null);
  assert.equal(liquidationPrice(acct, [sol], 0), null);
});

test('a balance whose market is not priced is an error, not zero', () => {
  assert.throws(() => healthOf(account([{ marketIndex: 3, deposit: 1n }]), [usdc, sol]), /not priced/);
});
