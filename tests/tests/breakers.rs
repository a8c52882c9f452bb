//! Circuit breakers: the price move guard (reduce-only after a fast move), the outflow
//! limiter, the guardian's time-boxed trips and the admin's instruction gates.

use anchor_lang::solana_program::instruction::Instruction;
use ballast::{BreakerConfig, GuardianConfig, MarketConfig, ProtocolConfig};
use ballast_risk::gates;
use ballast_risk::shares::deposit_amount;
use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{BalanceChange, MarketHandle, Runtime, GENESIS_TIME};
use ballast_tests::*;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

const HOUR: i64 = 3_600;

/// A gated instruction: its name, the instruction and its signer besides the payer.
type Gated<'a> = (&'a str, Instruction, Option<&'a Keypair>);

/// Fails unless `result` succeeded or failed with anything but `InstructionPaused`.
fn assert_not_paused(result: Result<(), BanksClientError>, what: &str) {
    if let Err(e) = result {
        if let TransactionError::InstructionError(_, InstructionError::Custom(code)) = e.unwrap() {
            assert_ne!(code, u32::from(BallastError::InstructionPaused), "{what} is paused");
        }
    }
}

async fn send(fx: &mut Fixture, ix: Instruction, signer: &Keypair) -> Result<(), BanksClientError> {
    fx.rt.send(&[ix], &[signer]).await
}

async fn deposit(fx: &mut Fixture, t: &Trader, m: MarketHandle, amount: u64) -> Result<(), BanksClientError> {
    send(fx, ix::deposit(&t.on(&m), amount), &t.key).await
}

async fn withdraw(fx: &mut Fixture, t: &Trader, m: MarketHandle, amount: u64) -> Result<(), BanksClientError> {
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::None).await;
    send(fx, ix::withdraw(&t.on(&m), amount, false, &health), &t.key).await
}

async fn withdraw_all(fx: &mut Fixture, t: &Trader, m: MarketHandle) -> Result<(), BanksClientError> {
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Closes(m.key)).await;
    send(fx, ix::withdraw(&t.on(&m), 0, true, &health), &t.key).await
}

async fn borrow(fx: &mut Fixture, t: &Trader, m: MarketHandle, amount: u64) -> Result<(), BanksClientError> {
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Opens(m.key)).await;
    send(fx, ix::borrow(&t.on(&m), amount, &health), &t.key).await
}

async fn repay(fx: &mut Fixture, t: &Trader, m: MarketHandle, amount: u64) -> Result<(), BanksClientError> {
    send(fx, ix::repay(&t.on(&m), amount, false), &t.key).await
}

/// The keeper liquidates `of`'s USDC debt against its SOL collateral.
async fn liquidate(fx: &mut Fixture, keeper: &Trader, of: &Trader) -> Result<(), BanksClientError> {
    let l = fx.liquidation_of_usdc_debt(keeper, of.margin_account);
    let health = fx.rt.health_accounts(&of.margin_account, BalanceChange::None).await;
    send(fx, ix::liquidate(&l, u64::MAX, &health), &keeper.key).await
}

/// Publishes a new SOL price one second later, leaving the other feeds as they are.
fn move_sol(fx: &mut Fixture, price: i64) {
    fx.rt.advance(1);
    let (oracle, now) = (fx.sol.oracle, fx.rt.now);
    fx.rt.set_price(&oracle, &PythPrice::steady(price, EXPO, now));
}

async fn reduce_only_until(fx: &mut Fixture, m: MarketHandle) -> i64 {
    fx.rt.market(&m.key).await.breakers.reduce_only_until_ts
}

/// A SOL lender and a USDC lender, a trader borrowing SOL against USDC, two borrowing
/// 600 and 650 USDC against 10 SOL each (both under maintenance at $70), and a keeper.
struct Book {
    lender: Trader,
    sol_borrower: Trader,
    usdc_borrowers: Vec<Trader>,
    keeper: Trader,
}

