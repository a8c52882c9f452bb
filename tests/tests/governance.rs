//! Governance: tightening applies at once, loosening waits in the timelock (propose, wait,
//! execute within the grace period, or cancel), bounds at propose and execute, the setup
//! phase and launch, listings through proposals, the two-step admin transfer, and every
//! unauthorized call with its specific error.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, AccountSerialize};
use ballast::{GovernanceAction, MarketConfig, OracleSource, Proposal, ProposalStatus, ProtocolConfig, TimelockConfig};
use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, MarketHandle};
use ballast_tests::*;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

const DELAY: i64 = 2 * 86_400;
const GRACE: i64 = 7 * 86_400;

fn admin(fx: &Fixture) -> Keypair {
    fx.rt.admin.insecure_clone()
}

/// The fixture (two markets listed during the setup phase), then launched.
async fn launched() -> Fixture {
    let mut fx = Fixture::new().await;
    let admin = admin(&fx);
    fx.rt.send(&[ix::launch(admin.pubkey())], &[&admin]).await.unwrap();
    fx
}

fn set_market(market: &MarketHandle, config: MarketConfig) -> GovernanceAction {
    GovernanceAction::SetMarketConfig { market: market.key, config }
}

async fn config_of(fx: &mut Fixture, market: &MarketHandle) -> MarketConfig {
    fx.rt.market(&market.key).await.config
}

async fn apply(fx: &mut Fixture, signer: &Keypair, action: GovernanceAction) -> Result<(), BanksClientError> {
    fx.rt.send(&[ix::apply_change(signer.pubkey(), action)], &[signer]).await
}

/// Proposes `action` as the admin; returns the proposal's address.
async fn propose(fx: &mut Fixture, action: GovernanceAction) -> Pubkey {
    let admin = admin(fx);
    let id = fx.rt.protocol().await.governance.proposal_count;
    fx.rt.send(&[ix::propose_change(admin.pubkey(), id, action)], &[&admin]).await.unwrap();
    ix::proposal_pda(id)
}

async fn proposal(fx: &mut Fixture, key: &Pubkey) -> Proposal {
    let data = fx.rt.raw_account(key).await.expect("proposal exists").data;
    Proposal::try_deserialize(&mut data.as_slice()).unwrap()
}

/// A loosening change the long way: refused by apply_change, proposed, executed after the delay.
async fn through_the_timelock(fx: &mut Fixture, action: GovernanceAction) {
    let admin = admin(fx);
    assert_error(apply(fx, &admin, action.clone()).await, BallastError::ChangeNeedsTimelock);
    let key = propose(fx, action.clone()).await;
    fx.rt.advance(DELAY);
    execute(fx, key, &action).await.unwrap();
}

/// Sent by the payer alone: execution is permissionless.
async fn execute(fx: &mut Fixture, key: Pubkey, action: &GovernanceAction) -> Result<(), BanksClientError> {
    fx.rt.send(&[ix::execute_change(key, action)], &[]).await
}

/// The standard protocol config with a fresher native oracle (tightening) and `timelock`.
fn stricter_native_oracle(timelock: TimelockConfig) -> ProtocolConfig {
    ProtocolConfig { native_oracle_max_age_secs: 30, timelock, ..ProtocolConfig::standard() }
}

fn wider_caps(c: MarketConfig) -> MarketConfig {
    MarketConfig { deposit_cap: c.deposit_cap * 2, borrow_cap: c.borrow_cap * 2, ..c }
}

#[tokio::test]
async fn loosening_change_is_refused_at_once_then_waits_for_the_timelock() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let action = set_market(&usdc, wider_caps(old));
    let admin = admin(&fx);
    assert_error(apply(&mut fx, &admin, action.clone()).await, BallastError::ChangeNeedsTimelock);

    let key = propose(&mut fx, action.clone()).await;
    let queued = proposal(&mut fx, &key).await;
    assert_eq!(queued.status, ProposalStatus::Queued);
    assert_eq!((queued.id, queued.proposer, queued.protocol), (0, admin.pubkey(), ix::protocol_pda()));
    assert_eq!((queued.ready_at, queued.expires_at), (fx.rt.now + DELAY, fx.rt.now + DELAY + GRACE));
    assert_eq!(queued.action, action);
    assert_eq!(queued.base, set_market(&usdc, old));
    // The action's variant byte sits at a fixed offset, for getProgramAccounts filters.
    let raw = fx.rt.raw_account(&key).await.unwrap();
    assert_eq!((raw.data.len(), raw.data[ballast::PROPOSAL_ACTION_OFFSET]), (ballast::PROPOSAL_SIZE, 0));
    assert_eq!(&raw.data[8..40], ix::protocol_pda().as_ref());
    assert_eq!(fx.rt.protocol().await.governance.proposal_count, 1);
    // Ids are handed out in order: a skipped or reused id is refused.
    let skipped = fx.rt.send(&[ix::propose_change(admin.pubkey(), 5, action.clone())], &[&admin]).await;
    assert_error(skipped, BallastError::ProposalIdMismatch);
    let reused = fx.rt.send(&[ix::propose_change(admin.pubkey(), 0, action.clone())], &[&admin]).await;
    assert_failed_at(reused, 1);

    // Not before the delay, to the second.
    assert_error(execute(&mut fx, key, &action).await, BallastError::TimelockNotReady);
    fx.rt.advance(DELAY - 1);
    assert_error(execute(&mut fx, key, &action).await, BallastError::TimelockNotReady);
    assert_eq!(config_of(&mut fx, &usdc).await, old);
    fx.rt.advance(1);
    execute(&mut fx, key, &action).await.unwrap();
    assert_eq!(config_of(&mut fx, &usdc).await, wider_caps(old));
    let done = proposal(&mut fx, &key).await;
    assert_eq!((done.status, done.closed_at), (ProposalStatus::Executed, fx.rt.now));
    // Once only.
    assert_error(execute(&mut fx, key, &action).await, BallastError::ProposalNotQueued);
}

