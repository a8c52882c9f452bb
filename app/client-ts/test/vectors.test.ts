// Cross-language vectors written by tests/tests/vectors.rs (Rust, the real program): the
// generated client must decode every instruction and account to the values Rust saw, and
// re-encode them byte for byte; PDAs and health must agree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { AccountRole, type Address, type Instruction, address, createNoopSigner } from '@solana/kit';
import * as gen from '../src/generated/index.ts';
import {
  findMarginAccountPda,
  findMarketPda,
  findProposalPda,
  findProtocolPda,
  findVaultPda,
  healthOf,
  marginAccountPda,
  marketPda,
  OracleError,
  ORACLE_KIND_PYTH_PRICE_UPDATE_V2,
  parseFeedId,
  priceMarket,
  pushFeedAddress,
  readFeed,
  proposalPda,
  protocolPda,
  vaultPda,
  weightsAt,
  healthPairs,
  liquidateWithHealth,
  withHealthAccounts,
  exitPenaltyAt,
  stakeWeightAt,
} from '../src/index.ts';
import { u128, i128 } from '../src/health.ts';

type Meta = { name: string | null; address: string; writable: boolean; signer: boolean };
type Vectors = {
  programId: string;
  pdas: Record<string, string | number>[];
  instructions: { name: string; data: string; accounts: Meta[]; remaining: Meta[]; expect: Record<string, string> }[];
  accounts: { type: string; address: string; data: string; expect: Record<string, string> }[];
  oracles: {
    name: string;
    source: { address: string; feedId: string; shardId: number; kind: number };
    owner: string;
    data: string;
    expect: { error: string } | { price: string; conf: string; emaPrice: string; expo: number; publishTime: string };
  }[];
  health: {
    /** The program's clock for this case (unix seconds): after the markets' last accrual. */
    at: string;
    marginAccount: string;
    markets: string[];
    readings: { marketIndex: number; price: string; conf: string; emaPrice: string; expo: number }[];
    health: Record<string, string>;
  };
  healthPairs: {
    account: string;
    markets: { marketIndex: number; market: string; oracle: string }[];
    cases: { change: { kind: 'none' | 'opens' | 'closes'; market: string | null }; pairs: [string, string][] }[];
  };
  staking: {
    now: string;
    amount: string;
    lockStart: string;
    lockEnd: string;
    cooldownEnd: string;
    maxLockSecs: number;
    maxLockBoostBps: number;
    exitPenaltyFloorBps: number;
    exitPenaltyCapBps: number;
    regimeExitPenaltyBps: number;
    expect: { weight: string; penalty: string };
  }[];
};

const vectors: Vectors = JSON.parse(readFileSync(new URL('../../../tests/fixtures/vectors.json', import.meta.url), 'utf8'));
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const pascal = (snake: string) => snake.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
// Generated functions looked up by the IDL's names, so new instructions and accounts are covered.
const api = gen as unknown as Record<string, (...args: unknown[]) => any>;

/** A decoded field as the string Rust wrote: numbers and booleans as decimals, 128-bit pods as either sign, 32-byte arrays (feed ids) as 0x-hex. */
function matches(value: unknown, expected: string): boolean {
  if (isPod(value)) return u128(value).toString() === expected || i128(value).toString() === expected;
  if (value instanceof Uint8Array && value.length === 32) return `0x${Buffer.from(value).toString('hex')}` === expected;
  return String(value) === expected;
}

function isPod(value: unknown): value is { bytes: Uint8Array } {
  return !!value && typeof value === 'object' && 'bytes' in value && (value.bytes as Uint8Array).length === 16;
}

const show = (value: unknown) => (isPod(value) ? `${u128(value)} (u128) / ${i128(value)} (i128)` : String(value));

function assertFields(decoded: unknown, expect: Record<string, string>, what: string) {
  for (const [path, expected] of Object.entries(expect)) {
    const value = path.split('.').reduce((v: any, k) => v?.[k], decoded);
    assert.ok(value !== undefined, `${what}: no field ${path}`);
    assert.ok(matches(value, expected), `${what}.${path}: decoded ${show(value)}, Rust wrote ${expected}`);
  }
}

test('program address', () => {
  assert.equal(gen.BALLAST_PROGRAM_ADDRESS, vectors.programId);
});

