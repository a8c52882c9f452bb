// Initialises Ballast on a cluster, lists its first markets during the setup phase and, if
// the config says `"launch": true`, launches it (Anchor's migrations/deploy.ts convention,
// written on @solana/kit and the Codama-generated client rather than @coral-xyz/anchor).
// Idempotent: the protocol and markets that already exist are skipped. After launch a new
// market needs a ListMarket proposal (`ballast-cli propose-change`), so this script refuses.
//
//   cd app/client-ts && npm ci
//   npm run deploy -- --config ../../migrations/deploy.json [--dry-run]
//
// The admin keypair must be the program's upgrade authority (initialize_protocol checks it
// against the ProgramData account) and becomes the protocol admin; the same steps are in
// the Rust CLI: `cargo run -p ballast-cli -- deploy --config FILE`.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  BALLAST_PROGRAM_ADDRESS,
  fetchMaybeMarket,
  fetchMaybeProtocol,
  getAddMarketInstructionAsync,
  getInitializeProtocolInstructionAsync,
  getLaunchInstruction,
  kit,
  legacySource,
  marketPda,
  parseFeedId,
  protocolPda,
  pushFeedSource,
  type MarketConfigArgs,
  type OracleSourceArgs,
  type ProtocolConfigArgs,
} from '../app/client-ts/src/index.ts';

type Address = kit.Address;

/** migrations/deploy.example.json; the same file drives `ballast-cli deploy`. */
export type DeployConfig = {
  cluster: string;
  /** Websocket URL for confirmations; default: the cluster URL with ws(s)://. */
  websocket?: string;
  admin_keypair: string;
  native_mint: string;
  /** The native token's Pyth feed (volatility samples, buyback pricing). */
  native_oracle: FeedSpec;
  /** ProtocolConfig fields (snake_case, as in the IDL; nested structs as objects). */
  protocol_config: Record<string, unknown>;
  markets: { name: string; mint: string; oracle: FeedSpec; config: Record<string, unknown> }[];
  /** End the setup phase once every market is listed (default false; one-way). */
  launch?: boolean;
};

/**
 * A Pyth feed: a push feed (PriceUpdateV2, address derived from the shard and feed id;
 * shard 0 by default, where Pyth sponsors the common feeds) or a legacy price account.
 */
export type FeedSpec =
  | { kind: 'price_update_v2'; feed_id: string; shard_id?: number }
  | { kind: 'legacy'; address: string };

/** The on-chain `OracleSource` of a feed spec; unknown kinds and keys are refused. */
export async function oracleSource(spec: FeedSpec, where: string): Promise<OracleSourceArgs> {
  const keys = (allowed: string[]) => {
    const extra = Object.keys(spec).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw new Error(`${where}: unknown feed fields ${extra.join(', ')}`);
  };
  switch (spec?.kind) {
    case 'price_update_v2': {
      keys(['kind', 'feed_id', 'shard_id']);
      const shard = spec.shard_id ?? 0;
      if (!Number.isInteger(shard) || shard < 0 || shard > 0xffff) throw new Error(`${where}.shard_id: expected 0..=65535`);
      try {
        return await pushFeedSource(shard, parseFeedId(spec.feed_id));
      } catch (e) {
        throw new Error(`${where}.feed_id: ${e instanceof Error ? e.message : e}`);
      }
    }
    case 'legacy':
      keys(['kind', 'address']);
      return legacySource(kit.address(spec.address));
    default:
      throw new Error(`${where}: expected { "kind": "price_update_v2", "feed_id": ... } or { "kind": "legacy", "address": ... }`);
  }
}

// Config structs' fields and types, in order, from the IDL: a field added to the program
// needs no change here (the Rust CLI reads the same lists).
type IdlType = string | { array: [IdlType, number] } | { defined: { name: string } };
type Raw = Record<string, unknown>;
const IDL = JSON.parse(readFileSync(new URL('../idl/ballast.json', import.meta.url), 'utf8'));
const layout = (name: string): { name: string; type: IdlType }[] =>
  IDL.types.find((t: { name: string }) => t.name === name).type.fields;

/** The on-chain MarketConfig of a market entry: every field required, u64s as strings or integers. */
export function marketConfig(raw: Raw, where: string): MarketConfigArgs {
  return configStruct('MarketConfig', raw, where) as unknown as MarketConfigArgs;
}

/** The on-chain ProtocolConfig, read the same way (nested structs as objects, arrays as lists). */
export function protocolConfig(raw: Raw, where: string): ProtocolConfigArgs {
  return configStruct('ProtocolConfig', raw, where) as unknown as ProtocolConfigArgs;
}