#[tokio::test]
async fn proposal_expires_after_its_grace_period() {
    let mut fx = launched().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let late = set_market(&usdc, wider_caps(config_of(&mut fx, &usdc).await));
    let last_second = set_market(&sol, wider_caps(config_of(&mut fx, &sol).await));
    let late_key = propose(&mut fx, late.clone()).await;
    let last_key = propose(&mut fx, last_second.clone()).await;
    fx.rt.advance(DELAY + GRACE);
    execute(&mut fx, last_key, &last_second).await.unwrap();
    fx.rt.advance(1);
    assert_error(execute(&mut fx, late_key, &late).await, BallastError::TimelockExpired);
    assert_eq!(proposal(&mut fx, &late_key).await.status, ProposalStatus::Queued);
}

#[tokio::test]
async fn tightening_change_applies_at_once() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let tighter = MarketConfig {
        init_asset_weight_bps: old.init_asset_weight_bps - 1_000,
        init_liability_weight_bps: old.init_liability_weight_bps + 1_000,
        oracle_max_age_secs: old.oracle_max_age_secs / 2,
        deposit_cap: old.deposit_cap / 2,
        borrow_cap: old.borrow_cap / 2,
        ..old
    };
    let admin = admin(&fx);
    apply(&mut fx, &admin, set_market(&usdc, tighter)).await.unwrap();
    assert_eq!(config_of(&mut fx, &usdc).await, tighter);
    // Nothing left to change.
    assert_error(apply(&mut fx, &admin, set_market(&usdc, tighter)).await, BallastError::NoChange);

    // Protocol-wide: a stricter native oracle and a longer timelock delay.
    let stricter = stricter_native_oracle(TimelockConfig { delay_secs: 3 * 86_400, ..TimelockConfig::standard() });
    apply(&mut fx, &admin, GovernanceAction::SetProtocolConfig { config: stricter }).await.unwrap();
    assert_eq!(fx.rt.protocol().await.config, stricter);
}

/// What sets maintenance health waits in the timelock either way: tightening it at once
/// would let a stolen or mistaken admin key make every borrower liquidatable in one
/// slot. Tightening initial health only stays immediate.
#[tokio::test]
async fn maintenance_tightening_waits_in_the_timelock() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let admin = admin(&fx);
    for tighter in [
        MarketConfig { maint_asset_weight_bps: old.init_asset_weight_bps, ..old },
        MarketConfig { maint_liability_weight_bps: old.init_liability_weight_bps, ..old },
        MarketConfig { oracle_conf_multiplier_bps: 2 * old.oracle_conf_multiplier_bps, ..old },
    ] {
        assert_error(apply(&mut fx, &admin, set_market(&usdc, tighter)).await, BallastError::ChangeNeedsTimelock);
    }
    let tighter = MarketConfig { maint_asset_weight_bps: old.init_asset_weight_bps, ..old };
    through_the_timelock(&mut fx, set_market(&usdc, tighter)).await;
    assert_eq!(config_of(&mut fx, &usdc).await, tighter);
    let init_only = MarketConfig { init_asset_weight_bps: tighter.init_asset_weight_bps - 500, ..tighter };
    apply(&mut fx, &admin, set_market(&usdc, init_only)).await.unwrap();
}

/// Interest owed up to a rate change is owed at the old curve: the change accrues the
/// market before it writes the new config.
#[tokio::test]
async fn a_rate_change_accrues_at_the_old_curve_first() {
    let mut fx = launched().await;
    fx.borrow_usdc_at_the_kink().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let steeper = set_market(&usdc, MarketConfig { optimal_rate_bps: old.optimal_rate_bps + 500, ..old });
    let key = propose(&mut fx, steeper.clone()).await;
    fx.rt.advance(DELAY);
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::refresh_market(usdc.key, usdc.oracle)], &[]).await.unwrap();
    fx.rt.advance(1_800);
    let before = fx.rt.market(&usdc.key).await;
    execute(&mut fx, key, &steeper).await.unwrap();
    let after = fx.rt.market(&usdc.key).await;
    assert_eq!(after.last_accrual_ts, fx.rt.now);
    let at_old_curve = before.accrual_at(fx.rt.now).unwrap();
    assert_eq!(after.borrow_index.get(), at_old_curve.borrow_index);
    assert_eq!(after.accrued_protocol_fees, before.accrued_protocol_fees + at_old_curve.protocol_fee as u64);
}

