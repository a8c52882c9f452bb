//! The staking escrow: locks and decaying weights, checkpoints and pokes, reward streams
//! paid to the unit, emissions, cooldown and early exit, and every refusal with its
//! error.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ballast_sim::ix;
use ballast_sim::runtime::Runtime;
use ballast_tests::*;
use solana_signer::Signer;

const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY;
const NATIVE: u64 = 1_000_000;
const WAD: u128 = ballast_risk::WAD;

/// The weight the standard config gives `amount` with `lock_left` seconds of lock to
/// run, by hand: `amount * (1 + 1.0 * lock_left / 365 days)`, rounded down; the bare
/// amount once the lock has ended.
fn weight(amount: u64, lock_left: i64) -> u128 {
    u128::from(amount) * (YEAR + lock_left.clamp(0, YEAR)) as u128 / YEAR as u128
}

/// Each staker's share of `amount` credited at once to `weights`: the accumulator
/// step rounds down, then each payout rounds down.
fn shares(amount: u64, weights: &[u128]) -> Vec<u64> {
    let total: u128 = weights.iter().sum();
    let per_weight = u128::from(amount) * WAD / total;
    weights.iter().map(|w| (w * per_weight / WAD) as u64).collect()
}

fn with_escrow(mut ix: Instruction, from: &Pubkey, to: &Pubkey) -> Instruction {
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == *from) {
        meta.pubkey = *to;
    }
    ix
}

#[tokio::test]
async fn stake_locks_tokens_with_a_boosted_weight() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, (YEAR / 2) as u32)], &[&s.key]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!((e.owner, e.protocol), (s.key.pubkey(), ix::protocol_pda()));
    assert_eq!(e.amount, 1_000 * NATIVE);
    assert_eq!(e.weight.get(), 1_500 * NATIVE as u128);
    assert_eq!((e.lock_start, e.lock_end, e.cooldown_end), (fx.rt.now, fx.rt.now + YEAR / 2, 0));
    let p = fx.rt.protocol().await;
    assert_eq!((p.total_staked, p.total_weight()), (1_000 * NATIVE, 1_500 * NATIVE as u128));
    assert_eq!(fx.rt.token_balance(&ix::stake_vault_pda()).await, 1_000 * NATIVE);
    assert_eq!(fx.rt.token_balance(&s.native()).await, 0);
    let raw = fx.rt.raw_account(&ix::stake_escrow_pda(&s.key.pubkey())).await.unwrap();
    assert_eq!(raw.data.len(), ballast::STAKE_ESCROW_SIZE);
    assert_eq!(&raw.data[8..40], s.key.pubkey().as_ref());
}

#[tokio::test]
async fn stake_refuses_bad_locks_amounts_and_mints() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    let cases = [
        (s.ix.stake(NATIVE, (7 * DAY - 1) as u32), BallastError::LockTooShort),
        (s.ix.stake(NATIVE, (YEAR + 1) as u32), BallastError::LockTooLong),
        (s.ix.stake(0, (7 * DAY) as u32), BallastError::ZeroAmount),
    ];
    for (ix, error) in cases {
        assert_error(fx.rt.send(&[ix], &[&s.key]).await, error);
    }
    let usdc_wallet = ix::Staker { owner_native: s.usdc, ..s.ix };
    assert_error(fx.rt.send(&[usdc_wallet.stake(NATIVE, (7 * DAY) as u32)], &[&s.key]).await, BallastError::WrongMint);
    // A fake stake vault: any native token account that is not the protocol's.
    let mut ix = s.ix.stake(NATIVE, (7 * DAY) as u32);
    let fake_vault = fx.rt.create_token_account(&fx.native_mint, &s.key.pubkey()).await;
    ix = with_escrow(ix, &ix::stake_vault_pda(), &fake_vault);
    assert_error(fx.rt.send(&[ix], &[&s.key]).await, BallastError::VaultMismatch);
    assert!(fx.rt.raw_account(&ix::stake_escrow_pda(&s.key.pubkey())).await.is_none());
    assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE);
}