describe('PDAs', () => {
  for (const p of vectors.pdas) {
    test(`${p.kind} ${p.address}`, async () => {
      const [protocol] = await findProtocolPda();
      let helper: Address;
      let generated: Address;
      if (p.kind === 'protocol') {
        [helper, [generated]] = [await protocolPda(), await findProtocolPda()];
      } else if (p.kind === 'market') {
        const mint = p.mint as Address;
        [helper, [generated]] = [await marketPda(mint), await findMarketPda({ protocol, mint })];
      } else if (p.kind === 'proposal') {
        const id = BigInt(p.id);
        [helper, [generated]] = [await proposalPda(id), await findProposalPda({ protocol, id })];
      } else if (p.kind === 'vault') {
        const market = p.market as Address;
        [helper, [generated]] = [await vaultPda(market), await findVaultPda({ market })];
      } else {
        const [owner, accountId] = [p.owner as Address, p.account_id as number];
        [helper, [generated]] = [
          await marginAccountPda(owner, accountId),
          await findMarginAccountPda({ protocol, owner, accountId }),
        ];
      }
      assert.equal(helper, p.address);
      assert.equal(generated, p.address);
    });
  }
});

const ROLES = [AccountRole.READONLY, AccountRole.WRITABLE, AccountRole.READONLY_SIGNER, AccountRole.WRITABLE_SIGNER];

describe('instructions', () => {
  const covered = new Set(vectors.instructions.map((c) => c.name));
  test('every instruction of the generated client has a vector', () => {
    const all = Object.keys(gen.BallastInstruction).filter((k) => Number.isNaN(Number(k)));
    const missing = all.filter((name) => !covered.has(name.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase())));
    // A new instruction needs a case in tests/tests/vectors.rs.
    assert.deepEqual(missing, [], `no vector for ${missing.join(', ')}`);
  });

  for (const c of vectors.instructions) {
    test(`${c.name} ${JSON.stringify(c.expect)}`, () => {
      const data = bytes(c.data);
      const name = pascal(c.name);
      assert.equal(gen.BallastInstruction[gen.identifyBallastInstruction(data)], name);
      const codec = api[`get${name}InstructionDataCodec`]();
      const decoded = codec.decode(data);
      assertFields(decoded, c.expect, c.name);
      assert.deepEqual(Uint8Array.from(codec.encode(decoded)), data, 're-encoded data');

      // The generated builder, given the same accounts and arguments, builds the same instruction.
      const input: Record<string, unknown> = { ...decoded };
      for (const m of c.accounts) {
        // An absent optional account is the program id, read-only: the builder's default when omitted.
        if (m.address === vectors.programId && !m.writable && !m.signer) continue;
        input[camel(m.name!)] = m.signer ? createNoopSigner(m.address as Address) : m.address;
      }
      const ix = api[`get${name}Instruction`](input);
      assert.deepEqual(Uint8Array.from(ix.data), data, 'builder data');
      assert.deepEqual(
        ix.accounts.map((a: { address: string; role: AccountRole }) => [a.address, a.role]),
        c.accounts.map((m) => [m.address, ROLES[(m.signer ? 2 : 0) + (m.writable ? 1 : 0)]]),
        'builder accounts (order, address, role)',
      );
    });
  }
});

describe('accounts', () => {
  for (const a of vectors.accounts) {
    test(`${a.type} ${a.address}`, () => {
      const data = bytes(a.data);
      assert.equal(gen.BallastAccount[gen.identifyBallastAccount(data)], a.type);
      const decoded = api[`get${a.type}Decoder`]().decode(data);
      assertFields(decoded, a.expect, a.type);
      const encoded = Uint8Array.from(api[`get${a.type}Encoder`]().encode(decoded));
      if (api[`get${a.type}Size`]) {
        // Zero-copy accounts: fixed size, every byte re-encoded.
        assert.equal(data.length, api[`get${a.type}Size`]());
        assert.deepEqual(encoded, data, 're-encoded account');
      } else {
        // Borsh accounts with enums (Proposal): the encoding, then the unused rest of the allocation.
        assert.deepEqual(encoded, data.subarray(0, encoded.length), 're-encoded account');
        assert.ok(data.subarray(encoded.length).every((b) => b === 0), 'zeros after the encoding');
      }
    });
  }
});

test('health matches the program, interest accrued and ramps read at its clock', () => {
  const at = BigInt(vectors.health.at);
  const find = (address: string) => bytes(vectors.accounts.find((a) => a.address === address)!.data);
  const account = gen.getMarginAccountDecoder().decode(find(vectors.health.marginAccount));
  const markets = vectors.health.markets.map((m) => gen.getMarketDecoder().decode(find(m)));
  const priced = markets.map((m) => {
    const r = vectors.health.readings.find((x) => x.marketIndex === m.marketIndex)!;
    return priceMarket(m, { price: BigInt(r.price), conf: BigInt(r.conf), emaPrice: BigInt(r.emaPrice), expo: r.expo }, at);
  });
  // The case is built so that every part of the pricing shows (tests/tests/vectors.rs asserts the same).
  assert.ok(markets.every((m) => m.lastAccrualTs < at), 'interest not yet accrued');
  assert.ok(priced[0].borrowIndex > u128(markets[0].borrowIndex), 'interest accrues');
  assert.ok(priced[1].initPrices.asset < priced[1].prices.asset, 'the stable price binds');
  const ramped = weightsAt(markets[1], at);
  assert.ok(ramped.maintAssetBps < markets[1].config.maintAssetWeightBps, 'mid-ramp');
  assert.ok(priced[1].weights.initAssetBps < ramped.initAssetBps, 'the USD limit binds');
  const health = healthOf(account, priced);
  for (const [k, v] of Object.entries(vectors.health.health)) {
    assert.equal(health[k as keyof typeof health].toString(), v, k);
  }
});