#[tokio::test]
async fn a_mixed_change_needs_the_timelock() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    // One field tighter, one looser: the tightening cannot carry the loosening through.
    let mixed =
        MarketConfig { init_asset_weight_bps: old.init_asset_weight_bps - 500, borrow_cap: old.borrow_cap + 1, ..old };
    let admin = admin(&fx);
    assert_error(apply(&mut fx, &admin, set_market(&usdc, mixed)).await, BallastError::ChangeNeedsTimelock);
    assert_eq!(config_of(&mut fx, &usdc).await, old);
    // A protocol change, likewise: a stricter oracle with a longer grace period.
    let mixed = stricter_native_oracle(TimelockConfig { grace_secs: 8 * 86_400, ..TimelockConfig::standard() });
    through_the_timelock(&mut fx, GovernanceAction::SetProtocolConfig { config: mixed }).await;
    assert_eq!(fx.rt.protocol().await.config, mixed);
}

#[tokio::test]
async fn a_cancelled_proposal_never_executes() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let action = set_market(&usdc, wider_caps(old));
    let key = propose(&mut fx, action.clone()).await;
    let admin = admin(&fx);
    fx.rt.send(&[ix::cancel_change(admin.pubkey(), key)], &[&admin]).await.unwrap();
    let cancelled = proposal(&mut fx, &key).await;
    assert_eq!((cancelled.status, cancelled.closed_at), (ProposalStatus::Cancelled, fx.rt.now));
    fx.rt.advance(DELAY);
    assert_error(execute(&mut fx, key, &action).await, BallastError::ProposalNotQueued);
    assert_eq!(config_of(&mut fx, &usdc).await, old);
    let result = fx.rt.send(&[ix::cancel_change(admin.pubkey(), key)], &[&admin]).await;
    assert_error(result, BallastError::ProposalNotQueued);
}

#[tokio::test]
async fn a_proposal_for_one_market_cannot_execute_on_another() {
    let mut fx = launched().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let action = set_market(&usdc, wider_caps(config_of(&mut fx, &usdc).await));
    let key = propose(&mut fx, action.clone()).await;
    fx.rt.advance(DELAY);
    let on_sol = fx.rt.send(&[ix::execute_change_on(key, Some(sol.key))], &[]).await;
    assert_error(on_sol, BallastError::MarketMismatch);
    let on_none = fx.rt.send(&[ix::execute_change_on(key, None)], &[]).await;
    assert_error(on_none, BallastError::MarketAccountRequired);
    // Proposing or applying against the wrong market fails the same way.
    let admin = admin(&fx);
    let mut wrong = ix::propose_change(admin.pubkey(), 1, action.clone());
    wrong.accounts[3].pubkey = sol.key;
    assert_error(fx.rt.send(&[wrong], &[&admin]).await, BallastError::MarketMismatch);
    execute(&mut fx, key, &action).await.unwrap();
}

#[tokio::test]
async fn a_stale_proposal_is_refused() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let action = set_market(&usdc, wider_caps(old));
    let key = propose(&mut fx, action.clone()).await;
    // Meanwhile the market is tightened: executing the proposal would undo that unseen.
    let admin = admin(&fx);
    let tighter = MarketConfig { init_asset_weight_bps: old.init_asset_weight_bps - 500, ..old };
    apply(&mut fx, &admin, set_market(&usdc, tighter)).await.unwrap();
    fx.rt.advance(DELAY);
    assert_error(execute(&mut fx, key, &action).await, BallastError::ProposalStale);
    assert_eq!(config_of(&mut fx, &usdc).await, tighter);
}