/// Three stakers with different locks over three distributions (USDC fees, native
/// buyback share, USDC fees again): every payout matches the weight-share model to
/// the unit, with each escrow weighing what its lock had left when it was last touched
/// (B's week-long lock has ended by the second), and the pools keep only rounding dust.
#[tokio::test]
async fn rewards_are_shared_by_weight_to_the_unit() {
    let mut fx = Fixture::new().await;
    let (a, b, c) = (fx.staker(1_000 * NATIVE).await, fx.staker(3_000 * NATIVE).await, fx.staker(2_000 * NATIVE).await);
    fx.rt.send(&[a.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&a.key]).await.unwrap();
    fx.rt.send(&[b.ix.stake(3_000 * NATIVE, (7 * DAY) as u32)], &[&b.key]).await.unwrap();
    let a_end = fx.rt.now + YEAR;
    let (wa, wb) = (weight(1_000 * NATIVE, YEAR), weight(3_000 * NATIVE, 7 * DAY));
    assert_eq!(fx.rt.stake_escrow(&b.key.pubkey()).await.weight.get(), wb);
    fx.borrow_usdc_at_the_kink().await;
    let usdc = fx.usdc;

    // 1. A week of USDC fees (accrued hourly); 30% to stakers, dripped over a day.
    fx.run_hourly(7 * DAY).await;
    fx.rt.send(&[ix::sweep_fees(usdc.key)], &[]).await.unwrap();
    let first_lump = fx.rt.market(&usdc.key).await.staker_pool;
    assert!(first_lump > 40 * USDC, "30% of a week at the kink: {first_lump}");
    fx.rt.advance(DAY);
    let first = shares(first_lump, &[wa, wb]);
    for (s, expected) in [(&a, first[0]), (&b, first[1])] {
        fx.rt.send(&[s.ix.claim_market_rewards(usdc.key, s.usdc)], &[&s.key]).await.unwrap();
        assert_eq!(fx.rt.token_balance(&s.usdc).await, expected);
    }

    // The claims checkpointed A's decayed weight and B's bare amount.
    let (wa, wb) = (weight(1_000 * NATIVE, a_end - fx.rt.now), u128::from(3_000 * NATIVE));

    // 2. C joins; a buyback sends half of the native tokens paid to stakers.
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[c.ix.stake(2_000 * NATIVE, (YEAR / 2) as u32)], &[&c.key]).await.unwrap();
    let (wc, c_end) = (weight(2_000 * NATIVE, YEAR / 2), fx.rt.now + YEAR / 2);
    let k = fx.buyback_keeper(100 * NATIVE).await;
    fx.rt.send(&[ix::buyback(&k.fill, 50 * NATIVE, 0)], &[&k.key]).await.unwrap();
    let to_stakers = (100 * NATIVE - fx.rt.token_balance(&k.native).await) / 2;
    assert_eq!(fx.rt.protocol().await.reward_streams[0].undripped, to_stakers);
    fx.rt.advance(DAY);
    let second = shares(to_stakers, &[wa, wb, wc]);
    for (s, expected) in [(&a, second[0]), (&b, second[1]), (&c, second[2])] {
        fx.rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
        assert_eq!(fx.rt.token_balance(&s.native()).await, expected);
    }

    let (wa, wc) = (weight(1_000 * NATIVE, a_end - fx.rt.now), weight(2_000 * NATIVE, c_end - fx.rt.now));

    // 3. Another week of USDC fees, now shared three ways.
    fx.run_hourly(7 * DAY).await;
    fx.rt.send(&[ix::sweep_fees(usdc.key)], &[]).await.unwrap();
    let dripping = fx.rt.protocol().await.reward_streams[1 + usdc.index as usize].undripped;
    assert!(dripping > first_lump, "the second week's fees compound");
    fx.rt.advance(DAY);
    let third = shares(dripping, &[wa, wb, wc]);
    for (s, before, expected) in [(&a, first[0], third[0]), (&b, first[1], third[1]), (&c, 0, third[2])] {
        fx.rt.send(&[s.ix.claim_market_rewards(usdc.key, s.usdc)], &[&s.key]).await.unwrap();
        assert_eq!(fx.rt.token_balance(&s.usdc).await, before + expected);
    }

    // What is left in the pools is rounding dust, never a deficit.
    let paid_usdc: u64 = first.iter().chain(third.iter()).sum();
    let m = fx.rt.market(&usdc.key).await;
    assert_eq!(m.staker_pool, first_lump + dripping - paid_usdc);
    assert!(m.staker_pool <= 5);
    let paid_native: u64 = second.iter().sum();
    assert_eq!(fx.rt.token_balance(&ix::reward_vault_pda()).await, to_stakers - paid_native);
    fx.assert_books(&usdc, 5).await;
}

