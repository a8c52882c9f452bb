use anchor_lang::prelude::*;
use ballast_risk::gates;

use super::AdminAction;
use crate::errors::BallastError;
use crate::events::GatesSet;
use crate::state::Protocol;

/// Replaces the admin's standing gates (one `ballast_risk::gates` bit per instruction
/// family; a set bit pauses it). Applies at once. Repayments may be paused only with
/// liquidations (`RepayGatedWithoutLiquidate`).
pub fn handler(ctx: Context<AdminAction>, gates: u64) -> Result<()> {
    let mut protocol = ctx.accounts.protocol.load_mut()?;
    let old = protocol.breakers.gates;
    let (old_gates, new_gates) = apply(&mut protocol, old, gates)?;
    emit!(GatesSet { admin: ctx.accounts.admin.key(), old_gates, new_gates });
    Ok(())
}

/// The core of `set_gates`, for every path that changes the admin's gates: checks that
/// `new` sets only defined bits and applies the change `old -> new` to the gates in
/// force (`gates::apply_change`: with `old` the gates in force, they become `new`).
/// Returns the gates before and after. `gates::change_kind(old, new)` says whether the
/// change only tightens.
pub fn apply(protocol: &mut Protocol, old: u64, new: u64) -> Result<(u64, u64)> {
    require!(gates::admin_mask_is_valid(new), BallastError::InvalidGateMask);
    let before = protocol.breakers.gates;
    let after = gates::apply_change(before, old, new);
    require!(!gates::repay_without_liquidate(after), BallastError::RepayGatedWithoutLiquidate);
    protocol.breakers.gates = after;
    Ok((before, protocol.breakers.gates))
}