#[tokio::test]
async fn out_of_bounds_values_are_refused_at_propose_and_apply() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let p = ProtocolConfig::standard();
    let admin = admin(&fx);
    let cases = [
        (set_market(&usdc, MarketConfig { init_asset_weight_bps: 9_500, ..old }), BallastError::InvalidWeights),
        (set_market(&usdc, MarketConfig { borrow_cap: old.deposit_cap + 1, ..old }), BallastError::InvalidCaps),
        (
            set_market(&usdc, MarketConfig { liquidation_bonus_bps: 2_001, ..old }),
            BallastError::InvalidLiquidationParams,
        ),
        (set_market(&usdc, MarketConfig { oracle_max_age_secs: 86_401, ..old }), BallastError::InvalidOracleLimits),
        (
            GovernanceAction::SetProtocolConfig {
                config: ProtocolConfig { timelock: TimelockConfig { delay_secs: 60, ..p.timelock }, ..p },
            },
            BallastError::InvalidTimelockParams,
        ),
        (
            GovernanceAction::SetProtocolConfig {
                config: ProtocolConfig { timelock: TimelockConfig { grace_secs: 15 * 86_400, ..p.timelock }, ..p },
            },
            BallastError::InvalidTimelockParams,
        ),
        (
            GovernanceAction::SetProtocolConfig { config: ProtocolConfig { fee_stakers_bps: 1, ..p } },
            BallastError::InvalidFeeSplit,
        ),
        (GovernanceAction::TransferAdmin { new_admin: Pubkey::default() }, BallastError::InvalidAdmin),
    ];
    for (action, error) in cases {
        let result = fx.rt.send(&[ix::propose_change(admin.pubkey(), 0, action.clone())], &[&admin]).await;
        assert_error(result, error);
        assert_error(apply(&mut fx, &admin, action).await, error);
    }
    assert_eq!(fx.rt.protocol().await.governance.proposal_count, 0);
    // The same change proposed again: nothing to propose.
    let result = fx.rt.send(&[ix::propose_change(admin.pubkey(), 0, set_market(&usdc, old))], &[&admin]).await;
    assert_error(result, BallastError::NoChange);
}

#[tokio::test]
async fn a_shorter_delay_waits_the_delay_in_force_when_proposed() {
    let mut fx = launched().await;
    let p = ProtocolConfig::standard();
    let short = ProtocolConfig { timelock: TimelockConfig { delay_secs: 3_600, ..p.timelock }, ..p };
    let action = GovernanceAction::SetProtocolConfig { config: short };
    let key = propose(&mut fx, action.clone()).await;
    fx.rt.advance(3_600);
    assert_error(execute(&mut fx, key, &action).await, BallastError::TimelockNotReady);
    fx.rt.advance(DELAY - 3_600);
    execute(&mut fx, key, &action).await.unwrap();
    assert_eq!(fx.rt.protocol().await.config.timelock.delay_secs, 3_600);
    // Later proposals wait the new delay.
    let usdc = fx.usdc;
    let wider = set_market(&usdc, wider_caps(config_of(&mut fx, &usdc).await));
    let key = propose(&mut fx, wider.clone()).await;
    assert_eq!(proposal(&mut fx, &key).await.delay_secs, 3_600);
    fx.rt.advance(3_600);
    execute(&mut fx, key, &wider).await.unwrap();
}

#[tokio::test]
async fn guardian_key_changes_wait_in_the_timelock() {
    let mut fx = launched().await;
    let guardian = Pubkey::new_unique();
    through_the_timelock(&mut fx, GovernanceAction::SetGuardian { guardian }).await;
    assert_eq!(fx.rt.protocol().await.guardian, guardian);
}

#[tokio::test]
async fn two_step_admin_transfer_through_the_timelock() {
    let mut fx = launched().await;
    let old_admin = admin(&fx);
    let new_admin = fx.rt.new_user().await;
    let stranger = fx.rt.new_user().await;
    let action = GovernanceAction::TransferAdmin { new_admin: new_admin.pubkey() };
    through_the_timelock(&mut fx, action.clone()).await;
    let protocol = fx.rt.protocol().await;
    assert_eq!((protocol.admin, protocol.pending_admin), (old_admin.pubkey(), new_admin.pubkey()));

    // Only the pending key may accept.
    let result = fx.rt.send(&[ix::accept_admin(stranger.pubkey())], &[&stranger]).await;
    assert_error(result, BallastError::NotPendingAdmin);
    let result = fx.rt.send(&[ix::accept_admin(old_admin.pubkey())], &[&old_admin]).await;
    assert_error(result, BallastError::NotPendingAdmin);
    fx.rt.send(&[ix::accept_admin(new_admin.pubkey())], &[&new_admin]).await.unwrap();
    let protocol = fx.rt.protocol().await;
    assert_eq!((protocol.admin, protocol.pending_admin), (new_admin.pubkey(), Pubkey::default()));
    let result = fx.rt.send(&[ix::accept_admin(new_admin.pubkey())], &[&new_admin]).await;
    assert_error(result, BallastError::NoPendingAdmin);

    // The old admin has lost every power; the new one has them.
    let usdc = fx.usdc;
    let old = config_of(&mut fx, &usdc).await;
    let tighter = set_market(&usdc, MarketConfig { deposit_cap: old.deposit_cap - 1, ..old });
    assert_error(apply(&mut fx, &old_admin, tighter.clone()).await, BallastError::Unauthorized);
    let result = fx.rt.send(&[ix::propose_change(old_admin.pubkey(), 1, tighter.clone())], &[&old_admin]).await;
    assert_error(result, BallastError::Unauthorized);
    apply(&mut fx, &new_admin, tighter).await.unwrap();
    let result = fx.rt.send(&[ix::propose_change(new_admin.pubkey(), 1, action.clone())], &[&new_admin]).await;
    // Transferring to itself changes nothing.
    assert_error(result, BallastError::NoChange);
}