async fn book(fx: &mut Fixture) -> Book {
    let (usdc, sol) = (fx.usdc, fx.sol);
    let lender = fx.trader(0, 1_100 * SOL).await;
    deposit(fx, &lender, sol, 1_000 * SOL).await.unwrap();
    let usdc_lender = fx.trader(100_000 * USDC, 0).await;
    deposit(fx, &usdc_lender, usdc, 100_000 * USDC).await.unwrap();
    let sol_borrower = fx.trader(20_000 * USDC, 0).await;
    deposit(fx, &sol_borrower, usdc, 20_000 * USDC).await.unwrap();
    borrow(fx, &sol_borrower, sol, 5 * SOL).await.unwrap();
    let mut usdc_borrowers = Vec::new();
    for debt in [600, 650] {
        let t = fx.trader(0, 10 * SOL).await;
        deposit(fx, &t, sol, 10 * SOL).await.unwrap();
        borrow(fx, &t, usdc, debt * USDC).await.unwrap();
        usdc_borrowers.push(t);
    }
    let keeper = fx.trader(10_000 * USDC, 0).await;
    Book { lender, sol_borrower, usdc_borrowers, keeper }
}

/// A 30% crash within the guard's window makes the SOL market reduce-only for its
/// 30-minute cooldown: borrowing SOL is refused with `MarketReduceOnly`; deposits,
/// repayments, withdrawals (under the usual initial-health check), borrowing other
/// markets against SOL and liquidations go on. The liquidation itself records the trip.
#[tokio::test]
async fn a_fast_move_makes_the_market_reduce_only_until_the_cooldown_ends() {
    let mut fx = Fixture::with_standard_breakers().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let b = book(&mut fx).await;
    let config = fx.rt.market(&sol.key).await.config.breakers;
    assert_eq!((config.price_guard_max_move_bps, config.price_guard_cooldown_secs), (2_000, 1_800));

    // 15% down is within the limit; the reference stays the listing price.
    move_sol(&mut fx, 85 * USD);
    fx.rt.send(&[ix::refresh_market(sol.key, sol.oracle)], &[]).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, sol).await, 0);
    assert_eq!(fx.rt.market(&sol.key).await.breakers.window_start_ts, GENESIS_TIME);
    borrow(&mut fx, &b.sol_borrower, sol, SOL).await.unwrap();

    // 30% below the reference: the liquidation that reads it trips the guard.
    move_sol(&mut fx, 70 * USD);
    let tripped_at = fx.rt.now;
    liquidate(&mut fx, &b.keeper, &b.usdc_borrowers[0]).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, sol).await, tripped_at + 1_800);
    assert_eq!(reduce_only_until(&mut fx, usdc).await, 0);
    // Liquidations run through the cooldown.
    fx.rt.advance(1);
    liquidate(&mut fx, &b.keeper, &b.usdc_borrowers[1]).await.unwrap();

    // The last second of the cooldown.
    fx.rt.set_time(tripped_at + 1_799);
    fx.refresh_prices(70 * USD).await;
    assert_error(borrow(&mut fx, &b.sol_borrower, sol, SOL).await, BallastError::MarketReduceOnly);
    repay(&mut fx, &b.sol_borrower, sol, SOL).await.unwrap();
    deposit(&mut fx, &b.lender, sol, 10 * SOL).await.unwrap();
    withdraw(&mut fx, &b.lender, sol, 20 * SOL).await.unwrap();
    // Borrowing USDC against SOL collateral is not restricted by SOL's guard.
    let other = fx.trader(0, 10 * SOL).await;
    deposit(&mut fx, &other, sol, 10 * SOL).await.unwrap();
    borrow(&mut fx, &other, usdc, 100 * USDC).await.unwrap();

    // The cooldown is over: borrowing SOL works again.
    fx.rt.set_time(tripped_at + 1_800);
    fx.refresh_prices(70 * USD).await;
    assert!(reduce_only_until(&mut fx, sol).await <= fx.rt.now);
    borrow(&mut fx, &b.sol_borrower, sol, SOL).await.unwrap();
}

