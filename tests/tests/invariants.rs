//! Action-sequence fuzzer: random sequences of deposits, withdrawals, borrows, repays,
//! price moves, time, liquidations, bad-debt write-offs, sweeps, buybacks and staking
//! run against the real program, with the accounting invariants checked after every
//! step. Actions may fail; the invariants may not:
//! - every market's vault holds what its books say (up to rounding dust in its favour);
//! - the native mint's supply is genesis + emitted - burned, the stake vault holds
//!   exactly the total staked;
//! - an account at or above zero maintenance health is never liquidated;
//! - the breakers only ever refuse what they should: a borrow from a reduce-only market
//!   fails with `MarketReduceOnly`, deposits and repayments never meet a breaker, and
//!   liquidations never meet one (neither the price guard nor the outflow limiter).
//!
//! Half the sequences list the markets with the standard breakers (an outflow limit of
//! 25% of deposits per 6 hours), half with the test fixture's (no effective limit); the
//! price guard is on in both, and price jumps of 21-45% trip it.
//!
//! `BALLAST_FUZZ_CASES` (default 40) sets the number of sequences; a failing sequence
//! is shrunk and printed by proptest.

use anchor_lang::prelude::Pubkey;
use ballast_sim::ix::{self, BuybackFill, Liquidation};
use ballast_sim::runtime::{BalanceChange, MarketHandle};
use ballast_tests::attack::{assert_native_accounting, maint_health};
use ballast_tests::*;
use proptest::prelude::*;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

const TRADERS: usize = 3;
const DAY: u32 = 86_400;
/// Native token base units each trader and the keeper start with (6 decimals).
const NATIVE_WALLET: u64 = 100_000_000_000;

/// An amount: a fraction (bps) of a per-market notional, so that most actions are
/// plausible, or a raw value to hit the edges (0, dust, u64::MAX).
#[derive(Debug, Clone, Copy)]
enum Amount {
    Bps(u16),
    Raw(u64),
}

