// PDA derivations with the same seeds as app/client/src/ix.rs and the program's constants.
import { type Address, getAddressEncoder, getProgramDerivedAddress, getU32Encoder, getU64Encoder } from '@solana/kit';
import { BALLAST_PROGRAM_ADDRESS } from './generated/index.ts';

const address = getAddressEncoder();

async function pda(seeds: (string | Uint8Array | ReturnType<typeof address.encode>)[], programAddress: Address): Promise<Address> {
  const [key] = await getProgramDerivedAddress({ programAddress, seeds });
  return key;
}

/** `["protocol"]`: the protocol root. */
export function protocolPda(programAddress: Address = BALLAST_PROGRAM_ADDRESS): Promise<Address> {
  return pda(['protocol'], programAddress);
}

/** `["market", protocol, mint]`: the market of `mint`. */
export async function marketPda(mint: Address, programAddress: Address = BALLAST_PROGRAM_ADDRESS): Promise<Address> {
  const protocol = await protocolPda(programAddress);
  return pda(['market', address.encode(protocol), address.encode(mint)], programAddress);
}

/** `["vault", market]`: the market's token account. */
export function vaultPda(market: Address, programAddress: Address = BALLAST_PROGRAM_ADDRESS): Promise<Address> {
  return pda(['vault', address.encode(market)], programAddress);
}

/** `["margin", protocol, owner, account_id u32 LE]`: a trader's margin account. */
export async function marginAccountPda(
  owner: Address,
  accountId: number,
  programAddress: Address = BALLAST_PROGRAM_ADDRESS,
): Promise<Address> {
  const protocol = await protocolPda(programAddress);
  return pda(
    ['margin', address.encode(protocol), address.encode(owner), getU32Encoder().encode(accountId)],
    programAddress,
  );
}

/** `["proposal", protocol, id u64 LE]`: governance proposal `id` (the protocol's `governance.proposalCount` when made). */
export async function proposalPda(
  id: number | bigint,
  programAddress: Address = BALLAST_PROGRAM_ADDRESS,
): Promise<Address> {
  const protocol = await protocolPda(programAddress);
  return pda(['proposal', address.encode(protocol), getU64Encoder().encode(id)], programAddress);
}
