//! Zero-copy views of Ballast accounts from raw account data.

use anchor_lang::{AccountDeserialize, Discriminator};
use ballast::{MarginAccount, Market, Proposal, Protocol, StakeEscrow};

/// `T` stored in `data` behind its 8-byte discriminator, without copying; `None` if the
/// discriminator or length is wrong. Misaligned buffers (rare) are copied.
pub fn view<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> Option<std::borrow::Cow<'_, T>> {
    let body = data.get(8..8 + std::mem::size_of::<T>())?;
    if &data[..8] != T::DISCRIMINATOR {
        return None;
    }
    Some(match bytemuck::try_from_bytes::<T>(body) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => std::borrow::Cow::Owned(bytemuck::pod_read_unaligned(body)),
    })
}

pub fn margin_account(data: &[u8]) -> Option<std::borrow::Cow<'_, MarginAccount>> {
    view(data)
}

pub fn market(data: &[u8]) -> Option<std::borrow::Cow<'_, Market>> {
    view(data)
}

pub fn protocol(data: &[u8]) -> Option<std::borrow::Cow<'_, Protocol>> {
    view(data)
}

pub fn stake_escrow(data: &[u8]) -> Option<std::borrow::Cow<'_, StakeEscrow>> {
    view(data)
}

/// A `Proposal` (a Borsh account) from its bytes; `None` if it is not one.
pub fn proposal(data: &[u8]) -> Option<Proposal> {
    Proposal::try_deserialize(&mut &data[..]).ok()
}