#[tokio::test]
async fn a_pending_admin_transfer_can_be_cancelled() {
    // During the setup phase the transfer's first step applies at once.
    let mut fx = Fixture::new().await;
    let admin = admin(&fx);
    let new_admin = fx.rt.new_user().await;
    apply(&mut fx, &admin, GovernanceAction::TransferAdmin { new_admin: new_admin.pubkey() }).await.unwrap();
    assert_eq!(fx.rt.protocol().await.pending_admin, new_admin.pubkey());
    let result = fx.rt.send(&[ix::cancel_admin_transfer(new_admin.pubkey())], &[&new_admin]).await;
    assert_error(result, BallastError::Unauthorized);
    fx.rt.send(&[ix::cancel_admin_transfer(admin.pubkey())], &[&admin]).await.unwrap();
    assert_eq!(fx.rt.protocol().await.pending_admin, Pubkey::default());
    let result = fx.rt.send(&[ix::accept_admin(new_admin.pubkey())], &[&new_admin]).await;
    assert_error(result, BallastError::NoPendingAdmin);
    let result = fx.rt.send(&[ix::cancel_admin_transfer(admin.pubkey())], &[&admin]).await;
    assert_error(result, BallastError::NoPendingAdmin);
    assert_eq!(fx.rt.protocol().await.admin, admin.pubkey());
}

/// A new mint with a fresh feed at the current time.
async fn new_listing(fx: &mut Fixture) -> (Pubkey, OracleSource, MarketConfig) {
    let mint = fx.rt.create_mint(6).await;
    let oracle = fx.rt.new_feed(&PythPrice::steady(USD, EXPO, fx.rt.now));
    let oracle = fx.rt.feed(&oracle);
    (mint, oracle, standard_config(1_000_000 * USDC, 800_000 * USDC))
}

#[tokio::test]
async fn setup_phase_applies_anything_at_once_until_launch() {
    let mut fx = Fixture::new().await;
    let protocol = fx.rt.protocol().await;
    assert_eq!((protocol.governance.launched, protocol.governance.launched_at), (0, 0));
    let usdc = fx.usdc;
    let admin = admin(&fx);
    // Loosening, at once.
    let wider = wider_caps(config_of(&mut fx, &usdc).await);
    apply(&mut fx, &admin, set_market(&usdc, wider)).await.unwrap();
    assert_eq!(config_of(&mut fx, &usdc).await, wider);
    // A listing goes through add_market, not apply_change.
    let (mint, oracle, config) = new_listing(&mut fx).await;
    let listing = GovernanceAction::ListMarket { mint, oracle, config };
    assert_error(apply(&mut fx, &admin, listing).await, BallastError::ListingThroughAddMarket);

    fx.rt.send(&[ix::launch(admin.pubkey())], &[&admin]).await.unwrap();
    let protocol = fx.rt.protocol().await;
    assert_eq!((protocol.governance.launched, protocol.governance.launched_at), (1, fx.rt.now));
    let result = fx.rt.send(&[ix::launch(admin.pubkey())], &[&admin]).await;
    assert_error(result, BallastError::AlreadyLaunched);
    assert_error(apply(&mut fx, &admin, set_market(&usdc, wider_caps(wider))).await, BallastError::ChangeNeedsTimelock);
}

#[tokio::test]
async fn after_launch_a_market_is_listed_only_through_a_ready_proposal() {
    let mut fx = launched().await;
    let admin = admin(&fx);
    let (mint, oracle, config) = new_listing(&mut fx).await;
    let add = |proposal| ix::add_market_with(admin.pubkey(), mint, oracle, config, proposal);
    assert_error(fx.rt.send(&[add(None)], &[&admin]).await, BallastError::ListingNeedsProposal);

    let listing = GovernanceAction::ListMarket { mint, oracle, config };
    let key = propose(&mut fx, listing.clone()).await;
    assert_error(fx.rt.send(&[add(Some(key))], &[&admin]).await, BallastError::TimelockNotReady);
    fx.rt.advance(DELAY);
    fx.rt.set_price(&oracle.address, &PythPrice::steady(USD, EXPO, fx.rt.now));
    // execute_change does not list: add_market does, with the accounts a listing needs.
    assert_error(execute(&mut fx, key, &listing).await, BallastError::ListingThroughAddMarket);
    // Not for another config, oracle or mint.
    let looser = MarketConfig { deposit_cap: config.deposit_cap + 1, ..config };
    let other = ix::add_market_with(admin.pubkey(), mint, oracle, looser, Some(key));
    assert_error(fx.rt.send(&[other], &[&admin]).await, BallastError::ListingMismatch);
    let other_oracle = fx.rt.new_feed(&PythPrice::steady(USD, EXPO, fx.rt.now));
    let other_oracle = fx.rt.feed(&other_oracle);
    let other = ix::add_market_with(admin.pubkey(), mint, other_oracle, config, Some(key));
    assert_error(fx.rt.send(&[other], &[&admin]).await, BallastError::ListingMismatch);

    fx.rt.send(&[add(Some(key))], &[&admin]).await.unwrap();
    let market = fx.rt.market(&ix::market_pda(&mint)).await;
    assert_eq!((market.oracle, market.config, market.market_index), (oracle, config, 2));
    assert_eq!(proposal(&mut fx, &key).await.status, ProposalStatus::Executed);

    // Consumed: it cannot list a second mint.
    let (mint2, oracle2, _) = new_listing(&mut fx).await;
    let again = ix::add_market_with(admin.pubkey(), mint2, oracle2, config, Some(key));
    assert_error(fx.rt.send(&[again], &[&admin]).await, BallastError::ProposalNotQueued);
}

