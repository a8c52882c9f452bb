//! Poking stake escrows: an escrow's weight decays as its lock runs down, but the
//! program stores it only at checkpoints, and until the next one the escrow earns on its
//! stored (higher) weight. `poke_stake` is permissionless; the keeper sends it on a timer
//! for every escrow whose weight has decayed since its checkpoint, so that with a pass
//! every `P` seconds each staker's rewards are within
//! `ballast_risk::staking::reward_error_bound_bps(P)` of its exact share. No network
//! here: the bot fetches, this decides.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast::StakeEscrow;
use ballast_client::ix;
use ballast_risk::staking::LockParams;

/// Pokes per transaction: each names two accounts, so eight stay far below the limits.
pub const POKES_PER_TRANSACTION: usize = 8;

/// The `poke_stake` instructions worth sending at `now`: one per escrow whose stored
/// weight is above its weight at `now` (a poke of any other changes nothing).
pub fn plan_pokes(escrows: &[(Pubkey, StakeEscrow)], locks: &LockParams, now: i64) -> Vec<Instruction> {
    escrows
        .iter()
        .filter(|(_, e)| e.weight_at(locks, now).is_ok_and(|w| w < e.weight.get()))
        .map(|(key, _)| ix::poke_stake(*key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast::ProtocolConfig;

    const NOW: i64 = 1_750_000_000;
    const DAY: i64 = 86_400;

    /// An escrow of 1,000 base units locked until `lock_end`, checkpointed at `at`.
    fn escrow(lock_end: i64, at: i64, cooling: bool) -> (Pubkey, StakeEscrow) {
        let locks = ProtocolConfig::standard().locks();
        let mut e: StakeEscrow = bytemuck::Zeroable::zeroed();
        e.amount = 1_000;
        e.lock_end = lock_end;
        e.cooldown_end = if cooling { at } else { 0 };
        e.weight.set(e.weight_at(&locks, at).unwrap());
        e.checkpoint_ts = at;
        (Pubkey::new_unique(), e)
    }

    #[test]
    fn pokes_exactly_the_escrows_whose_weight_decayed() {
        let locks = ProtocolConfig::standard().locks();
        let decayed = escrow(NOW + 100 * DAY, NOW - DAY, false);
        let ended_since = escrow(NOW - DAY, NOW - 2 * DAY, false);
        let fresh = escrow(NOW + 100 * DAY, NOW, false);
        let bare = escrow(NOW - 2 * DAY, NOW - DAY, false);
        let cooling = escrow(NOW - 2 * DAY, NOW - DAY, true);
        let escrows = [decayed, ended_since, fresh, bare, cooling];
        let planned = plan_pokes(&escrows, &locks, NOW);
        assert_eq!(planned, vec![ix::poke_stake(escrows[0].0), ix::poke_stake(escrows[1].0)]);
    }
}