/// Staking in the slot a lump arrives and claiming in that slot earns nothing.
#[tokio::test]
async fn staking_and_claiming_in_the_same_slot_earns_nothing() {
    let mut fx = Fixture::new().await;
    let a = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[a.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&a.key]).await.unwrap();
    fx.borrow_usdc_at_the_kink().await;
    fx.rt.advance(YEAR);
    let late = fx.staker(1_000_000 * NATIVE).await;
    let usdc = fx.usdc;
    // Sweep, stake a whale and claim, all in one transaction.
    let ixs = [
        ix::sweep_fees(usdc.key),
        late.ix.stake(1_000_000 * NATIVE, YEAR as u32),
        late.ix.claim_market_rewards(usdc.key, late.usdc),
    ];
    assert_error(fx.rt.send(&ixs, &[&late.key]).await, BallastError::NothingToClaim);
    fx.rt.send(&ixs[..2], &[&late.key]).await.unwrap();
    let result = fx.rt.send(&[late.ix.claim_market_rewards(usdc.key, late.usdc)], &[&late.key]).await;
    assert_error(result, BallastError::NothingToClaim);
    let result = fx.rt.send(&[late.ix.claim_rewards()], &[&late.key]).await;
    assert_error(result, BallastError::NothingToClaim);
}

async fn emitting_protocol(rate: u64) -> (Runtime, StakerHandle) {
    let (rt, mut stakers) = emitting_protocol_with(rate, 1).await;
    (rt, stakers.remove(0))
}

/// A protocol emitting `rate` native base units a second, and `count` stakers holding
/// 1,000 native tokens each.
async fn emitting_protocol_with(rate: u64, count: usize) -> (Runtime, Vec<StakerHandle>) {
    let mut rt = Runtime::start().await;
    let config = ballast_tests::emitting_config(rate);
    let mint = rt.initialize_protocol_with(6, config).await;
    let mut stakers = Vec::new();
    for _ in 0..count {
        let key = rt.new_user().await;
        let owner_native = rt.funded_token_account(&mint, &key.pubkey(), 1_000 * NATIVE).await;
        let staker = ix::Staker { owner: key.pubkey(), native_mint: mint, owner_native };
        stakers.push(StakerHandle { key, ix: staker, usdc: Pubkey::default(), sol: Pubkey::default() });
    }
    (rt, stakers)
}

#[tokio::test]
async fn emissions_are_minted_to_stakers_only_while_someone_stakes() {
    let (mut rt, s) = emitting_protocol(1_000).await;
    let mint = s.ix.native_mint;
    let supply = rt.mint_supply(&mint).await;
    // An hour with nobody staking mints nothing.
    rt.advance(3_600);
    rt.send(&[s.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&s.key]).await.unwrap();
    assert_eq!(rt.mint_supply(&mint).await, supply);
    rt.advance(100);
    rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
    assert_eq!(rt.mint_supply(&mint).await, supply + 100_000);
    let expected = shares(100_000, &[weight(1_000 * NATIVE, YEAR)])[0];
    assert_eq!(rt.token_balance(&s.native()).await, expected);
    let p = rt.protocol().await;
    assert_eq!(p.total_emitted, 100_000);
    assert_eq!(p.last_emission_ts, rt.now);
    // The reward vault keeps only the rounding dust.
    assert_eq!(rt.token_balance(&ix::reward_vault_pda()).await, 100_000 - expected);
}