/// A borrow that reads a price past the limit is refused (its failure cannot store the
/// trip); the next withdrawal, which reads the same price, records it.
#[tokio::test]
async fn a_borrow_that_reads_the_move_is_refused_and_a_withdrawal_records_the_trip() {
    let mut fx = Fixture::with_standard_breakers().await;
    let sol = fx.sol;
    let b = book(&mut fx).await;
    move_sol(&mut fx, 130 * USD);
    assert_error(borrow(&mut fx, &b.sol_borrower, sol, SOL).await, BallastError::MarketReduceOnly);
    assert_eq!(reduce_only_until(&mut fx, sol).await, 0);
    withdraw(&mut fx, &b.lender, sol, 10 * SOL).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, sol).await, fx.rt.now + 1_800);
    let guard = fx.rt.market(&sol.key).await.breakers;
    assert_eq!(guard.window_start_ts, fx.rt.now);
    // The new reference is 130 (per lamport, WAD): staying there trips nothing more.
    assert_eq!(guard.window_start_price.get(), 130 * 1_000_000_000);
    fx.rt.advance(60);
    fx.refresh_prices(130 * USD).await;
    fx.rt.send(&[ix::refresh_market(sol.key, sol.oracle)], &[]).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, sol).await, fx.rt.now - 60 + 1_800);
    assert_error(borrow(&mut fx, &b.sol_borrower, sol, SOL).await, BallastError::MarketReduceOnly);
}

/// refresh_market trips the guard on a spike, whatever way the price moves.
#[tokio::test]
async fn a_refresh_trips_the_guard_on_a_spike() {
    let mut fx = Fixture::with_standard_breakers().await;
    let sol = fx.sol;
    move_sol(&mut fx, 121 * USD);
    fx.rt.send(&[ix::refresh_market(sol.key, sol.oracle)], &[]).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, sol).await, fx.rt.now + 1_800);
}

/// The buyback reads the pool token's price, which feeds that market's guard too; a trip
/// does not stop the auction.
#[tokio::test]
async fn a_buyback_feeds_the_pool_markets_guard() {
    let mut fx = Fixture::new().await;
    fx.borrow_usdc_at_the_kink().await;
    fx.rt.advance(365 * 86_400);
    fx.refresh_prices(SOL_PRICE).await;
    fx.rt.send(&[ix::sweep_fees(fx.usdc.key)], &[]).await.unwrap();
    let buyer = fx.buyback_keeper(1_000_000_000).await;
    let (usdc, now) = (fx.usdc, fx.rt.now);
    fx.rt.set_price(&usdc.oracle, &PythPrice::steady(75 * USD / 100, EXPO, now));
    fx.rt.send(&[ix::buyback(&buyer.fill, 1_000_000_000, 0)], &[&buyer.key]).await.unwrap();
    assert_eq!(reduce_only_until(&mut fx, usdc).await, now + 1_800);
}

