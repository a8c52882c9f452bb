// Ballast TypeScript client: the Codama-generated client (src/generated, do not edit) and
// hand-written helpers.
export * from './generated/index.ts';
export * from './pda.ts';
export * from './health.ts';
export * from './healthAccounts.ts';
export * from './staking.ts';
export * from './oracle.ts';
export * as kit from '@solana/kit';