#[tokio::test]
async fn exit_early_burns_the_penalty_and_closes_the_escrow() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, (30 * DAY) as u32)], &[&s.key]).await.unwrap();
    fx.rt.advance(DAY);
    let supply = fx.rt.mint_supply(&fx.native_mint).await;
    fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await.unwrap();
    // Calm's 10% x 29/30 of the lock left = 966.7 bps, rounded up: 9.67% burned.
    let burned = 96_700_000;
    assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE - burned);
    assert_eq!(supply - fx.rt.mint_supply(&fx.native_mint).await, burned);
    assert!(fx.rt.raw_account(&ix::stake_escrow_pda(&s.key.pubkey())).await.is_none());
    let p = fx.rt.protocol().await;
    assert_eq!((p.total_burned, p.total_staked, p.total_weight()), (burned, 0, 0));
    assert_eq!(fx.rt.token_balance(&ix::stake_vault_pda()).await, 0);
    // The owner can stake again with a fresh escrow.
    fx.rt.send(&[s.ix.stake(900 * NATIVE, (7 * DAY) as u32)], &[&s.key]).await.unwrap();
}

/// A staker owed USDC fees, two days into a 30-day lock, with the USDC vault frozen
/// (USDC's issuer can freeze any token account): its fees cannot be paid now. Returns the
/// fixture, the staker and the vault's account as it was (to thaw it).
async fn owed_usdc_from_a_frozen_vault() -> (Fixture, StakerHandle, solana_account::Account) {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, (30 * DAY) as u32)], &[&s.key]).await.unwrap();
    fx.borrow_usdc_at_the_kink().await;
    fx.run_hourly(DAY).await;
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    fx.rt.advance(DAY);
    let vault = fx.rt.raw_account(&fx.usdc.vault).await.unwrap();
    // SPL token account layout: the state byte (1 initialized, 2 frozen) sits at 108.
    let mut frozen = vault.data.clone();
    frozen[108] = 2;
    fx.rt.set_raw_account(&fx.usdc.vault, vault.owner, frozen);
    let claim = s.ix.claim_market_rewards(fx.usdc.key, s.usdc);
    assert!(fx.rt.send(&[claim], &[&s.key]).await.is_err(), "a frozen vault pays nothing");
    (fx, s, vault)
}

/// The stake comes back, the fees owed stay claimable on the emptied escrow until the
/// vault thaws, and a last `withdraw_stake` closes the escrow.
async fn claim_then_close(fx: &mut Fixture, s: &StakerHandle, vault: solana_account::Account) {
    let escrow_key = ix::stake_escrow_pda(&s.key.pubkey());
    assert!(fx.rt.raw_account(&escrow_key).await.is_some(), "rewards still owed keep the escrow open");
    assert_eq!(fx.rt.protocol().await.total_staked, 0);
    assert_error(fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await, BallastError::UnstakePending);
    fx.rt.set_raw_account(&fx.usdc.vault, vault.owner, vault.data);
    fx.rt.send(&[s.ix.claim_market_rewards(fx.usdc.key, s.usdc)], &[&s.key]).await.unwrap();
    assert!(fx.rt.token_balance(&s.usdc).await > 0);
    fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await.unwrap();
    assert!(fx.rt.raw_account(&escrow_key).await.is_none());
}

/// Getting the stake back never waits on a market: not after the lock ...
#[tokio::test]
async fn leaving_never_waits_on_a_market_vault() {
    let (mut fx, s, vault) = owed_usdc_from_a_frozen_vault().await;
    assert_error(fx.rt.send(&[s.ix.unstake()], &[&s.key]).await, BallastError::LockActive);
    fx.rt.advance(28 * DAY);
    fx.rt.send(&[s.ix.unstake()], &[&s.key]).await.unwrap();
    fx.rt.advance(2 * DAY);
    fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE);
    claim_then_close(&mut fx, &s, vault).await;
}