/// Net outflow is limited to 25% of deposits per 6 hours: larger withdrawals and
/// borrows are refused with `OutflowLimitExceeded`, withdrawals of up to 100 USDC
/// always pass, deposits and repayments always pass and make room, and the window
/// frees capacity until everything can leave.
#[tokio::test]
async fn the_outflow_limiter_blocks_large_outflows_then_frees_them_over_time() {
    let mut fx = Fixture::with_standard_breakers().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    assert_eq!(fx.rt.market(&usdc.key).await.config.breakers.small_outflow_threshold, 100 * USDC);
    let lender = fx.trader(100_000 * USDC, 0).await;
    deposit(&mut fx, &lender, usdc, 100_000 * USDC).await.unwrap();
    let borrower = fx.trader(1_000 * USDC, 200 * SOL).await;
    deposit(&mut fx, &borrower, sol, 200 * SOL).await.unwrap();
    borrow(&mut fx, &borrower, usdc, 100 * USDC).await.unwrap();

    // Capacity 25,000 USDC: 100 already out.
    assert_error(withdraw(&mut fx, &lender, usdc, 30_000 * USDC).await, BallastError::OutflowLimitExceeded);
    withdraw(&mut fx, &lender, usdc, 20_000 * USDC).await.unwrap();
    // Deposits are 80,000 now: capacity 20,000, all used.
    assert_error(withdraw(&mut fx, &lender, usdc, 1_000 * USDC).await, BallastError::OutflowLimitExceeded);
    assert_error(borrow(&mut fx, &borrower, usdc, 1_000 * USDC).await, BallastError::OutflowLimitExceeded);
    assert_error(withdraw(&mut fx, &lender, usdc, 100 * USDC + 1).await, BallastError::OutflowLimitExceeded);
    withdraw(&mut fx, &lender, usdc, 100 * USDC).await.unwrap();
    // Repayments and deposits pass and make room at once.
    repay(&mut fx, &borrower, usdc, 100 * USDC).await.unwrap();
    let other = fx.trader(10_000 * USDC, 0).await;
    deposit(&mut fx, &other, usdc, 10_000 * USDC).await.unwrap();
    withdraw(&mut fx, &lender, usdc, 10_000 * USDC).await.unwrap();
    assert_error(withdraw(&mut fx, &lender, usdc, 5_000 * USDC).await, BallastError::OutflowLimitExceeded);

    // A whole window later a whole capacity (25% of 79,900) passes.
    fx.rt.advance(6 * HOUR);
    fx.refresh_prices(SOL_PRICE).await;
    withdraw(&mut fx, &lender, usdc, 19_975 * USDC).await.unwrap();
    assert_error(withdraw(&mut fx, &lender, usdc, 1_000 * USDC).await, BallastError::OutflowLimitExceeded);

    // Never locked for good: window by window, the lender gets everything out.
    for window in 1.. {
        assert!(window <= 10, "still locked after {window} windows");
        fx.rt.advance(6 * HOUR);
        fx.refresh_prices(SOL_PRICE).await;
        let m = fx.rt.market(&usdc.key).await;
        let deposits = deposit_amount(m.total_deposit_shares.get(), m.deposit_index.get()).unwrap() as u64;
        let room =
            ballast_risk::outflow::remaining(&m.breakers.outflow(), deposits, fx.rt.now, &m.config.breakers.outflow())
                .unwrap();
        let account = fx.rt.margin_account(&lender.margin_account).await;
        let held = account.balances.iter().find(|b| b.active != 0).map(|b| b.deposit_shares.get());
        let Some(shares) = held else { break };
        let held = deposit_amount(shares, m.deposit_index.get()).unwrap() as u64;
        if held <= room {
            withdraw_all(&mut fx, &lender, usdc).await.unwrap();
        } else {
            withdraw(&mut fx, &lender, usdc, room).await.unwrap();
        }
    }
    assert_eq!(fx.rt.token_balance(&lender.usdc).await, 100_000 * USDC);
}

