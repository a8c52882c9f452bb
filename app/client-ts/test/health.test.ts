// health.ts on hand-computed cases; the cross-language check against the program's own
// numbers is in vectors.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MarginAccount, MarketConfig } from '../src/generated/index.ts';
import {
  type PricedMarket,
  WAD,
  healthOf,
  healthRatio,
  i128,
  liquidationPrice,
  mantissaToWadPerUnit,
  mulDiv,
  toUiPrice,
  u128,
  valuationPrices,
} from '../src/health.ts';

const pod = (v: bigint) => {
  const bytes = new Uint8Array(16);
  let x = BigInt.asUintN(128, v);
  for (let i = 0; i < 16; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
  return { bytes };
};

const config = {
  initAssetWeightBps: 8_000,
  maintAssetWeightBps: 9_000,
  initLiabilityWeightBps: 12_000,
  maintLiabilityWeightBps: 11_000,
  oracleConfMultiplierBps: 10_000,
} as MarketConfig;

// USDC (6 decimals) at $1 and SOL (9 decimals) at $100, indices at 1.0.
const usdc: PricedMarket = { marketIndex: 0, decimals: 6, depositIndex: WAD, borrowIndex: WAD, prices: { asset: 10n ** 12n, liability: 10n ** 12n }, config };
const sol: PricedMarket = { marketIndex: 1, decimals: 9, depositIndex: WAD, borrowIndex: WAD, prices: { asset: 10n ** 11n, liability: 10n ** 11n }, config };

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

test('no debt: no ratio and no liquidation price', () => {
  const acct = account([{ marketIndex: 1, deposit: 10n ** 9n }]);
  assert.equal(healthRatio(healthOf(acct, [sol])), null);
  assert.equal(liquidationPrice(acct, [sol], 1), null);
  assert.equal(liquidationPrice(acct, [sol], 0), null);
});

test('a balance whose market is not priced is an error, not zero', () => {
  assert.throws(() => healthOf(account([{ marketIndex: 3, deposit: 1n }]), [usdc, sol]), /not priced/);
});