impl Amount {
    fn of(self, notional: u64) -> u64 {
        match self {
            Amount::Bps(bps) => (u128::from(notional) * u128::from(bps) / 10_000) as u64,
            Amount::Raw(raw) => raw,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Deposit {
        who: usize,
        sol: bool,
        amount: Amount,
    },
    Withdraw {
        who: usize,
        sol: bool,
        amount: Amount,
        all: bool,
    },
    Borrow {
        who: usize,
        sol: bool,
        amount: Amount,
    },
    Repay {
        who: usize,
        sol: bool,
        amount: Amount,
        all: bool,
    },
    /// SOL moves to `pct` percent of its starting $100.
    MovePrice {
        pct: u16,
    },
    /// SOL jumps `pct` percent up or down from where it is (at least $5): past the
    /// guard's 20% limit, so the next price read trips it.
    JumpPrice {
        up: bool,
        pct: u16,
    },
    Wait {
        secs: u32,
    },
    Refresh {
        sol: bool,
    },
    /// The keeper liquidates `who`'s debt in one market against collateral in the other.
    Liquidate {
        who: usize,
        liability_sol: bool,
        max_repay: Amount,
    },
    ResolveBadDebt {
        who: usize,
        sol: bool,
    },
    Sweep {
        sol: bool,
    },
    Buyback {
        sol: bool,
        max_native_in: Amount,
    },
    Stake {
        who: usize,
        amount: Amount,
        lock_days: u8,
    },
    IncreaseStake {
        who: usize,
        amount: Amount,
    },
    Unstake {
        who: usize,
    },
    WithdrawStake {
        who: usize,
    },
    ExitEarly {
        who: usize,
    },
    ClaimRewards {
        who: usize,
    },
    ClaimMarketRewards {
        who: usize,
        sol: bool,
    },
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        8 => (1u16..=10_000).prop_map(Amount::Bps),
        1 => prop_oneof![Just(0u64), 1u64..1_000, Just(u64::MAX)].prop_map(Amount::Raw),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..TRADERS;
    prop_oneof![
        4 => (who.clone(), any::<bool>(), amount()).prop_map(|(who, sol, amount)| Action::Deposit { who, sol, amount }),
        2 => (who.clone(), any::<bool>(), amount(), any::<bool>())
            .prop_map(|(who, sol, amount, all)| Action::Withdraw { who, sol, amount, all }),
        4 => (who.clone(), any::<bool>(), amount()).prop_map(|(who, sol, amount)| Action::Borrow { who, sol, amount }),
        2 => (who.clone(), any::<bool>(), amount(), any::<bool>())
            .prop_map(|(who, sol, amount, all)| Action::Repay { who, sol, amount, all }),
        3 => (30u16..=160).prop_map(|pct| Action::MovePrice { pct }),
        2 => (any::<bool>(), 21u16..=45).prop_map(|(up, pct)| Action::JumpPrice { up, pct }),
        2 => prop_oneof![1u32..3_600, 86_400u32..30 * 86_400].prop_map(|secs| Action::Wait { secs }),
        1 => any::<bool>().prop_map(|sol| Action::Refresh { sol }),
        3 => (who.clone(), any::<bool>(), amount())
            .prop_map(|(who, liability_sol, max_repay)| Action::Liquidate { who, liability_sol, max_repay }),
        1 => (who.clone(), any::<bool>()).prop_map(|(who, sol)| Action::ResolveBadDebt { who, sol }),
        1 => any::<bool>().prop_map(|sol| Action::Sweep { sol }),
        1 => (any::<bool>(), amount()).prop_map(|(sol, max_native_in)| Action::Buyback { sol, max_native_in }),
        2 => (who.clone(), amount(), 0u8..=200).prop_map(|(who, amount, lock_days)| Action::Stake { who, amount, lock_days }),
        1 => (who.clone(), amount()).prop_map(|(who, amount)| Action::IncreaseStake { who, amount }),
        1 => who.clone().prop_map(|who| Action::Unstake { who }),
        1 => who.clone().prop_map(|who| Action::WithdrawStake { who }),
        1 => who.clone().prop_map(|who| Action::ExitEarly { who }),
        1 => who.clone().prop_map(|who| Action::ClaimRewards { who }),
        1 => (who, any::<bool>()).prop_map(|(who, sol)| Action::ClaimMarketRewards { who, sol }),
    ]
}

struct World {
    fx: Fixture,
    traders: Vec<(Trader, ix::Staker)>,
    keeper: Trader,
    keeper_native: Pubkey,
    sol_price: i64,
    /// Successful actions so far: each may leave the vaults a unit or two of rounding dust.
    done: u128,
}

impl World {
    /// Markets with the standard breakers when `limiter`, else with the fixture's.
    async fn new(limiter: bool) -> World {
        let mut fx = if limiter { Fixture::with_standard_breakers().await } else { Fixture::new().await };
        let native_mint = fx.native_mint;
        let mut traders = Vec::new();
        for _ in 0..TRADERS {
            let t = fx.trader(20_000 * USDC, 200 * SOL).await;
            let owner_native = fx.rt.funded_token_account(&native_mint, &t.key.pubkey(), NATIVE_WALLET).await;
            let staker = ix::Staker { owner: t.key.pubkey(), native_mint, owner_native };
            traders.push((t, staker));
        }
        let keeper = fx.trader(1_000_000 * USDC, 10_000 * SOL).await;
        let keeper_native = fx.rt.funded_token_account(&native_mint, &keeper.key.pubkey(), NATIVE_WALLET).await;
        World { fx, traders, keeper, keeper_native, sol_price: SOL_PRICE, done: 0 }
    }

    fn market(&self, sol: bool) -> MarketHandle {
        if sol {
            self.fx.sol
        } else {
            self.fx.usdc
        }
    }

    /// A trader's notional per market: their starting wallet.
    fn notional(sol: bool) -> u64 {
        if sol {
            200 * SOL
        } else {
            20_000 * USDC
        }
    }

    async fn as_trader(&mut self, who: usize, ix: anchor_lang::solana_program::instruction::Instruction) -> bool {
        let key = self.traders[who].0.key.insecure_clone();
        self.fx.rt.send(&[ix], &[&key]).await.is_ok()
    }

    /// Runs a deposit or repayment, which no breaker may refuse.
    async fn as_trader_unbroken(
        &mut self,
        who: usize,
        ix: anchor_lang::solana_program::instruction::Instruction,
    ) -> bool {
        let key = self.traders[who].0.key.insecure_clone();
        let result = self.fx.rt.send(&[ix], &[&key]).await;
        assert_no_breaker(&result);
        result.is_ok()
    }

    /// Runs one action; returns whether it succeeded.
    async fn step(&mut self, action: Action) -> bool {
        match action {
            Action::Deposit { who, sol, amount } => {
                let m = self.market(sol);
                let ix = ix::deposit(&self.traders[who].0.on(&m), amount.of(Self::notional(sol)));
                self.as_trader_unbroken(who, ix).await
            }
            Action::Withdraw { who, sol, amount, all } => {
                let m = self.market(sol);
                let t = self.traders[who].0.margin_account;
                let change = if all { BalanceChange::Closes(m.key) } else { BalanceChange::None };
                let health = self.fx.rt.health_accounts(&t, change).await;
                let ix = ix::withdraw(&self.traders[who].0.on(&m), amount.of(Self::notional(sol)), all, &health);
                self.as_trader(who, ix).await
            }
            Action::Borrow { who, sol, amount } => {
                let m = self.market(sol);
                let t = self.traders[who].0.margin_account;
                let health = self.fx.rt.health_accounts(&t, BalanceChange::Opens(m.key)).await;
                let amount = amount.of(Self::notional(sol) / 4);
                let reduce_only = self.fx.rt.market(&m.key).await.breakers.reduce_only_until_ts > self.fx.rt.now;
                let ix = ix::borrow(&self.traders[who].0.on(&m), amount, &health);
                let key = self.traders[who].0.key.insecure_clone();
                let result = self.fx.rt.send(&[ix], &[&key]).await;
                if reduce_only && amount > 0 {
                    assert_error(result, BallastError::MarketReduceOnly);
                    return false;
                }
                result.is_ok()
            }
            Action::Repay { who, sol, amount, all } => {
                let m = self.market(sol);
                let ix = ix::repay(&self.traders[who].0.on(&m), amount.of(Self::notional(sol) / 4), all);
                self.as_trader_unbroken(who, ix).await
            }
            Action::MovePrice { pct } => {
                self.sol_price = SOL_PRICE / 100 * i64::from(pct);
                self.fx.refresh_prices(self.sol_price).await;
                true
            }
            Action::JumpPrice { up, pct } => {
                let factor = if up { 100 + i64::from(pct) } else { 100 - i64::from(pct) };
                self.sol_price = (self.sol_price / 100 * factor).max(5 * USD);
                self.fx.rt.advance(1);
                self.fx.refresh_prices(self.sol_price).await;
                true
            }
            Action::Wait { secs } => {
                self.fx.rt.advance(i64::from(secs));
                self.fx.refresh_prices(self.sol_price).await;
                true
            }
            Action::Refresh { sol } => {
                let m = self.market(sol);
                self.fx.rt.send(&[ix::refresh_market(m.key, m.oracle)], &[]).await.is_ok()
            }
            Action::Liquidate { who, liability_sol, max_repay } => self.liquidate(who, liability_sol, max_repay).await,
            Action::ResolveBadDebt { who, sol } => {
                let (t, m) = (self.traders[who].0.margin_account, self.market(sol));
                let health = self.fx.rt.health_accounts(&t, BalanceChange::None).await;
                self.fx.rt.send(&[ix::resolve_bad_debt(t, m.key, &health)], &[]).await.is_ok()
            }
            Action::Sweep { sol } => {
                let m = self.market(sol);
                self.fx.rt.send(&[ix::sweep_fees(m.key)], &[]).await.is_ok()
            }
            Action::Buyback { sol, max_native_in } => {
                let (m, native) = (self.market(sol), self.fx.rt.native());
                let fill = BuybackFill {
                    keeper: self.keeper.key.pubkey(),
                    market: m.key,
                    oracle: m.oracle,
                    native_mint: native.mint,
                    native_oracle: native.oracle,
                    keeper_native: self.keeper_native,
                    keeper_pool_token: if sol { self.keeper.sol } else { self.keeper.usdc },
                };
                let ix = ix::buyback(&fill, max_native_in.of(NATIVE_WALLET / 100), 0);
                let keeper = self.keeper.key.insecure_clone();
                self.fx.rt.send(&[ix], &[&keeper]).await.is_ok()
            }
            Action::Stake { who, amount, lock_days } => {
                let ix = self.traders[who].1.stake(amount.of(NATIVE_WALLET / 10), u32::from(lock_days) * DAY);
                self.as_trader(who, ix).await
            }
            Action::IncreaseStake { who, amount } => {
                let ix = self.traders[who].1.increase_stake(amount.of(NATIVE_WALLET / 10));
                self.as_trader(who, ix).await
            }
            Action::Unstake { who } => self.as_trader(who, self.traders[who].1.unstake()).await,
            Action::WithdrawStake { who } => self.as_trader(who, self.traders[who].1.withdraw_stake()).await,
            Action::ExitEarly { who } => self.as_trader(who, self.traders[who].1.exit_early()).await,
            Action::ClaimRewards { who } => self.as_trader(who, self.traders[who].1.claim_rewards()).await,
            Action::ClaimMarketRewards { who, sol } => {
                let (t, staker) = (&self.traders[who].0, self.traders[who].1);
                let (m, token) = (self.market(sol), if sol { t.sol } else { t.usdc });
                self.as_trader(who, staker.claim_market_rewards(m.key, token)).await
            }
        }
    }

    /// Liquidates `who` and checks that a healthy account is refused by name and an
    /// account is only ever liquidated below zero maintenance health.
    async fn liquidate(&mut self, who: usize, liability_sol: bool, max_repay: Amount) -> bool {
        let victim = self.traders[who].0.margin_account;
        let (liability, asset) = (self.market(liability_sol), self.market(!liability_sol));
        let l = Liquidation {
            liquidator: self.keeper.key.pubkey(),
            liquidatee: victim,
            liability_market: liability.key,
            liquidator_liability_token: if liability_sol { self.keeper.sol } else { self.keeper.usdc },
            asset_market: asset.key,
            liquidator_asset_token: if liability_sol { self.keeper.usdc } else { self.keeper.sol },
        };
        let maint = maint_health(&mut self.fx.rt, &victim).await;
        let health = self.fx.rt.health_accounts(&victim, BalanceChange::None).await;
        let ix = ix::liquidate(&l, max_repay.of(Self::notional(liability_sol)), &health);
        let keeper = self.keeper.key.insecure_clone();
        let result: Result<(), BanksClientError> = self.fx.rt.send(&[ix], &[&keeper]).await;
        assert_no_breaker(&result);
        match maint {
            Some(m) if m >= 0 => {
                assert_error(result, BallastError::AccountHealthy);
                false
            }
            _ => {
                let ok = result.is_ok();
                assert!(!ok || maint.is_some_and(|m| m < 0), "liquidated at maintenance health {maint:?}");
                ok
            }
        }
    }

    async fn check_invariants(&mut self) {
        let slack = 4 * self.done + 4;
        let (usdc, sol) = (self.fx.usdc, self.fx.sol);
        self.fx.assert_books(&usdc, slack).await;
        self.fx.assert_books(&sol, slack).await;
        assert_native_accounting(&mut self.fx.rt).await;
    }
}

/// Fails if `result` is a breaker's refusal.
fn assert_no_breaker(result: &Result<(), BanksClientError>) {
    let breakers =
        [BallastError::MarketReduceOnly, BallastError::OutflowLimitExceeded, BallastError::InstructionPaused];
    if let Err(e) = result {
        if let TransactionError::InstructionError(_, InstructionError::Custom(c)) = e.unwrap() {
            assert!(!breakers.iter().any(|&b| u32::from(b) == c), "refused by a breaker: {c}");
        }
    }
}

async fn run(limiter: bool, actions: Vec<Action>) {
    eprintln!("standard breakers: {limiter}");
    let mut world = World::new(limiter).await;
    world.check_invariants().await;
    for (i, action) in actions.into_iter().enumerate() {
        let ok = world.step(action).await;
        world.done += u128::from(ok);
        // On a failure the log names the steps; proptest then shrinks the sequence.
        eprintln!("step {i}: {action:?} -> {}", if ok { "ok" } else { "refused" });
        world.check_invariants().await;
    }
}

fn cases() -> u32 {
    std::env::var("BALLAST_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn accounting_invariants_hold_after_every_action(limiter: bool, actions in proptest::collection::vec(action(), 1..48)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(limiter, actions));
    }
}

/// A fixed sequence that reaches every branch the fuzzer relies on (a crash, a
/// liquidation, fees swept and bought back, a stake, a price-guard trip and the borrow
/// it refuses), so the invariants are known to be exercised even when the random cases
/// are few.
#[tokio::test]
async fn a_scripted_sequence_keeps_the_invariants() {
    let full = Amount::Bps(10_000);
    let script = [
        Action::Deposit { who: 0, sol: false, amount: full },
        Action::Deposit { who: 1, sol: true, amount: Amount::Bps(500) },
        Action::Borrow { who: 1, sol: false, amount: Amount::Bps(1_200) },
        Action::Stake { who: 2, amount: full, lock_days: 30 },
        Action::Wait { secs: 30 * DAY },
        Action::Sweep { sol: false },
        Action::Wait { secs: 2 * DAY },
        Action::MovePrice { pct: 60 },
        Action::Liquidate { who: 0, liability_sol: false, max_repay: full },
        Action::Liquidate { who: 1, liability_sol: false, max_repay: full },
        Action::Buyback { sol: false, max_native_in: full },
        Action::ClaimMarketRewards { who: 2, sol: false },
        Action::Repay { who: 1, sol: false, amount: Amount::Raw(0), all: true },
        Action::Withdraw { who: 0, sol: false, amount: Amount::Raw(0), all: true },
        // The crash's liquidation tripped SOL's guard: borrowing SOL is refused by name.
        Action::Borrow { who: 0, sol: true, amount: Amount::Bps(100) },
        Action::JumpPrice { up: true, pct: 30 },
        Action::Refresh { sol: true },
    ];
    let mut world = World::new(false).await;
    let mut outcomes = Vec::new();
    for action in script {
        outcomes.push(world.step(action).await);
        world.check_invariants().await;
    }
    // The crash made account 1 liquidatable, and the fees reached the auction. Its
    // liquidation took its last SOL and wrote off the rest of its debt at once, so there
    // is nothing left to repay.
    assert_eq!(
        outcomes,
        [true, true, true, true, true, true, true, true, false, true, true, true, false, true, false, true, true]
    );
    // The jump tripped it again: 30 minutes from now.
    let sol = world.fx.sol.key;
    assert_eq!(world.fx.rt.market(&sol).await.breakers.reduce_only_until_ts, world.fx.rt.now + 1_800);
    assert!(world.fx.rt.protocol().await.total_burned > 0);
}