/// The admin names the guardian; only the guardian trips, within its time box: at most
/// 30 minutes, 2 in a row, 3 a day, never liquidations or repayments. Anyone resumes
/// after expiry, the admin at any time, nobody else before.
#[tokio::test]
async fn guardian_trips_are_time_boxed() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let admin = fx.rt.admin.insecure_clone();
    let guardian = fx.rt.new_user().await;
    let stranger = fx.rt.new_user().await;
    let trader = fx.trader(0, 110 * SOL).await;
    let lender = fx.trader(100_000 * USDC, 0).await;
    deposit(&mut fx, &lender, usdc, 100_000 * USDC).await.unwrap();
    deposit(&mut fx, &trader, sol, 100 * SOL).await.unwrap();
    borrow(&mut fx, &trader, usdc, 1_000 * USDC).await.unwrap();

    let set = |by: &Keypair| ix::set_guardian(by.pubkey(), guardian.pubkey());
    assert_error(send(&mut fx, set(&stranger), &stranger).await, BallastError::Unauthorized);
    send(&mut fx, set(&admin), &admin).await.unwrap();
    assert_eq!(fx.rt.protocol().await.guardian, guardian.pubkey());

    let trip = |by: &Keypair, secs: u32, mask: u64| ix::guardian_trip(by.pubkey(), secs, mask);
    let pause = gates::BORROW | gates::WITHDRAW;
    assert_error(send(&mut fx, trip(&stranger, 60, pause), &stranger).await, BallastError::NotGuardian);
    assert_error(send(&mut fx, trip(&admin, 60, pause), &admin).await, BallastError::NotGuardian);
    assert_error(send(&mut fx, trip(&guardian, 1_801, pause), &guardian).await, BallastError::GuardianTripTooLong);
    assert_error(send(&mut fx, trip(&guardian, 0, pause), &guardian).await, BallastError::GuardianTripTooLong);
    for mask in [0, pause | gates::LIQUIDATE, gates::REPAY, 1 << 13] {
        assert_error(send(&mut fx, trip(&guardian, 60, mask), &guardian).await, BallastError::InvalidGateMask);
    }

    // Trip 1: borrowing and withdrawing stop; deposits and repayments go on.
    let t0 = fx.rt.now;
    send(&mut fx, trip(&guardian, 1_800, pause), &guardian).await.unwrap();
    let b = fx.rt.protocol().await.breakers;
    assert_eq!((b.guardian_mask, b.guardian_paused_until_ts, b.guardian_trips_today), (pause, t0 + 1_800, 1));
    assert_error(borrow(&mut fx, &trader, usdc, USDC).await, BallastError::InstructionPaused);
    assert_error(withdraw(&mut fx, &trader, sol, SOL).await, BallastError::InstructionPaused);
    deposit(&mut fx, &trader, sol, SOL).await.unwrap();
    repay(&mut fx, &trader, usdc, USDC).await.unwrap();
    assert_error(send(&mut fx, ix::resume(stranger.pubkey()), &stranger).await, BallastError::GuardianPauseActive);

    // It lapses by itself; anyone may tidy it up afterwards.
    fx.rt.advance(1_800);
    fx.refresh_prices(SOL_PRICE).await;
    borrow(&mut fx, &trader, usdc, USDC).await.unwrap();
    send(&mut fx, ix::resume(stranger.pubkey()), &stranger).await.unwrap();
    assert_eq!(fx.rt.protocol().await.breakers.guardian_mask, 0);

    // Trip 2 follows at once; the admin ends it early.
    send(&mut fx, trip(&guardian, 1_800, gates::BORROW), &guardian).await.unwrap();
    assert_eq!(fx.rt.protocol().await.breakers.guardian_consecutive, 2);
    assert_error(borrow(&mut fx, &trader, usdc, USDC).await, BallastError::InstructionPaused);
    send(&mut fx, ix::resume(admin.pubkey()), &admin).await.unwrap();
    borrow(&mut fx, &trader, usdc, USDC).await.unwrap();
    // A third in a row is refused; after the hour's gap a new run starts.
    assert_error(send(&mut fx, trip(&guardian, 60, pause), &guardian).await, BallastError::GuardianTooManyConsecutive);
    fx.rt.advance(HOUR + 1);
    send(&mut fx, trip(&guardian, 60, pause), &guardian).await.unwrap();
    // A fourth the same day is refused, even after a gap.
    fx.rt.advance(60 + HOUR + 1);
    assert_error(send(&mut fx, trip(&guardian, 60, pause), &guardian).await, BallastError::GuardianDailyLimit);
    // The day window that opened at the first trip rolls over.
    fx.rt.set_time(t0 + 86_400);
    send(&mut fx, trip(&guardian, 60, pause), &guardian).await.unwrap();
    let b = fx.rt.protocol().await.breakers;
    assert_eq!((b.guardian_trips_today, b.guardian_consecutive, b.guardian_day_start_ts), (1, 1, t0 + 86_400));
}

