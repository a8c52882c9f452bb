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
  marketPda,
  protocolPda,
  type MarketConfigArgs,
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
  /** Pyth price account of the native token (buyback pricing). */
  native_oracle: string;
  /** ProtocolConfig fields (snake_case, as in the IDL; nested groups as objects). */
  protocol_config: RawConfig;
  markets: { name: string; mint: string; pyth_feed: string; config: RawConfig }[];
  /** End the setup phase once every market is listed (default false; one-way). */
  launch?: boolean;
};

// Config structs' fields and types, in order, from the IDL: a field added to the program
// needs no change here (the Rust CLI reads the same lists). Nested groups (e.g.
// `ProtocolConfig.timelock`) are objects of their own fields.
const IDL = JSON.parse(readFileSync(new URL('../idl/ballast.json', import.meta.url), 'utf8'));
type FieldType = string | { defined: { name: string } };
type RawConfig = { [field: string]: number | string | RawConfig };
const layout = (name: string): { name: string; type: FieldType }[] =>
  IDL.types.find((t: { name: string }) => t.name === name).type.fields;

/** The on-chain MarketConfig of a market entry: every field required, u64s as strings or integers. */
export function marketConfig(raw: RawConfig, where: string): MarketConfigArgs {
  return configStruct('MarketConfig', raw, where) as unknown as MarketConfigArgs;
}

/** The on-chain ProtocolConfig, read the same way. */
export function protocolConfig(raw: RawConfig, where: string): ProtocolConfigArgs {
  return configStruct('ProtocolConfig', raw, where) as unknown as ProtocolConfigArgs;
}

type ConfigValue = number | bigint | { [field: string]: ConfigValue };

function configStruct(typeName: string, raw: RawConfig, where: string): { [field: string]: ConfigValue } {
  const fields = layout(typeName);
  const camel = (s: string) => s.replace(/^_/, '').replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${where}: expected an object of ${typeName} fields, got ${JSON.stringify(raw)}`);
  }
  const unknown = Object.keys(raw).filter((k) => k.startsWith('_') || !fields.some((f) => f.name === k));
  if (unknown.length > 0) throw new Error(`${where}: unknown config fields ${unknown.join(', ')}`);
  const out: { [field: string]: ConfigValue } = {};
  for (const { name, type } of fields) {
    if (typeof type === 'object') {
      out[camel(name)] = configStruct(type.defined.name, raw[name] as RawConfig, `${where}.${name}`);
      continue;
    }
    // Padding is not configuration: always zero, never in the file.
    const v = name.startsWith('_') ? 0 : raw[name];
    const max = type === 'u32' ? 0xffff_ffffn : type === 'u64' ? 0xffff_ffff_ffff_ffffn : -1n;
    if (v === undefined || !/^\d+$/.test(String(v)) || BigInt(v as number | string) > max) {
      throw new Error(`${where}.${name}: expected an integer ${type}, got ${JSON.stringify(v)}`);
    }
    out[camel(name)] = type === 'u64' ? BigInt(v as number | string) : Number(v);
  }
  return out;
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
    const nativeOracle = config.native_oracle as Address;
    const cfg = protocolConfig(config.protocol_config, 'protocol_config');
    const ix = await getInitializeProtocolInstructionAsync({ admin, nativeMint, nativeOracle, config: cfg });
    await send('initialize_protocol', ix);
  }

  for (const [i, m] of config.markets.entries()) {
    const where = `markets[${i}] (${m.name})`;
    const cfg = marketConfig(m.config, where);
    const mint = m.mint as Address;
    const market = await marketPda(mint);
    const listed = await fetchMaybeMarket(rpc, market);
    if (listed.exists) {
      console.log(`${where}: market ${market} exists (index ${listed.data.marketIndex}); skipping`);
      if (listed.data.oracle !== m.pyth_feed) console.warn(`${where}: listed with oracle ${listed.data.oracle}, config says ${m.pyth_feed}`);
      continue;
    }
    if (launched) {
      throw new Error(`${where}: the protocol is launched; list it through a ListMarket proposal (ballast-cli propose-change)`);
    }
    const ix = await getAddMarketInstructionAsync({ admin, protocol, mint, oracle: m.pyth_feed as Address, config: cfg });
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