/// ... nor before it, paying the exit penalty.
#[tokio::test]
async fn exiting_early_never_waits_on_a_market_vault() {
    let (mut fx, s, vault) = owed_usdc_from_a_frozen_vault().await;
    fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await.unwrap();
    // 10% x 28/30 of the lock left = 933.3 bps, rounded up.
    assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE - 93_400_000, "9.34% burned");
    claim_then_close(&mut fx, &s, vault).await;
}

/// A governance change of the emission rate takes effect from the moment it is applied:
/// what stakers earned before is at the old rate (minted by the next staking call).
#[tokio::test]
async fn an_emission_rate_change_accrues_at_the_old_rate_first() {
    let (mut rt, s) = emitting_protocol(1_000).await;
    let mint = s.ix.native_mint;
    rt.send(&[s.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&s.key]).await.unwrap();
    let supply = rt.mint_supply(&mint).await;
    rt.advance(100);
    let admin = rt.admin.insecure_clone();
    let faster = ballast::GovernanceAction::SetProtocolConfig { config: emitting_config(5_000) };
    rt.send(&[ix::apply_change(admin.pubkey(), faster)], &[&admin]).await.unwrap();
    let p = rt.protocol().await;
    assert_eq!((p.unminted_emissions, p.last_emission_ts), (100_000, rt.now));
    rt.advance(100);
    rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
    // 100 s at 1,000 and 100 s at 5,000.
    assert_eq!(rt.mint_supply(&mint).await, supply + 600_000);
    let p = rt.protocol().await;
    assert_eq!((p.total_emitted, p.unminted_emissions), (600_000, 0));
}

#[tokio::test]
async fn unstake_cooldown_and_its_refusals() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    // No escrow yet: the address is an empty system account.
    assert_error(fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await, AnchorError::AccountOwnedByWrongProgram);
    fx.rt.send(&[s.ix.stake(500 * NATIVE, (7 * DAY) as u32)], &[&s.key]).await.unwrap();
    assert_error(fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await, BallastError::NoUnstakePending);
    fx.rt.advance(7 * DAY);
    assert_error(fx.rt.send(&[s.ix.increase_stake(NATIVE)], &[&s.key]).await, BallastError::LockEnded);
    assert_error(fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await, BallastError::LockEnded);
    fx.rt.send(&[s.ix.unstake()], &[&s.key]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!((e.weight.get(), e.amount, e.cooldown_end), (0, 500 * NATIVE, fx.rt.now + 2 * DAY));
    assert_eq!(fx.rt.protocol().await.total_weight(), 0);
    for ix in [s.ix.unstake(), s.ix.increase_stake(NATIVE), s.ix.extend_lock((30 * DAY) as u32), s.ix.exit_early()] {
        assert_error(fx.rt.send(&[ix], &[&s.key]).await, BallastError::UnstakePending);
    }
    fx.rt.advance(2 * DAY - 1);
    assert_error(fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await, BallastError::CooldownActive);
    fx.rt.advance(1);
    fx.rt.send(&[s.ix.withdraw_stake()], &[&s.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE);
    let p = fx.rt.protocol().await;
    assert_eq!((p.total_staked, p.total_burned), (0, 0));
}

#[tokio::test]
async fn increase_and_extend_reweigh_the_whole_stake() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(500 * NATIVE, (YEAR / 2) as u32)], &[&s.key]).await.unwrap();
    fx.rt.advance(YEAR / 4);
    // The whole stake weighs by the quarter-year left.
    fx.rt.send(&[s.ix.increase_stake(100 * NATIVE)], &[&s.key]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    let expected = weight(600 * NATIVE, YEAR / 2 - YEAR / 4);
    assert_eq!((e.amount, e.weight.get()), (600 * NATIVE, expected));
    // Extending to a year from now re-weighs the whole stake.
    fx.rt.send(&[s.ix.extend_lock(YEAR as u32)], &[&s.key]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!((e.weight.get(), e.lock_end), (weight(600 * NATIVE, YEAR), fx.rt.now + YEAR));
    assert_eq!(fx.rt.protocol().await.total_weight(), weight(600 * NATIVE, YEAR));
    // Refusals: not later than now, too long, nothing to add.
    let cases = [
        (s.ix.extend_lock((YEAR - 1) as u32), BallastError::LockNotExtended),
        (s.ix.extend_lock((YEAR + 1) as u32), BallastError::LockTooLong),
        (s.ix.increase_stake(0), BallastError::ZeroAmount),
    ];
    fx.rt.advance(1);
    for (ix, error) in cases {
        assert_error(fx.rt.send(&[ix], &[&s.key]).await, error);
    }
}

#[tokio::test]
async fn only_the_owner_can_touch_an_escrow() {
    let mut fx = Fixture::new().await;
    let victim = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[victim.ix.stake(1_000 * NATIVE, (7 * DAY) as u32)], &[&victim.key]).await.unwrap();
    let thief = fx.staker(0).await;
    let (theirs, mine) = (ix::stake_escrow_pda(&victim.key.pubkey()), ix::stake_escrow_pda(&thief.key.pubkey()));
    for ix in [thief.ix.exit_early(), thief.ix.claim_rewards(), thief.ix.claim_market_rewards(fx.usdc.key, thief.usdc)]
    {
        let result = fx.rt.send(&[with_escrow(ix, &mine, &theirs)], &[&thief.key]).await;
        assert_error(result, BallastError::NotStakeOwner);
    }
    // A margin account passed as an escrow (type cosplay).
    let t = fx.trader(0, 0).await;
    let result =
        fx.rt.send(&[with_escrow(victim.ix.claim_rewards(), &theirs, &t.margin_account)], &[&victim.key]).await;
    assert_error(result, AnchorError::AccountDiscriminatorMismatch);
    assert_eq!(fx.rt.stake_escrow(&victim.key.pubkey()).await.amount, 1_000 * NATIVE);
}