/// The guardian cannot stop liquidations: during a trip with every bit it may set, an
/// account under maintenance is still liquidated and borrowers can still repay.
#[tokio::test]
async fn liquidations_run_through_a_guardian_trip() {
    let mut fx = Fixture::new().await;
    let usdc = fx.usdc;
    let b = book(&mut fx).await;
    let (admin, guardian) = (fx.rt.admin.insecure_clone(), fx.rt.new_user().await);
    send(&mut fx, ix::set_guardian(admin.pubkey(), guardian.pubkey()), &admin).await.unwrap();
    let widest = gates::ALL & !gates::GUARDIAN_FORBIDDEN;
    send(&mut fx, ix::guardian_trip(guardian.pubkey(), 1_800, widest), &guardian).await.unwrap();
    move_sol(&mut fx, 70 * USD);
    liquidate(&mut fx, &b.keeper, &b.usdc_borrowers[0]).await.unwrap();
    repay(&mut fx, &b.usdc_borrowers[1], usdc, USDC).await.unwrap();
    assert_error(deposit(&mut fx, &b.lender, usdc, USDC).await, BallastError::InstructionPaused);
}

/// Every gated instruction is refused with `InstructionPaused` while its family's bit
/// is set by the admin, and only then. Only the admin sets gates, only defined bits.
#[tokio::test]
async fn every_gated_instruction_is_refused_while_its_bit_is_set() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let admin = fx.rt.admin.insecure_clone();
    let lender = fx.trader(100_000 * USDC, 0).await;
    deposit(&mut fx, &lender, usdc, 100_000 * USDC).await.unwrap();
    let trader = fx.trader(1_000 * USDC, 100 * SOL).await;
    deposit(&mut fx, &trader, sol, 50 * SOL).await.unwrap();
    borrow(&mut fx, &trader, usdc, 1_000 * USDC).await.unwrap();
    let keeper = fx.trader(10_000 * USDC, 0).await;
    let staker = fx.staker(1_000_000_000).await;
    send(&mut fx, staker.ix.stake(100_000_000, 7 * 86_400), &staker.key).await.unwrap();
    let newcomer = fx.staker(1_000_000_000).await;
    let buyer = fx.buyback_keeper(1_000_000_000).await;

    let stranger = fx.rt.new_user().await;
    assert_error(
        send(&mut fx, ix::set_gates(stranger.pubkey(), gates::ALL), &stranger).await,
        BallastError::Unauthorized,
    );
    assert_error(send(&mut fx, ix::set_gates(admin.pubkey(), 1 << 13), &admin).await, BallastError::InvalidGateMask);
    // Repayments pause only with liquidations: a borrower can always defend an account
    // a liquidator may take.
    let repay_alone = ix::set_gates(admin.pubkey(), gates::REPAY);
    assert_error(send(&mut fx, repay_alone, &admin).await, BallastError::RepayGatedWithoutLiquidate);
    send(&mut fx, ix::set_gates(admin.pubkey(), gates::ALL), &admin).await.unwrap();
    assert_eq!(fx.rt.protocol().await.breakers.gates, gates::ALL);
    let liquidations_only_reopened = ix::set_gates(admin.pubkey(), gates::ALL & !gates::LIQUIDATE);
    assert_error(send(&mut fx, liquidations_only_reopened, &admin).await, BallastError::RepayGatedWithoutLiquidate);

    let on_usdc = trader.on(&usdc);
    let on_sol = trader.on(&sol);
    let health = fx.rt.health_accounts(&trader.margin_account, BalanceChange::None).await;
    let liquidation = fx.liquidation_of_usdc_debt(&keeper, trader.margin_account);
    // (gate, [(name, instruction, signer)]). Refused while paused, each runs (or fails
    // for its own reasons) once open; the last family's last one really exits the stake.
    let (t, s, k) = (Some(&trader.key), Some(&staker.key), Some(&keeper.key));
    let families: Vec<(u64, Vec<Gated>)> = vec![
        (gates::DEPOSIT, vec![("deposit", ix::deposit(&on_sol, SOL), t)]),
        (gates::WITHDRAW, vec![("withdraw", ix::withdraw(&on_sol, SOL, false, &health), t)]),
        (gates::BORROW, vec![("borrow", ix::borrow(&on_usdc, USDC, &health), t)]),
        (gates::REPAY, vec![("repay", ix::repay(&on_usdc, USDC, false), t)]),
        (gates::LIQUIDATE, vec![("liquidate", ix::liquidate(&liquidation, u64::MAX, &health), k)]),
        (
            gates::STAKE,
            vec![
                ("stake", newcomer.ix.stake(1_000_000, 7 * 86_400), Some(&newcomer.key)),
                ("increase_stake", staker.ix.increase_stake(1_000_000), s),
                ("extend_lock", staker.ix.extend_lock(30 * 86_400), s),
            ],
        ),
        (
            gates::CLAIM,
            vec![
                ("claim_rewards", staker.ix.claim_rewards(), s),
                ("claim_market_rewards", staker.ix.claim_market_rewards(usdc.key, staker.usdc), s),
            ],
        ),
        (gates::SWEEP_FEES, vec![("sweep_fees", ix::sweep_fees(usdc.key), None)]),
        (
            gates::UPDATE_VOLATILITY,
            vec![("update_volatility", ix::update_volatility(fx.native_mint, fx.rt.native().oracle), None)],
        ),
        (gates::BUYBACK, vec![("buyback", ix::buyback(&buyer.fill, 1_000_000, 0), Some(&buyer.key))]),
        (
            gates::RESOLVE_BAD_DEBT,
            vec![("resolve_bad_debt", ix::resolve_bad_debt(trader.margin_account, usdc.key, &[]), None)],
        ),
        (
            gates::CREATE_MARGIN_ACCOUNT,
            vec![("create_margin_account", ix::create_margin_account(trader.key.pubkey(), 1), t)],
        ),
        (
            gates::UNSTAKE,
            vec![
                ("unstake", staker.ix.unstake(), s),
                ("withdraw_stake", staker.ix.withdraw_stake(), s),
                ("exit_early", staker.ix.exit_early(), s),
            ],
        ),
    ];
    for (gate, family) in families {
        // Repayments pause with liquidations, liquidations reopen with repayments.
        let with_repay = if gate == gates::LIQUIDATE { gates::REPAY } else { 0 };
        let with_liquidate = if gate == gates::REPAY { gates::LIQUIDATE } else { 0 };
        send(&mut fx, ix::set_gates(admin.pubkey(), gate | with_liquidate), &admin).await.unwrap();
        for (name, instruction, signer) in &family {
            let result = fx.rt.send(std::slice::from_ref(instruction), signer.as_slice()).await;
            assert!(result.is_err(), "{name} ran while paused");
            assert_error(result, BallastError::InstructionPaused);
        }
        send(&mut fx, ix::set_gates(admin.pubkey(), gates::ALL & !gate & !with_repay), &admin).await.unwrap();
        for (name, instruction, signer) in &family {
            assert_not_paused(fx.rt.send(std::slice::from_ref(instruction), signer.as_slice()).await, name);
        }
    }
    send(&mut fx, ix::set_gates(admin.pubkey(), 0), &admin).await.unwrap();
    deposit(&mut fx, &trader, sol, SOL).await.unwrap();
}

