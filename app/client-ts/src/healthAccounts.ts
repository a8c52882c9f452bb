// Health accounts for integrators, as app/client/src/health_accounts.rs builds them: a
// borrow, withdrawal, liquidation or bad-debt write-off passes the (market, oracle) pair
// of every balance the margin account holds after it, in slot order (the program reads
// one pair per active balance). A balance the instruction opens takes the first free
// slot; one it empties drops out. Checked against the Rust rule by the shared vectors.

import { AccountRole, type AccountMeta, type Address, type Instruction } from '@solana/kit';
import type { MarginAccount } from './generated/index.ts';
import {
  type BorrowInput,
  type LiquidateInput,
  type WithdrawInput,
  getBorrowInstruction,
  getLiquidateInstruction,
  getWithdrawInstruction,
} from './generated/index.ts';

/** A listed market as health accounts name it. */
export interface MarketKeys {
  marketIndex: number;
  market: Address;
  oracle: Address;
}

/** How an instruction changes the set of balances its health check prices. */
export type BalanceChange =
  | { kind: 'none' }
  /** Opens a balance in `market` (if not held yet). */
  | { kind: 'opens'; market: Address }
  /** Empties and frees the balance in `market`. */
  | { kind: 'closes'; market: Address };

/** The (market, oracle) pairs a health check of `account` reads after `change`, in slot order. */
export function healthPairs(
  account: Pick<MarginAccount, 'balances'>,
  markets: readonly MarketKeys[],
  change: BalanceChange = { kind: 'none' },
): [Address, Address][] {
  const find = (what: string, pick: (m: MarketKeys) => boolean): MarketKeys => {
    const found = markets.find(pick);
    if (!found) throw new Error(`market ${what} is not among the markets given`);
    return found;
  };
  const slots: (MarketKeys | undefined)[] = account.balances.map((b) =>
    b.active !== 0 ? find(String(b.marketIndex), (m) => m.marketIndex === b.marketIndex) : undefined,
  );
  if (change.kind === 'opens') {
    const market = find(change.market, (m) => m.market === change.market);
    const free = slots.findIndex((s) => s === undefined);
    if (!slots.some((s) => s?.market === change.market) && free >= 0) slots[free] = market;
  } else if (change.kind === 'closes') {
    slots.forEach((s, i) => {
      if (s?.market === change.market) slots[i] = undefined;
    });
  }
  return slots.filter((s): s is MarketKeys => s !== undefined).map((s) => [s.market, s.oracle]);
}

/** `instruction` with `pairs` appended as remaining accounts: read-only, or with the markets writable (`resolve_bad_debt`). */
export function withHealthAccounts<T extends Instruction>(
  instruction: T,
  pairs: readonly [Address, Address][],
  marketsWritable = false,
): T {
  const marketRole = marketsWritable ? AccountRole.WRITABLE : AccountRole.READONLY;
  const metas: AccountMeta[] = pairs.flatMap(([market, oracle]) => [
    { address: market, role: marketRole },
    { address: oracle, role: AccountRole.READONLY },
  ]);
  return Object.freeze({ ...instruction, accounts: [...(instruction.accounts ?? []), ...metas] });
}

/** A borrow with its health accounts: the borrowed market's balance opens if not held. */
export function borrowWithHealth(input: BorrowInput, account: MarginAccount, markets: readonly MarketKeys[]) {
  const pairs = healthPairs(account, markets, { kind: 'opens', market: input.market });
  return withHealthAccounts(getBorrowInstruction(input), pairs);
}

/** A withdrawal with its health accounts: a full withdrawal frees the market's slot. */
export function withdrawWithHealth(input: WithdrawInput, account: MarginAccount, markets: readonly MarketKeys[]) {
  const change: BalanceChange = input.withdrawAll ? { kind: 'closes', market: input.market } : { kind: 'none' };
  return withHealthAccounts(getWithdrawInstruction(input), healthPairs(account, markets, change));
}

/**
 * A liquidation with its health accounts: the liquidatee's pairs now, then, when the
 * collateral is taken as a deposit (`input.liquidatorAccount`), the liquidator account's
 * pairs after the credit.
 */
export function liquidateWithHealth(
  input: LiquidateInput,
  liquidatee: MarginAccount,
  markets: readonly MarketKeys[],
  liquidatorAccount?: MarginAccount,
) {
  const pairs = healthPairs(liquidatee, markets);
  if (input.liquidatorAccount) {
    if (!liquidatorAccount) throw new Error('a deposit payout needs the liquidator account, decoded, for its health accounts');
    pairs.push(...healthPairs(liquidatorAccount, markets, { kind: 'opens', market: input.assetMarket }));
  }
  return withHealthAccounts(getLiquidateInstruction(input), pairs);
}
