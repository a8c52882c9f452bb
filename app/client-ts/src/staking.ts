// A stake escrow's weight and early-exit penalty, as the program computes them
// (programs/ballast-risk/src/staking.rs), for display and for governance tools that weight
// votes by stake: the weight is `amount * (1 + boost * lock left / max lock)`, decaying as
// the lock runs down, the bare amount once it has ended and nothing while cooling down.
// The program stores it at checkpoints (every staking instruction and `pokeStake`), so
// `escrow.weight` may stand above `stakeWeightAt(escrow, ..., now)` until the next one.
// Checked against the program by the `staking` cases of tests/fixtures/vectors.json.
import type { ProtocolConfig, StakeEscrow } from './generated/index.ts';
import { BPS, mulDiv } from './health.ts';

type Escrow = Pick<StakeEscrow, 'amount' | 'lockStart' | 'lockEnd' | 'cooldownEnd'>;
type LockConfig = Pick<ProtocolConfig, 'maxLockSecs' | 'maxLockBoostBps'>;
type PenaltyConfig = Pick<ProtocolConfig, 'exitPenaltyFloorBps' | 'exitPenaltyCapBps'>;

const secsLeft = (end: bigint, now: bigint) => (end > now ? end - now : 0n);

/** The weight of `amount` with `remainingSecs` of lock to run (capped at the max lock), rounded down. */
export function stakeWeight(amount: bigint, remainingSecs: bigint, config: LockConfig): bigint {
  const maxLock = BigInt(Math.max(config.maxLockSecs, 1));
  const lock = remainingSecs < maxLock ? remainingSecs : maxLock;
  return mulDiv(amount, BPS * maxLock + BigInt(config.maxLockBoostBps) * lock, BPS * maxLock, 'down');
}

/** An escrow's weight at `now` (`StakeEscrow::weight_at`): nothing while cooling down. */
export function stakeWeightAt(escrow: Escrow, config: LockConfig, now: bigint): bigint {
  if (escrow.cooldownEnd !== 0n) return 0n;
  return stakeWeight(escrow.amount, secsLeft(escrow.lockEnd, now), config);
}

/** The early-exit penalty rate: the regime's rate scaled by the share of the lock left (rounded up), within the floor and cap. */
export function exitPenaltyBps(regimeBps: number, remainingSecs: bigint, lockSecs: bigint, config: PenaltyConfig): number {
  const lock = lockSecs > 1n ? lockSecs : 1n;
  const remaining = remainingSecs < lock ? remainingSecs : lock;
  const scaled = Number(mulDiv(BigInt(regimeBps), remaining, lock, 'up'));
  const cap = Math.max(config.exitPenaltyCapBps, config.exitPenaltyFloorBps);
  return Math.min(Math.max(scaled, config.exitPenaltyFloorBps), cap);
}

/** Tokens burned if `escrow` exits early at `now` under a regime whose penalty is `regimeBps` (rounded up, at most the stake). */
export function exitPenaltyAt(escrow: Escrow, config: PenaltyConfig, regimeBps: number, now: bigint): bigint {
  const bps = exitPenaltyBps(regimeBps, secsLeft(escrow.lockEnd, now), secsLeft(escrow.lockEnd, escrow.lockStart), config);
  const penalty = mulDiv(escrow.amount, BigInt(bps), BPS, 'up');
  return penalty < escrow.amount ? penalty : escrow.amount;
}

/** The bound, in bps, on any staker's reward error when every escrow is poked at least every `pokeIntervalSecs` (rounded up). */
export function rewardErrorBoundBps(pokeIntervalSecs: bigint, config: LockConfig): bigint {
  const maxLock = BigInt(Math.max(config.maxLockSecs, 1));
  const interval = pokeIntervalSecs < maxLock ? pokeIntervalSecs : maxLock;
  return mulDiv(BigInt(config.maxLockBoostBps), interval, maxLock, 'up');
}
