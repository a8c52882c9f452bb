// Pyth feeds as the program reads them (programs/ballast/src/oracle.rs): PriceUpdateV2
// accounts of the Pyth Solana Receiver (the format Pyth publishes on Solana today, kept
// fresh in push-feed PDAs) and legacy price accounts. Checked against the program by the
// `oracles` cases of tests/fixtures/vectors.json.
import { type Address, address, getProgramDerivedAddress, getU16Encoder } from '@solana/kit';
import type { OracleSourceArgs } from './generated/index.ts';

/** `OracleSource.kind`: a PriceUpdateV2 account. */
export const ORACLE_KIND_PYTH_PRICE_UPDATE_V2 = 1;
/** `OracleSource.kind`: a legacy Pyth price account. */
export const ORACLE_KIND_PYTH_LEGACY = 2;
/** Owner of every PriceUpdateV2 account. */
export const PYTH_RECEIVER_PROGRAM_ADDRESS = address('rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ');
/** Owner of legacy price accounts. */
export const PYTH_LEGACY_PROGRAM_ADDRESS = address('FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH');
/** The push-oracle program whose PDAs `[shard_id u16 LE, feed_id]` hold the push feeds. */
export const PYTH_PUSH_ORACLE_PROGRAM_ADDRESS = address('pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT');

/** A price as the program reads it, in the feed's own units (`mantissa * 10^expo`). */
export type FeedReading = { price: bigint; conf: bigint; emaPrice: bigint; expo: number; publishTime: bigint };

/** Thrown with the name of the program's error (`BallastError`) for the same account. */
export class OracleError extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = 'OracleError';
  }
}

/** A Pyth feed id from 64 hex digits, with or without `0x`. */
export function parseFeedId(hex: string): Uint8Array {
  const digits = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) throw new RangeError(`feed id ${JSON.stringify(hex)}: expected 64 hex digits`);
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/** The push feed of `feedId` on `shardId` (Pyth sponsors the common feeds on shard 0). */
export async function pushFeedAddress(shardId: number, feedId: Uint8Array): Promise<Address> {
  const [key] = await getProgramDerivedAddress({
    programAddress: PYTH_PUSH_ORACLE_PROGRAM_ADDRESS,
    seeds: [getU16Encoder().encode(shardId), feedId],
  });
  return key;
}

/** The `OracleSource` of a push feed. */
export async function pushFeedSource(shardId: number, feedId: Uint8Array): Promise<OracleSourceArgs> {
  const address = await pushFeedAddress(shardId, feedId);
  return { address, feedId, shardId, kind: ORACLE_KIND_PYTH_PRICE_UPDATE_V2, padding: new Uint8Array(5) };
}

/** The `OracleSource` of a legacy price account. */
export function legacySource(account: Address): OracleSourceArgs {
  return { address: account, feedId: new Uint8Array(32), shardId: 0, kind: ORACLE_KIND_PYTH_LEGACY, padding: new Uint8Array(5) };
}

type Source = { feedId: ArrayLike<number>; shardId: number; kind: number };

/** The reading in `data` (an account owned by `owner`) for `source`, as the program takes it. */
export function readFeed(source: Source, owner: Address, data: Uint8Array): FeedReading {
  const hasFeedId = Array.from(source.feedId).some((b) => b !== 0);
  if (source.kind === ORACLE_KIND_PYTH_PRICE_UPDATE_V2) {
    if (!hasFeedId) throw new OracleError('InvalidOracleSource');
    return readPriceUpdateV2(Uint8Array.from(source.feedId), owner, data);
  }
  if (source.kind === ORACLE_KIND_PYTH_LEGACY) {
    if (hasFeedId || source.shardId !== 0) throw new OracleError('InvalidOracleSource');
    return readLegacy(owner, data);
  }
  throw new OracleError('UnknownOracleKind');
}

/** Anchor's discriminator of `PriceUpdateV2` (sha256("account:PriceUpdateV2")[..8]). */
const PRICE_UPDATE_V2_DISCRIMINATOR = [34, 241, 35, 99, 157, 126, 244, 205];

function readPriceUpdateV2(feedId: Uint8Array, owner: Address, data: Uint8Array): FeedReading {
  if (owner !== PYTH_RECEIVER_PROGRAM_ADDRESS) throw new OracleError('OracleWrongOwner');
  const invalid = () => new OracleError('InvalidOracleAccount');
  if (data.length < 8 || PRICE_UPDATE_V2_DISCRIMINATOR.some((b, i) => data[i] !== b)) throw invalid();
  // write_authority (32), then the VerificationLevel enum: 0 = Partial { num_signatures: u8 }, 1 = Full.
  const tag = data[40];
  if (tag !== 0 && tag !== 1) throw invalid();
  const at = tag === 0 ? 42 : 41;
  // feed_id, price, conf, exponent, publish_time, prev_publish_time, ema_price, ema_conf, posted_slot.
  if (data.length < at + 32 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8) throw invalid();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (feedId.some((b, i) => data[at + i] !== b)) throw new OracleError('OracleFeedIdMismatch');
  if (tag !== 1) throw new OracleError('OraclePartiallyVerified');
  const m = at + 32;
  return {
    price: view.getBigInt64(m, true),
    conf: view.getBigUint64(m + 8, true),
    expo: view.getInt32(m + 16, true),
    publishTime: view.getBigInt64(m + 20, true),
    emaPrice: view.getBigInt64(m + 36, true),
  };
}

// pyth-sdk-solana's `SolanaPriceAccount` (32 components): magic, version, type, and the
// fields the program reads.
const LEGACY_SIZE = 3312;
const LEGACY_MAGIC = 0xa1b2c3d4;
const LEGACY_VERSION = 2;
const LEGACY_PRICE_ACCOUNT = 3;
const TRADING = 1;

function readLegacy(owner: Address, data: Uint8Array): FeedReading {
  if (owner !== PYTH_LEGACY_PROGRAM_ADDRESS) throw new OracleError('OracleWrongOwner');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (
    data.length < LEGACY_SIZE ||
    view.getUint32(0, true) !== LEGACY_MAGIC ||
    view.getUint32(4, true) !== LEGACY_VERSION ||
    view.getUint32(8, true) !== LEGACY_PRICE_ACCOUNT
  ) {
    throw new OracleError('InvalidOracleAccount');
  }
  // A feed that is not trading falls back to its previous aggregate (pyth-sdk-solana's rule).
  const trading = view.getUint32(224, true) === TRADING;
  return {
    price: view.getBigInt64(trading ? 208 : 184, true),
    conf: view.getBigUint64(trading ? 216 : 192, true),
    emaPrice: view.getBigInt64(48, true),
    expo: view.getInt32(20, true),
    publishTime: view.getBigInt64(trading ? 96 : 200, true),
  };
}