#[tokio::test]
async fn market_claims_refuse_wrong_mints_and_empty_claims() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, (7 * DAY) as u32)], &[&s.key]).await.unwrap();
    let result = fx.rt.send(&[s.ix.claim_market_rewards(fx.usdc.key, s.usdc)], &[&s.key]).await;
    assert_error(result, BallastError::NothingToClaim);
    let result = fx.rt.send(&[s.ix.claim_market_rewards(fx.usdc.key, s.sol)], &[&s.key]).await;
    assert_error(result, BallastError::WrongMint);
    // The SOL market's vault passed for the USDC market.
    let ix = with_escrow(s.ix.claim_market_rewards(fx.usdc.key, s.usdc), &fx.usdc.vault, &fx.sol.vault);
    assert_error(fx.rt.send(&[ix], &[&s.key]).await, BallastError::VaultMismatch);
}

/// A lock's boost runs down with it: once the lock has ended, the escrow weighs its bare
/// amount at its next checkpoint (here a claim), not its boost until it unstakes.
#[tokio::test]
async fn a_lock_that_ended_weighs_its_bare_amount() {
    let (mut rt, s) = emitting_protocol(1_000).await;
    rt.send(&[s.ix.stake(1_000 * NATIVE, (30 * DAY) as u32)], &[&s.key]).await.unwrap();
    let start = rt.now;
    rt.advance(10 * DAY);
    rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
    let e = rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!(e.weight.get(), weight(1_000 * NATIVE, 20 * DAY));
    rt.advance(30 * DAY);
    rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
    let e = rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!((e.weight.get(), e.lock_end), (u128::from(1_000 * NATIVE), start + 30 * DAY));
    assert_eq!(rt.protocol().await.total_weight(), u128::from(1_000 * NATIVE));
}

/// Re-locking for less than the time a long lock had left lowers the weight: one long
/// lock followed by short re-locks does not keep the long lock's boost.
#[tokio::test]
async fn a_short_relock_weighs_by_its_own_time_left() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&s.key]).await.unwrap();
    fx.rt.advance(300 * DAY);
    // The year's lock has 65 days left; a 70-day re-lock ends later, and weighs by 70 days.
    fx.rt.send(&[s.ix.extend_lock((70 * DAY) as u32)], &[&s.key]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!(
        (e.weight.get(), e.lock_start, e.lock_end),
        (weight(1_000 * NATIVE, 70 * DAY), fx.rt.now, fx.rt.now + 70 * DAY)
    );
    assert_eq!(fx.rt.protocol().await.total_weight(), weight(1_000 * NATIVE, 70 * DAY));
}