#[tokio::test]
async fn every_unauthorized_call_is_rejected_with_its_error() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let stranger = fx.rt.new_user().await;
    let old = config_of(&mut fx, &usdc).await;
    let tighter = set_market(&usdc, MarketConfig { deposit_cap: old.deposit_cap - 1, ..old });
    let looser = set_market(&usdc, wider_caps(old));
    assert_error(apply(&mut fx, &stranger, tighter).await, BallastError::Unauthorized);
    let result = fx.rt.send(&[ix::propose_change(stranger.pubkey(), 0, looser.clone())], &[&stranger]).await;
    assert_error(result, BallastError::Unauthorized);
    let result = fx.rt.send(&[ix::launch(stranger.pubkey())], &[&stranger]).await;
    assert_error(result, BallastError::Unauthorized);
    let result = fx.rt.send(&[ix::cancel_admin_transfer(stranger.pubkey())], &[&stranger]).await;
    assert_error(result, BallastError::Unauthorized);
    let (mint, oracle, config) = new_listing(&mut fx).await;
    let result = fx.rt.send(&[ix::add_market(stranger.pubkey(), mint, oracle, config)], &[&stranger]).await;
    assert_error(result, BallastError::Unauthorized);

    let key = propose(&mut fx, looser.clone()).await;
    let result = fx.rt.send(&[ix::cancel_change(stranger.pubkey(), key)], &[&stranger]).await;
    assert_error(result, BallastError::Unauthorized);
    // Unsigned admin: the runtime refuses before the program runs.
    let mut unsigned = ix::cancel_change(fx.rt.admin.pubkey(), key);
    unsigned.accounts[0].is_signer = false;
    assert_error(fx.rt.send(&[unsigned], &[]).await, AnchorError::AccountNotSigner);

    // Executing is open to anyone once ready (here the payer, who is not the admin).
    fx.rt.advance(DELAY);
    execute(&mut fx, key, &looser).await.unwrap();
    assert_eq!(config_of(&mut fx, &usdc).await, wider_caps(old));
}

#[tokio::test]
async fn a_proposal_of_another_protocol_is_refused() {
    let mut fx = launched().await;
    let usdc = fx.usdc;
    let action = set_market(&usdc, wider_caps(config_of(&mut fx, &usdc).await));
    let key = propose(&mut fx, action.clone()).await;
    fx.rt.advance(DELAY);
    // Same bytes, another protocol recorded: owned by Ballast, so only the field can tell.
    let mut forged = proposal(&mut fx, &key).await;
    forged.protocol = Pubkey::new_unique();
    let mut data = Vec::new();
    forged.try_serialize(&mut data).unwrap();
    data.resize(ballast::PROPOSAL_SIZE, 0);
    let forged_key = Pubkey::new_unique();
    fx.rt.set_raw_account(&forged_key, ballast::ID, data);
    assert_error(execute(&mut fx, forged_key, &action).await, BallastError::WrongProtocol);
    let admin = admin(&fx);
    let result = fx.rt.send(&[ix::cancel_change(admin.pubkey(), forged_key)], &[&admin]).await;
    assert_error(result, BallastError::WrongProtocol);
    // A market account that is not a market (a margin account) is refused by type.
    let trader = fx.trader(0, 0).await;
    let result = fx.rt.send(&[ix::execute_change_on(key, Some(trader.margin_account))], &[]).await;
    assert_error(result, AnchorError::AccountDiscriminatorMismatch);
    execute(&mut fx, key, &action).await.unwrap();
}

