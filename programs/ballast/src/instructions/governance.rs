//! What the governance instructions share: finding the target market and writing a change.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::program_option::COption;
use anchor_spl::token::{Mint, Token};

use ballast_risk::oracle::OracleAction;

use crate::errors::{BallastError, OrBallast};
use crate::events::AdminTransferProposed;
use crate::governance::GovernanceAction;
use crate::instructions::admin::add_market::check_market_feed;
use crate::oracle::read_new_oracle;
use crate::state::{Market, OracleSource, Protocol};

/// The market account a change needs: the one it targets, or none if it targets none
/// (a market passed to a protocol-wide change is ignored).
pub fn target_market<'a, 'info>(
    action: &GovernanceAction,
    market: &'a Option<AccountLoader<'info, Market>>,
) -> Result<Option<&'a AccountLoader<'info, Market>>> {
    let Some(wanted) = action.market() else { return Ok(None) };
    let market = market.as_ref().ok_or(BallastError::MarketAccountRequired)?;
    require_keys_eq!(market.key(), wanted, BallastError::MarketMismatch);
    Ok(Some(market))
}

/// A change that turns emissions on needs the native mint among `remaining` accounts,
/// with the protocol as its mint authority (`initialize_protocol` checks the same).
pub fn check_emission_authority(
    action: &GovernanceAction,
    base: &GovernanceAction,
    protocol: (&Pubkey, &Protocol),
    remaining: &[AccountInfo],
) -> Result<()> {
    if !action.turns_emissions_on(base) {
        return Ok(());
    }
    let (protocol_key, protocol) = protocol;
    let info = remaining.iter().find(|a| *a.key == protocol.native_mint).ok_or(BallastError::NativeMintRequired)?;
    require_keys_eq!(*info.owner, Token::id(), BallastError::WrongMint);
    let mint = Mint::try_deserialize(&mut &info.try_borrow_data()?[..])?;
    require!(mint.mint_authority == COption::Some(*protocol_key), BallastError::EmissionAuthority);
    Ok(())
}

/// A change that replaces a feed needs the new feed's account among `remaining`: it must
/// parse as its kind (owner, layout, feed id, full verification) and price the asset
/// sanely under the limits in force, as `add_market` checks a new market's feed.
pub fn check_new_oracle(
    action: &GovernanceAction,
    protocol: &Protocol,
    market: Option<&Market>,
    remaining: &[AccountInfo],
    now: i64,
) -> Result<()> {
    let find = |source: &OracleSource| {
        remaining.iter().find(|a| *a.key == source.address).ok_or(error!(BallastError::OracleAccountRequired))
    };
    match action {
        GovernanceAction::SetMarketOracle { oracle, .. } => {
            let market = market.ok_or(BallastError::MarketAccountRequired)?;
            check_market_feed(find(oracle)?, oracle, &market.config, market.decimals, now)?;
        }
        GovernanceAction::SetNativeOracle { oracle } => {
            let reading = read_new_oracle(find(oracle)?, oracle)?;
            let limits = protocol.config.native_oracle_limits();
            ballast_risk::oracle::validate(&reading, &limits, OracleAction::Liquidation, now).or_ballast()?;
        }
        _ => {}
    }
    Ok(())
}

/// Writes `action` (already validated and cleared to apply) and emits what it starts.
pub fn write_change(
    action: &GovernanceAction,
    protocol: &mut Protocol,
    market: Option<&mut Market>,
    now: i64,
) -> Result<()> {
    action.apply(protocol, market, now)?;
    if let GovernanceAction::TransferAdmin { new_admin } = action {
        emit!(AdminTransferProposed { admin: protocol.admin, pending_admin: *new_admin });
    }
    Ok(())
}