/// The early-exit penalty is the regime's rate (10% in Calm) times the share of the
/// lock left, never below the 1% floor.
#[tokio::test]
async fn the_exit_penalty_scales_with_the_lock_left() {
    let mut fx = Fixture::new().await;
    let stakers = [fx.staker(1_000 * NATIVE).await, fx.staker(1_000 * NATIVE).await, fx.staker(1_000 * NATIVE).await];
    for s in &stakers {
        fx.rt.send(&[s.ix.stake(1_000 * NATIVE, (100 * DAY) as u32)], &[&s.key]).await.unwrap();
    }
    let mut burned = Vec::new();
    // Leaving after 10, 50 and 99.5 days: 90%, 50% and 0.5% of the lock left.
    for (s, after) in stakers.iter().zip([10 * DAY, 40 * DAY, 49 * DAY + DAY / 2]) {
        fx.rt.advance(after);
        let before = fx.rt.protocol().await.total_burned;
        fx.rt.send(&[s.ix.exit_early()], &[&s.key]).await.unwrap();
        burned.push(fx.rt.protocol().await.total_burned - before);
        assert_eq!(fx.rt.token_balance(&s.native()).await, 1_000 * NATIVE - burned.last().unwrap());
    }
    assert_eq!(burned, [90 * NATIVE, 50 * NATIVE, 10 * NATIVE]);
}

/// Two stakers with equal amounts, one locked for a year and one for a month, both
/// touching their escrows daily (a claim checkpoints the weight): over a year each is
/// paid its share of the emissions under continuously decaying weights, within the
/// stated bound for a daily checkpoint (`reward_error_bound_bps`, 28 bps here).
#[tokio::test]
async fn reward_shares_follow_decaying_weights_over_a_year() {
    let rate = 1_000;
    let (mut rt, stakers) = emitting_protocol_with(rate, 2).await;
    let locks = [YEAR, 30 * DAY];
    for (s, lock) in stakers.iter().zip(locks) {
        rt.send(&[s.ix.stake(1_000 * NATIVE, lock as u32)], &[&s.key]).await.unwrap();
    }
    let start = rt.now;
    for _ in 0..365 {
        rt.advance(DAY);
        for s in &stakers {
            rt.send(&[s.ix.claim_rewards()], &[&s.key]).await.unwrap();
        }
    }
    // The exact shares: the midpoint rule over minutes, weights `1 + lock left / year`.
    let mut exact = [0f64; 2];
    let step = 60.0;
    for k in 0..(YEAR / 60) {
        let t = (k as f64 + 0.5) * step;
        let w = locks.map(|l| 1.0 + (l as f64 - t).max(0.0) / YEAR as f64);
        for i in 0..2 {
            exact[i] += rate as f64 * step * w[i] / (w[0] + w[1]);
        }
    }
    let bound = ballast_risk::staking::reward_error_bound_bps(DAY as u64, &rt.protocol().await.config.locks()).unwrap();
    assert_eq!(bound, 28);
    for (s, exact) in stakers.iter().zip(exact) {
        // Everything was staked: the wallet holds what was claimed.
        let paid = rt.token_balance(&s.native()).await as f64;
        let error = (paid - exact).abs() / exact;
        assert!(error <= bound as f64 / 10_000.0, "paid {paid} exact {exact:.0}: {:.1} bps", error * 1e4);
    }
    assert_eq!(rt.now, start + YEAR);
}