describe('Pyth feeds', () => {
  for (const c of vectors.oracles) {
    test(c.name, async () => {
      const source = { ...c.source, feedId: parseFeedId(c.source.feedId) };
      if (source.kind === ORACLE_KIND_PYTH_PRICE_UPDATE_V2) {
        assert.equal(await pushFeedAddress(source.shardId, source.feedId), c.source.address, 'push feed PDA');
      }
      const read = () => readFeed(source, c.owner as Address, bytes(c.data));
      if ('error' in c.expect) {
        const code = c.expect.error;
        assert.throws(read, (e: unknown) => e instanceof OracleError && e.code === code);
      } else {
        const r = read();
        const e = c.expect;
        assert.deepEqual(
          [r.price.toString(), r.conf.toString(), r.emaPrice.toString(), r.expo, r.publishTime.toString()],
          [e.price, e.conf, e.emaPrice, e.expo, e.publishTime],
        );
      }
    });
  }
});

test('health accounts follow the slot order the Rust client and the program use', () => {
  const v = vectors.healthPairs;
  const account = gen.getMarginAccountDecoder().decode(bytes(v.account));
  const markets = v.markets.map((m) => ({ ...m, market: address(m.market), oracle: address(m.oracle) }));
  for (const c of v.cases) {
    const change =
      c.change.kind === 'none' ? { kind: 'none' as const } : { kind: c.change.kind, market: address(c.change.market!) };
    assert.deepEqual(healthPairs(account, markets, change), c.pairs, `${c.change.kind} ${c.change.market}`);
  }
  // A builder appends them read-only after the instruction's own accounts.
  const base: Instruction = { programAddress: gen.BALLAST_PROGRAM_ADDRESS, accounts: [], data: new Uint8Array() };
  const ix = withHealthAccounts(base, healthPairs(account, markets));
  assert.deepEqual(
    (ix.accounts ?? []).map((a) => [a.address, a.role]),
    v.cases[0].pairs.flatMap(([m, o]) => [
      [m, AccountRole.READONLY],
      [o, AccountRole.READONLY],
    ]),
  );
  assert.throws(() => healthPairs(account, markets.slice(0, 2)), /market 2 is not among/);

  // A liquidation paid out as a deposit: the liquidatee's pairs, then the liquidator
  // account's after the credit (here the same holdings, opening market 3).
  const key = (i: number) => address(markets[i].market);
  const input = {
    liquidator: createNoopSigner(address(v.markets[0].oracle)),
    protocol: key(0),
    liquidatee: key(1),
    liabilityMarket: key(0),
    liabilityVault: key(1),
    liquidatorLiabilityToken: key(2),
    assetMarket: markets[3].market,
    assetVault: key(2),
    liquidatorAccount: key(3),
    maxRepay: 1n,
  };
  const liquidation = liquidateWithHealth(input, account, markets, account);
  const named = liquidation.accounts.length - 2 * (v.cases[0].pairs.length + v.cases[1].pairs.length);
  assert.deepEqual(
    liquidation.accounts.slice(named).map((a) => a.address),
    [...v.cases[0].pairs, ...v.cases[1].pairs].flat(),
  );
  assert.throws(() => liquidateWithHealth(input, account, markets), /needs the liquidator account/);
});

test('stake weights and exit penalties match the program', () => {
  for (const c of vectors.staking) {
    const escrow = {
      amount: BigInt(c.amount),
      lockStart: BigInt(c.lockStart),
      lockEnd: BigInt(c.lockEnd),
      cooldownEnd: BigInt(c.cooldownEnd),
    };
    const now = BigInt(c.now);
    assert.equal(stakeWeightAt(escrow, c, now).toString(), c.expect.weight, `weight of ${JSON.stringify(c)}`);
    assert.equal(exitPenaltyAt(escrow, c, c.regimeExitPenaltyBps, now).toString(), c.expect.penalty, `penalty of ${JSON.stringify(c)}`);
  }
});