const camel = (s: string) => s.replace(/^_/, '').replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function configStruct(name: string, raw: Raw, where: string): Record<string, unknown> {
  const fields = layout(name);
  const unknown = Object.keys(raw).filter((k) => k.startsWith('_') || !fields.some((f) => f.name === k));
  if (unknown.length > 0) throw new Error(`${where}: unknown config fields ${unknown.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const { name: field, type } of fields) {
    // Padding is not configuration: always zero, never in the file.
    out[camel(field)] = field.startsWith('_') ? zero(type) : configValue(type, raw[field], `${where}.${field}`);
  }
  return out;
}

function configValue(type: IdlType, v: unknown, where: string): unknown {
  if (typeof type === 'object' && 'array' in type) {
    const [inner, len] = type.array;
    if (!Array.isArray(v) || v.length !== len) throw new Error(`${where}: expected a list of ${len}, got ${JSON.stringify(v)}`);
    return v.map((item, i) => configValue(inner, item, `${where}[${i}]`));
  }
  if (typeof type === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object of ${type.defined.name} fields, got ${JSON.stringify(v)}`);
    return configStruct(type.defined.name, v as Raw, where);
  }
  const max = { u8: 0xffn, u16: 0xffffn, u32: 0xffff_ffffn, u64: 0xffff_ffff_ffff_ffffn }[type] ?? -1n;
  if (v === undefined || !/^\d+$/.test(String(v)) || BigInt(String(v)) > max) {
    throw new Error(`${where}: expected an integer ${type}, got ${JSON.stringify(v)}`);
  }
  return type === 'u64' ? BigInt(String(v)) : Number(v);
}

function zero(type: IdlType): unknown {
  if (typeof type === 'object' && 'array' in type) return Array.from({ length: type.array[1] }, () => zero(type.array[0]));
  return type === 'u64' ? 0n : 0;
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

async function main() {
  const { values } = parseArgs({ options: { config: { type: 'string' }, 'dry-run': { type: 'boolean' } } });
  if (!values.config) throw new Error('usage: deploy.ts --config FILE [--dry-run]');
  const config: DeployConfig = JSON.parse(readFileSync(values.config, 'utf8'));
  const dryRun = values['dry-run'] ?? false;

  const secret = Uint8Array.from(JSON.parse(readFileSync(expandHome(config.admin_keypair), 'utf8')));
  const admin = await kit.createKeyPairSignerFromBytes(secret);
  const rpc = kit.createSolanaRpc(config.cluster);
  const rpcSubscriptions = kit.createSolanaRpcSubscriptions(config.websocket ?? config.cluster.replace(/^http/, 'ws'));
  const sendAndConfirm = kit.sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
  console.log(`program ${BALLAST_PROGRAM_ADDRESS} on ${config.cluster}, admin ${admin.address}`);

  async function send(label: string, instruction: kit.Instruction) {
    if (dryRun) {
      console.log(`would send ${label}`);
      return;
    }
    const { value: blockhash } = await rpc.getLatestBlockhash().send();
    const message = kit.pipe(
      kit.createTransactionMessage({ version: 0 }),
      (m) => kit.setTransactionMessageFeePayerSigner(admin, m),
      (m) => kit.setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      (m) => kit.appendTransactionMessageInstruction(instruction, m),
    );
    const transaction = await kit.signTransactionMessageWithSigners(message);
    kit.assertIsTransactionWithBlockhashLifetime(transaction);
    await sendAndConfirm(transaction, { commitment: 'confirmed' });
    console.log(`${label}: ${kit.getSignatureFromTransaction(transaction)}`);
  }

  const protocol = await protocolPda();
  const existing = await fetchMaybeProtocol(rpc, protocol);
  let launched = false;
  if (existing.exists) {
    console.log(`protocol ${protocol} exists (admin ${existing.data.admin}); skipping initialize_protocol`);
    if (existing.data.admin !== admin.address) throw new Error(`the protocol admin is ${existing.data.admin}, not this keypair`);
    launched = existing.data.governance.launched !== 0;
  } else {
    const nativeMint = config.native_mint as Address;
    const source = await oracleSource(config.native_oracle, 'native_oracle');
    const cfg = protocolConfig(config.protocol_config, 'protocol_config');
    const ix = await getInitializeProtocolInstructionAsync({
      admin,
      nativeMint,
      nativeOracle: source.address,
      config: cfg,
      nativeOracleSource: source,
    });
    await send('initialize_protocol', ix);
  }

  for (const [i, m] of config.markets.entries()) {
    const where = `markets[${i}] (${m.name})`;
    const cfg = marketConfig(m.config, where);
    const source = await oracleSource(m.oracle, `${where}.oracle`);
    const mint = m.mint as Address;
    const market = await marketPda(mint);
    const listed = await fetchMaybeMarket(rpc, market);
    if (listed.exists) {
      console.log(`${where}: market ${market} exists (index ${listed.data.marketIndex}); skipping`);
      const feed = listed.data.oracle.address;
      if (feed !== source.address) console.warn(`${where}: listed with feed ${feed}, config says ${source.address}`);
      continue;
    }
    if (launched) {
      throw new Error(`${where}: the protocol is launched; list it through a ListMarket proposal (ballast-cli propose-change)`);
    }
    const ix = await getAddMarketInstructionAsync({
      admin,
      protocol,
      mint,
      oracle: source.address,
      config: cfg,
      oracleSource: source,
    });
    await send(`add_market ${m.name} -> ${market}`, ix);
  }

  if (config.launch && !launched) {
    await send('launch (ends the setup phase for good)', getLaunchInstruction({ admin, protocol }));
  } else if (launched) {
    console.log('protocol already launched');
  }
}

// Only when run as a script, so tests can import marketConfig.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