/// Anyone may poke any escrow: its rewards settle at the stored weight, then the weight
/// and the protocol's total drop to where the lock now stands. Refusals: an account that
/// is not an escrow, an escrow that does not exist, a protocol that is not one.
#[tokio::test]
async fn a_poke_checkpoints_anyones_decayed_weight() {
    let mut fx = Fixture::new().await;
    let s = fx.staker(1_000 * NATIVE).await;
    fx.rt.send(&[s.ix.stake(1_000 * NATIVE, YEAR as u32)], &[&s.key]).await.unwrap();
    let escrow = ix::stake_escrow_pda(&s.key.pubkey());
    fx.rt.advance(100 * DAY);
    // Signed by the runtime's payer only: no owner signature is needed.
    fx.rt.send(&[ix::poke_stake(escrow)], &[]).await.unwrap();
    let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
    assert_eq!((e.weight.get(), e.checkpoint_ts), (weight(1_000 * NATIVE, YEAR - 100 * DAY), fx.rt.now));
    assert_eq!(fx.rt.protocol().await.total_weight(), weight(1_000 * NATIVE, YEAR - 100 * DAY));
    // Poking again at once changes nothing.
    fx.rt.advance(1);
    fx.rt.send(&[ix::poke_stake(escrow)], &[]).await.unwrap();
    assert_eq!(fx.rt.stake_escrow(&s.key.pubkey()).await.weight.get(), weight(1_000 * NATIVE, YEAR - 100 * DAY - 1));

    let t = fx.trader(0, 0).await;
    let nobody = ix::stake_escrow_pda(&Pubkey::new_unique());
    let market_as_protocol = with_escrow(ix::poke_stake(escrow), &ix::protocol_pda(), &fx.usdc.key);
    let cases = [
        (ix::poke_stake(t.margin_account), u32::from(AnchorError::AccountDiscriminatorMismatch)),
        (ix::poke_stake(nobody), u32::from(AnchorError::AccountOwnedByWrongProgram)),
        (market_as_protocol, u32::from(AnchorError::AccountDiscriminatorMismatch)),
    ];
    for (ix, error) in cases {
        assert_error(fx.rt.send(&[ix], &[]).await, error);
    }
}

/// Four escrows poked at different cadences (every 1, 2, 3 and 4 days) for 60 days: no
/// stored weight ever rises; the protocol's total is always exactly the sum of the
/// stored weights, never below the sum of the true (continuously decayed) weights, and
/// above it by at most each escrow's decay since its checkpoint.
#[tokio::test]
async fn the_total_weight_stays_within_the_decay_bound_of_the_true_weights() {
    let mut fx = Fixture::new().await;
    let locks = [7 * DAY, 30 * DAY, 180 * DAY, YEAR];
    let mut stakers = Vec::new();
    for (i, lock) in locks.iter().enumerate() {
        let amount = (i as u64 + 1) * 100 * NATIVE;
        let s = fx.staker(amount).await;
        fx.rt.send(&[s.ix.stake(amount, *lock as u32)], &[&s.key]).await.unwrap();
        stakers.push(s);
    }
    let mut last_stored = vec![u128::MAX; stakers.len()];
    for day in 1..=60 {
        fx.rt.advance(DAY);
        for (i, s) in stakers.iter().enumerate() {
            if day % (i + 1) == 0 {
                fx.rt.send(&[ix::poke_stake(ix::stake_escrow_pda(&s.key.pubkey()))], &[]).await.unwrap();
            }
        }
        let now = fx.rt.now;
        let (mut stored, mut exact, mut slack) = (0u128, 0u128, 0u128);
        for (i, s) in stakers.iter().enumerate() {
            let e = fx.rt.stake_escrow(&s.key.pubkey()).await;
            assert!(e.weight.get() <= last_stored[i], "escrow {i} rose on day {day}");
            last_stored[i] = e.weight.get();
            stored += e.weight.get();
            exact += weight(e.amount, e.lock_end - now);
            // By hand: 1.0 boost over a year's max lock, per second since the checkpoint.
            slack += u128::from(e.amount) * (now - e.checkpoint_ts) as u128 / YEAR as u128 + 1;
        }
        let total = fx.rt.protocol().await.total_weight();
        assert_eq!(total, stored, "day {day}");
        assert!(exact <= total && total - exact <= slack, "day {day}: total {total} exact {exact} slack {slack}");
    }
}