/// Breaker settings out of bounds are refused at listing, guardian limits out of bounds
/// at initialisation, each with the error of its group.
#[tokio::test]
async fn out_of_bounds_breaker_and_guardian_configs_are_refused() {
    let Listing { mut rt, mint, oracle } = listing().await;
    let admin = rt.admin.insecure_clone();
    let base = MarketConfig::conservative(1_000 * SOL, 500 * SOL);
    let b = base.breakers;
    let cases = [
        (BreakerConfig { price_guard_window_secs: 0, ..b }, BallastError::InvalidPriceGuardParams),
        (BreakerConfig { price_guard_max_move_bps: 99, ..b }, BallastError::InvalidPriceGuardParams),
        (BreakerConfig { price_guard_max_move_bps: 10_001, ..b }, BallastError::InvalidPriceGuardParams),
        (BreakerConfig { price_guard_cooldown_secs: 0, ..b }, BallastError::InvalidPriceGuardParams),
        (BreakerConfig { price_guard_cooldown_secs: 86_401, ..b }, BallastError::InvalidPriceGuardParams),
        (BreakerConfig { outflow_window_secs: 59, ..b }, BallastError::InvalidOutflowParams),
        (BreakerConfig { outflow_window_secs: 7 * 86_400 + 1, ..b }, BallastError::InvalidOutflowParams),
        (BreakerConfig { outflow_max_bps: 99, ..b }, BallastError::InvalidOutflowParams),
        (BreakerConfig { outflow_max_bps: 10_001, ..b }, BallastError::InvalidOutflowParams),
        (BreakerConfig { small_outflow_threshold: 0, ..b }, BallastError::InvalidOutflowParams),
    ];
    for (breakers, error) in cases {
        let config = MarketConfig { breakers, ..base };
        assert_error(
            rt.send(&[ix::add_market(admin.pubkey(), mint, rt.feed(&oracle), config)], &[&admin]).await,
            error,
        );
    }
    rt.send(&[ix::add_market(admin.pubkey(), mint, rt.feed(&oracle), base)], &[&admin]).await.unwrap();
    // The listing price is the guard's first reference; the limiter's bucket is empty.
    let m = rt.market(&ix::market_pda(&mint)).await;
    assert_eq!((m.breakers.window_start_ts, m.breakers.window_start_price.get()), (GENESIS_TIME, 100_000_000_000));
    assert_eq!((m.breakers.net_outflow, m.breakers.outflow_updated_ts), (0, GENESIS_TIME));

    let mut rt = Runtime::start().await;
    let native = rt.create_native_token(6).await;
    let admin = rt.admin.insecure_clone();
    let g = GuardianConfig::standard();
    let cases = [
        GuardianConfig { max_trip_secs: 0, ..g },
        GuardianConfig { max_trip_secs: 6 * 3_600 + 1, ..g },
        GuardianConfig { max_consecutive: 0, ..g },
        GuardianConfig { max_consecutive: 4, ..g },
        GuardianConfig { max_per_day: 11, ..g },
        GuardianConfig { max_consecutive: 256, max_per_day: 256, ..g },
        GuardianConfig { consecutive_gap_secs: 86_401, ..g },
    ];
    for guardian in cases {
        let config = ProtocolConfig { guardian, ..ProtocolConfig::standard() };
        let ix = ix::initialize_protocol(admin.pubkey(), native.mint, rt.feed(&native.oracle), config);
        assert_error(rt.send(&[ix], &[&admin]).await, BallastError::InvalidGuardianParams);
    }
    let ix = ix::initialize_protocol(admin.pubkey(), native.mint, rt.feed(&native.oracle), ProtocolConfig::standard());
    rt.send(&[ix], &[&admin]).await.unwrap();
    assert_eq!(rt.protocol().await.config.guardian, g);
}