/// The CLI's path end to end: a change file, the on-chain values, the diff, the unsigned
/// base58 transaction for the admin's vault; signed by the vault, it runs on the program.
#[tokio::test]
async fn cli_built_transactions_run_on_the_program() {
    use ballast_cli::governance::{from_base58, render_diff, to_base58, unsigned_transaction, ChangeFile};

    let mut fx = launched().await;
    let (usdc, vault) = (fx.usdc, admin(&fx));
    let file = format!(
        r#"{{ "set_market_config": {{ "mint": "{}", "config": {{ "deposit_cap": "2000", "borrow_cap": 1000 }} }} }}"#,
        usdc.mint
    );
    let change = ChangeFile::parse(&file).unwrap();
    let protocol = fx.rt.protocol().await;
    let market = fx.rt.market(&change.market().unwrap()).await;
    let action = change.resolve(&protocol, Some(&market)).unwrap();
    let base = action.current(&protocol, Some(&market)).unwrap();
    let diff = render_diff(&action, &base, &protocol).unwrap();
    assert!(diff.contains("deposit_cap  10000000000000 -> 2000  tighten"), "{diff}");
    assert!(diff.contains("borrow_cap    8000000000000 -> 1000  tighten"), "{diff}");
    action.validate().unwrap();

    let blockhash = fx.rt.ctx.banks_client.get_latest_blockhash().await.unwrap();
    let blockhash = solana_transaction_hash(blockhash.to_bytes());
    let text = to_base58(&unsigned_transaction(ix::apply_change(vault.pubkey(), action), &vault.pubkey(), blockhash));
    let mut tx = from_base58(&text).unwrap();
    tx.sign(&[&vault], blockhash);
    fx.rt.ctx.banks_client.process_transaction(tx).await.unwrap();
    assert_eq!(
        config_of(&mut fx, &usdc).await,
        MarketConfig { deposit_cap: 2_000, borrow_cap: 1_000, ..market.config }
    );
}

fn solana_transaction_hash(bytes: [u8; 32]) -> solana_transaction::Hash {
    solana_transaction::Hash::new_from_array(bytes)
}

/// Emissions mint the native token: turning them on needs the protocol to be its mint
/// authority (checked with the native mint as a remaining account), or every staking
/// instruction would fail to mint.
#[tokio::test]
async fn turning_emissions_on_needs_the_mint_authority() {
    let emitting = emitting_config(1_000);
    let action = GovernanceAction::SetProtocolConfig { config: emitting };

    // The fixture's protocol holds its native mint's authority.
    let mut fx = Fixture::new().await;
    let admin = admin(&fx);
    assert_error(apply(&mut fx, &admin, action.clone()).await, BallastError::NativeMintRequired);
    let with_mint = ix::with_native_mint(ix::apply_change(admin.pubkey(), action.clone()), fx.native_mint);
    fx.rt.send(&[with_mint], &[&admin]).await.unwrap();
    assert_eq!(fx.rt.protocol().await.config, emitting);
    // Already on: other changes need no mint.
    let higher = GovernanceAction::SetProtocolConfig { config: emitting_config(2_000) };
    apply(&mut fx, &admin, higher).await.unwrap();

    // Through the timelock, execution checks it too.
    let mut fx = launched().await;
    let admin = fx.rt.admin.insecure_clone();
    let propose = ix::with_native_mint(ix::propose_change(admin.pubkey(), 0, action.clone()), fx.native_mint);
    fx.rt.send(&[propose], &[&admin]).await.unwrap();
    fx.rt.advance(DELAY);
    assert_error(execute(&mut fx, ix::proposal_pda(0), &action).await, BallastError::NativeMintRequired);
    let execute = ix::with_native_mint(ix::execute_change(ix::proposal_pda(0), &action), fx.native_mint);
    fx.rt.send(&[execute], &[]).await.unwrap();
    assert_eq!(fx.rt.protocol().await.config, emitting);

    // A protocol whose native mint's authority stayed with its creator.
    let mut rt = ballast_sim::runtime::Runtime::start().await;
    let admin = rt.admin.insecure_clone();
    let mint = rt.create_mint(6).await;
    let native = ballast_sim::runtime::NativeToken { mint, ..rt.create_native_token(6).await };
    rt.send(
        &[ix::initialize_protocol(admin.pubkey(), mint, rt.feed(&native.oracle), ProtocolConfig::standard())],
        &[&admin],
    )
    .await
    .unwrap();
    let result =
        rt.send(&[ix::with_native_mint(ix::apply_change(admin.pubkey(), action.clone()), mint)], &[&admin]).await;
    assert_error(result, BallastError::EmissionAuthority);
    let result =
        rt.send(&[ix::with_native_mint(ix::propose_change(admin.pubkey(), 0, action.clone()), mint)], &[&admin]).await;
    assert_error(result, BallastError::EmissionAuthority);
    // Another mint in its place is not the native mint.
    let other = rt.create_mint(6).await;
    let result = rt.send(&[ix::with_native_mint(ix::apply_change(admin.pubkey(), action), other)], &[&admin]).await;
    assert_error(result, BallastError::NativeMintRequired);
}

