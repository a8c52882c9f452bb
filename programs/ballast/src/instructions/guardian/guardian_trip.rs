use anchor_lang::prelude::*;
use ballast_risk::{gates, guardian};

use crate::errors::{BallastError, OrBallast};
use crate::events::GuardianTripped;
use crate::state::Protocol;

#[derive(Accounts)]
pub struct GuardianTrip<'info> {
    pub guardian: Signer<'info>,
    #[account(mut, has_one = guardian @ BallastError::NotGuardian)]
    pub protocol: AccountLoader<'info, Protocol>,
}

/// Pauses the instruction families in `gates_mask` for `duration_secs` on top of the
/// admin's gates (tighten only). A trip while one runs adds its mask and may extend it,
/// never shorten it. Time-boxed by `ProtocolConfig.guardian`: too long or empty
/// (`GuardianTripTooLong`), too many in a row (`GuardianTooManyConsecutive`) or in a day
/// (`GuardianDailyLimit`). The mask may not hold liquidations or repayments
/// (`InvalidGateMask`).
pub fn handler(ctx: Context<GuardianTrip>, duration_secs: u32, gates_mask: u64) -> Result<()> {
    require!(gates::guardian_mask_is_valid(gates_mask), BallastError::InvalidGateMask);
    let now = Clock::get()?.unix_timestamp;
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let params = protocol.config.guardian.params()?;
    let breakers = &mut protocol.breakers;
    let was_paused = breakers.guardian_paused(now);
    let state = guardian::trip(&breakers.guardian_state(), now, duration_secs, &params).or_ballast()?;
    breakers.store_guardian_state(&state);
    breakers.guardian_mask = gates::guardian_mask_after_trip(breakers.guardian_mask, gates_mask, was_paused);
    emit!(GuardianTripped {
        guardian: ctx.accounts.guardian.key(),
        mask: gates_mask,
        guardian_mask: breakers.guardian_mask,
        paused_until: state.paused_until_ts,
        trips_today: state.trips_today,
        consecutive: state.consecutive,
    });
    Ok(())
}
