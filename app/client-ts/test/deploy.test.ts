// migrations/deploy.ts's config parsing on the committed example (the deployment itself
// needs a cluster; the same plan is unit-tested in the Rust CLI).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type DeployConfig, marketConfig, oracleSource, protocolConfig } from '../../../migrations/deploy.ts';
import { getMarketConfigEncoder, getOracleSourceEncoder, getProtocolConfigEncoder, ORACLE_KIND_PYTH_PRICE_UPDATE_V2 } from '../src/index.ts';

const example: DeployConfig = JSON.parse(readFileSync(new URL('../../../migrations/deploy.example.json', import.meta.url), 'utf8'));

test('the example config parses into encodable MarketConfigs', () => {
  assert.equal(example.markets.length, 2);
  const usdc = marketConfig(example.markets[0].config, 'usdc');
  assert.equal(usdc.depositCap, 10_000_000_000_000n);
  assert.equal(usdc.initAssetWeightBps, 9000);
  assert.equal(usdc.breakers.priceGuardMaxMoveBps, 2000);
  assert.equal(usdc.breakers.smallOutflowThreshold, 100_000_000n);
  // Each market's own volatility, regime multipliers, stable price and USD limits.
  assert.deepEqual(usdc.volatility.enterVolBps, [8000, 12000, 20000]);
  assert.equal(usdc.volatility.minDwellSecs, 21600);
  assert.deepEqual(usdc.regimeWeights, {
    assetMultiplierBps: [10000, 9500, 8500, 7000],
    liabilityMultiplierBps: [10000, 10000, 10500, 11000],
    rampSecs: 86400,
  });
  assert.deepEqual(usdc.stablePrice, { maxHourlyMoveBps: 500, delayIntervalSecs: 3600, maxDelayMoveBps: 600, slowBandBps: 1000 });
  assert.deepEqual(usdc.limits, { assetValueInitLimitUsd: 0n, borrowLimitPerWindowUsd: 2_000_000n, borrowLimitWindowSecs: 3600, padding: 0 });
  assert.equal(getMarketConfigEncoder().encode(usdc).length, 264);
  const sol = marketConfig(example.markets[1].config, 'sol');
  assert.equal(sol.limits.borrowLimitPerWindowUsd, 0n);
  assert.equal(getMarketConfigEncoder().encode(sol).length, 264);
});

test('the example protocol config parses and encodes to its 256 bytes', () => {
  const config = protocolConfig(example.protocol_config, 'protocol_config');
  assert.equal(config.feeBuybackBps, 4000);
  assert.equal(config.regimes[0].emissionRatePerSec, 0n);
  assert.equal(config.regimes[3].exitPenaltyBps, 3000);
  // Weight multipliers are per market now (MarketConfig.regime_weights), not per protocol regime.
  assert.ok(!('nativeWeightMultiplierBps' in config.regimes[3]));
  assert.ok(!('weightRampSecs' in config.volatility));
  const oldRegimes = (example.protocol_config.regimes as object[]).map((r) => ({ ...r, native_weight_multiplier_bps: 10000 }));
  assert.throws(() => protocolConfig({ ...example.protocol_config, regimes: oldRegimes }, 'p'), /p.regimes\[0\]: unknown config fields native_weight_multiplier_bps/);
  assert.deepEqual(config.volatility.enterVolBps, [8000, 12000, 20000]);
  assert.equal(getProtocolConfigEncoder().encode(config).length, 256);
  const short = { ...example.protocol_config, volatility: { ...(example.protocol_config.volatility as object), exit_vol_bps: [1, 2] } };
  assert.throws(() => protocolConfig(short, 'p'), /p.volatility.exit_vol_bps: expected a list of 3/);
  assert.equal(config.guardian.maxTripSecs, 1800);
  assert.deepEqual(config.timelock, { delaySecs: 172800, graceSecs: 604800 });
  assert.equal(example.launch, false);
  assert.throws(() => protocolConfig({ ...example.protocol_config, fee_split: 1 }, 'p'), /unknown config fields fee_split/);
  // Nested groups are checked field by field, with their path.
  const timelock = { delay_secs: 172800, grace_sec: 1 };
  assert.throws(() => protocolConfig({ ...example.protocol_config, timelock }, 'p'), /p.timelock: unknown config fields grace_sec/);
  const { timelock: _, ...noTimelock } = example.protocol_config;
  assert.throws(() => protocolConfig(noTimelock, 'p'), /p.timelock: expected an object of TimelockConfig fields/);
});

test('bad configs are refused with the field named', () => {
  const good = example.markets[0].config;
  assert.throws(() => marketConfig({ ...good, typo_bps: 1 }, 'm'), /unknown config fields typo_bps/);
  assert.throws(() => marketConfig({ ...good, base_rate_bps: -1 }, 'm'), /m.base_rate_bps/);
  const { borrow_cap: _, ...noCap } = good;
  assert.throws(() => marketConfig(noCap, 'm'), /m.borrow_cap/);
  // Nested structs (MarketConfig.breakers) are objects, checked the same way.
  const breakers = good.breakers as Record<string, number | string>;
  const withBreakers = (b: unknown) => marketConfig({ ...good, breakers: b as Record<string, number> }, 'm');
  assert.throws(() => withBreakers({ ...breakers, outflow_max_bsp: 1 }), /m.breakers: unknown config fields outflow_max_bsp/);
  assert.throws(() => withBreakers(7), /m.breakers: expected an object of BreakerConfig fields/);
  const { outflow_window_secs: __, ...noWindow } = breakers;
  assert.throws(() => withBreakers(noWindow), /m.breakers.outflow_window_secs/);
  // The new groups are required and checked the same way.
  const { limits: ___, ...noLimits } = good;
  assert.throws(() => marketConfig(noLimits, 'm'), /m.limits: expected an object of UsdLimits fields/);
  const regimeWeights = { ...(good.regime_weights as object), asset_multiplier_bps: [10000, 9500, 8500] };
  assert.throws(() => marketConfig({ ...good, regime_weights: regimeWeights }, 'm'), /m.regime_weights.asset_multiplier_bps: expected a list of 4/);
  const limits = { ...(good.limits as object), _padding: 0 };
  assert.throws(() => marketConfig({ ...good, limits }, 'm'), /m.limits: unknown config fields _padding/);
});

test('feeds are push feeds by feed id (or legacy accounts), with the address derived', async () => {
  const sol = await oracleSource(example.markets[1].oracle, 'sol');
  assert.equal(sol.kind, ORACLE_KIND_PYTH_PRICE_UPDATE_V2);
  assert.equal(sol.shardId, 0);
  assert.equal(Buffer.from(sol.feedId).toString('hex'), 'ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d');
  // Pyth's sponsored SOL/USD push feed on shard 0.
  assert.equal(sol.address, '7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE');
  assert.equal(getOracleSourceEncoder().encode(sol).length, 72);
  const legacy = await oracleSource({ kind: 'legacy', address: '11111111111111111111111111111111' }, 'l');
  assert.equal(legacy.kind, 2);
  await assert.rejects(oracleSource({ kind: 'price_update_v2', feed_id: '0x12' }, 'm.oracle'), /m.oracle.feed_id: feed id "0x12"/);
  await assert.rejects(oracleSource({ kind: 'pull' } as never, 'm.oracle'), /m.oracle: expected/);
  await assert.rejects(oracleSource({ kind: 'legacy', address: 'x', feed_id: '' } as never, 'm'), /unknown feed fields feed_id/);
});