/// Proposes `action` with the accounts `ix::propose_change` builds, changed by `edit`.
async fn try_propose(
    fx: &mut Fixture,
    action: GovernanceAction,
    edit: impl FnOnce(&mut anchor_lang::solana_program::instruction::Instruction),
) -> Result<(), BanksClientError> {
    let admin = admin(fx);
    let id = fx.rt.protocol().await.governance.proposal_count;
    let mut propose = ix::propose_change(admin.pubkey(), id, action);
    edit(&mut propose);
    fx.rt.send(&[propose], &[&admin]).await
}

/// A market's feed and the native token's are replaced only through the timelock, and
/// only by a feed the program can read as declared.
#[tokio::test]
async fn feeds_are_replaced_only_through_the_timelock() {
    let mut fx = launched().await;
    let (sol, admin) = (fx.sol, admin(&fx));
    let now = fx.rt.now;
    let new_feed = OracleSource::push_feed(0, [0x5E; 32]);
    fx.rt.add_feed(new_feed, &PythPrice::steady(90 * USD, EXPO, now));
    let replace = GovernanceAction::SetMarketOracle { market: sol.key, oracle: new_feed };
    assert_error(apply(&mut fx, &admin, replace.clone()).await, BallastError::ChangeNeedsTimelock);

    // What cannot be proposed: a PriceUpdateV2 account that is not its push feed, a legacy
    // source with a feed id, the new feed's account left out, an account holding another
    // feed's update.
    let not_pda = OracleSource { address: Pubkey::new_unique(), ..new_feed };
    let action = GovernanceAction::SetMarketOracle { market: sol.key, oracle: not_pda };
    assert_error(try_propose(&mut fx, action, |_| {}).await, BallastError::OracleNotPushFeed);
    let legacy_with_id = OracleSource { feed_id: [1; 32], ..OracleSource::legacy(sol.oracle) };
    let action = GovernanceAction::SetMarketOracle { market: sol.key, oracle: legacy_with_id };
    assert_error(try_propose(&mut fx, action, |_| {}).await, BallastError::InvalidOracleSource);
    let missing = try_propose(&mut fx, replace.clone(), |ix| {
        ix.accounts.pop();
    })
    .await;
    assert_error(missing, BallastError::OracleAccountRequired);
    let other_feed = ballast_sim::pyth::price_update_bytes([0x77; 32], &PythPrice::steady(90 * USD, EXPO, now));
    fx.rt.set_raw_account(&new_feed.address, ballast::PYTH_RECEIVER_PROGRAM_ID, other_feed);
    assert_error(try_propose(&mut fx, replace.clone(), |_| {}).await, BallastError::OracleFeedIdMismatch);
    fx.rt.set_price(&new_feed.address, &PythPrice::steady(90 * USD, EXPO, now));

    let key = propose(&mut fx, replace.clone()).await;
    assert_eq!(
        proposal(&mut fx, &key).await.base,
        GovernanceAction::SetMarketOracle { market: sol.key, oracle: fx.rt.feed(&sol.oracle) }
    );
    assert_error(execute(&mut fx, key, &replace).await, BallastError::TimelockNotReady);
    fx.rt.advance(DELAY);
    // Executed on a feed gone stale: refused until its pusher catches up.
    assert_error(execute(&mut fx, key, &replace).await, BallastError::OracleStale);
    fx.rt.set_price(&new_feed.address, &PythPrice::steady(90 * USD, EXPO, fx.rt.now));
    execute(&mut fx, key, &replace).await.unwrap();
    assert_eq!(fx.rt.market(&sol.key).await.oracle, new_feed);
    // SOL is now priced by the new feed alone.
    fx.refresh_prices(SOL_PRICE).await;
    let result = fx.rt.send(&[ix::refresh_market(sol.key, sol.oracle)], &[]).await;
    assert_error(result, BallastError::WrongOracle);
    fx.rt.send(&[ix::refresh_market(sol.key, new_feed.address)], &[]).await.unwrap();
    assert_eq!(fx.rt.market(&sol.key).await.last_price, 90 * USD);

    // The native token's feed moves to a legacy account the same way.
    let legacy = OracleSource::legacy(Pubkey::new_unique());
    fx.rt.add_feed(legacy, &PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now));
    let replace = GovernanceAction::SetNativeOracle { oracle: legacy };
    assert_error(apply(&mut fx, &admin, replace.clone()).await, BallastError::ChangeNeedsTimelock);
    let key = propose(&mut fx, replace.clone()).await;
    fx.rt.advance(DELAY);
    fx.rt.set_price(&legacy.address, &PythPrice::steady(NATIVE_PRICE, EXPO, fx.rt.now));
    execute(&mut fx, key, &replace).await.unwrap();
    assert_eq!(fx.rt.protocol().await.native_oracle, legacy);
    let native_mint = fx.native_mint;
    let old = fx.rt.native().oracle;
    fx.set_native_price(NATIVE_PRICE);
    let result = fx.rt.send(&[ix::update_volatility(native_mint, old)], &[]).await;
    assert_error(result, BallastError::WrongOracle);
    fx.rt.send(&[ix::update_volatility(native_mint, legacy.address)], &[]).await.unwrap();
}
