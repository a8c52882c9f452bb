//! liquidate and resolve_bad_debt: a crash, step-by-step liquidations, bad debt, and
//! every rejection, with the books checked after each step.

use ballast_sim::ix::{self, Liquidation, MarketTransfer};
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, BalanceChange, MarketHandle};
use ballast_tests::attack::maint_health;
use ballast_tests::*;
use solana_signer::Signer;

/// Base units of rounding dust a market's vault may hold beyond its books.
const SLACK: u128 = 10;

struct Crash {
    fx: Fixture,
    lender: Trader,
    borrowers: Vec<Trader>,
    keeper: Trader,
}

/// A lender with 100k USDC; borrowers with 10 SOL each borrowing 400, 500, 600 USDC;
/// a keeper with USDC to repay with and a SOL account to receive collateral.
async fn crash_setup() -> Crash {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let lender = fx.trader(100_000 * USDC, 0).await;
    fx.rt.send(&[ix::deposit(&lender.on(&usdc), 100_000 * USDC)], &[&lender.key]).await.unwrap();
    let mut borrowers = Vec::new();
    for debt in [400, 500, 600] {
        let b = fx.trader(0, 10 * SOL).await;
        fx.rt.send(&[ix::deposit(&b.on(&sol), 10 * SOL)], &[&b.key]).await.unwrap();
        let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
        fx.rt.send(&[ix::borrow(&b.on(&usdc), debt * USDC, &health)], &[&b.key]).await.unwrap();
        borrowers.push(b);
    }
    let keeper = fx.trader(10_000 * USDC, 0).await;
    Crash { fx, lender, borrowers, keeper }
}

impl Crash {
    fn liquidation(&self, of: &Trader) -> Liquidation {
        self.fx.liquidation_of_usdc_debt(&self.keeper, of.margin_account)
    }

    async fn liquidate(&mut self, of: usize, max_repay: u64) -> Result<(), solana_program_test::BanksClientError> {
        let l = self.liquidation(&self.borrowers[of]);
        let health = self.fx.rt.health_accounts(&l.liquidatee, BalanceChange::None).await;
        let keeper = self.keeper.key.insecure_clone();
        self.fx.rt.send(&[ix::liquidate(&l, max_repay, &health)], &[&keeper]).await
    }

    async fn crash_to(&mut self, sol_price: i64) {
        self.fx.rt.advance(1);
        self.fx.refresh_prices(sol_price).await;
    }

    /// Lists a $1, 6-decimal side market and deposits `amount` of it for borrower `of`.
    async fn side_deposit(&mut self, of: usize, amount: u64) -> (MarketHandle, MarketTransfer) {
        let now = self.fx.rt.now;
        let mint = self.fx.rt.create_mint(6).await;
        let config = standard_config(1_000_000 * USDC, 500_000 * USDC);
        let side = self.fx.rt.list_market(mint, PythPrice::steady(USD, EXPO, now), config).await;
        let owner = self.borrowers[of].key.insecure_clone();
        let on_side = MarketTransfer {
            user_token: self.fx.rt.funded_token_account(&mint, &owner.pubkey(), amount).await,
            ..self.borrowers[of].on(&side)
        };
        self.fx.rt.send(&[ix::deposit(&on_side, amount)], &[&owner]).await.unwrap();
        (side, on_side)
    }

    async fn maint_health(&mut self, of: usize) -> i128 {
        let key = self.borrowers[of].margin_account;
        self.fx.rt.margin_account(&key).await.cached_maint_health.get()
    }

    async fn check_books(&mut self) {
        let (usdc, sol) = (self.fx.usdc, self.fx.sol);
        self.fx.assert_books(&usdc, SLACK).await;
        self.fx.assert_books(&sol, SLACK).await;
    }
}

#[tokio::test]
async fn a_crash_is_liquidated_step_by_step_until_healthy() {
    let mut c = crash_setup().await;
    // At $70 only the 600 USDC borrower is under maintenance; at $55 the 500 USDC
    // one is too, and the first is again. The 400 USDC borrower stays healthy.
    for (price, unhealthy) in [(70, vec![2]), (55, vec![1, 2])] {
        c.crash_to(price * USD).await;
        c.check_books().await;
        for healthy in (0..3).filter(|i| !unhealthy.contains(i)) {
            assert_error(c.liquidate(healthy, u64::MAX).await, BallastError::AccountHealthy);
        }
        for &of in &unhealthy {
            // A small step first: it leaves the account still liquidatable.
            c.liquidate(of, 5 * USDC).await.unwrap();
            c.check_books().await;
            assert!(c.maint_health(of).await < 0, "still unhealthy after a 5 USDC step");
            // Then one uncapped call repays just enough to restore initial health.
            let usdc_before = c.fx.rt.token_balance(&c.keeper.usdc).await;
            let sol_before = c.fx.rt.token_balance(&c.keeper.sol).await;
            let fund_before = c.fx.rt.market(&c.fx.usdc.key).await.insurance_fund;
            c.liquidate(of, u64::MAX).await.unwrap();
            c.check_books().await;
            let paid = usdc_before - c.fx.rt.token_balance(&c.keeper.usdc).await;
            let fee = c.fx.rt.market(&c.fx.usdc.key).await.insurance_fund - fund_before;
            let repaid = paid - fee;
            assert!(repaid > 0 && repaid < 500 * USDC, "partial repayment, got {repaid}");
            assert_eq!(fee, repaid.div_ceil(100), "the 1% fee is paid in USDC on top");
            // The keeper receives the repaid value plus the 5% bonus and the 1% fee, at
            // the oracle price (rounded down).
            let seized = c.fx.rt.token_balance(&c.keeper.sol).await - sol_before;
            let seized_micro_usd = u128::from(seized) * price as u128 / 1_000;
            let expected = u128::from(repaid) * 106 / 100;
            assert!(seized_micro_usd.abs_diff(expected) <= 1, "seized {seized} lamports for {repaid}");
            let account = c.fx.rt.margin_account(&c.borrowers[of].margin_account).await;
            let init = account.cached_init_health.get();
            assert!((0..10_i128.pow(16)).contains(&init), "init health restored to ~0 (< 1 cent), got {init}");
            assert!(account.cached_maint_health.get() > 0);
            assert_error(c.liquidate(of, u64::MAX).await, BallastError::AccountHealthy);
        }
    }
    let usdc_market = c.fx.rt.market(&c.fx.usdc.key).await;
    assert!(usdc_market.insurance_fund > 0, "insurance fee collected in the liability's market");
}

#[tokio::test]
async fn liquidation_accepts_prices_too_stale_to_borrow_against() {
    let mut c = crash_setup().await;
    c.crash_to(70 * USD).await;
    c.fx.rt.advance(300); // 5 minutes: too old to borrow (60 s), fine to liquidate (600 s)
    c.liquidate(2, u64::MAX).await.unwrap();
    c.fx.rt.advance(301); // now 601 s old: too old even to liquidate
    assert_error(c.liquidate(1, u64::MAX).await, BallastError::OracleStale);
}

/// The USDC fund is fed by liquidations of USDC debt (the fee is paid in the liability's
/// token into its own market's fund), so it is there when USDC debt goes bad; the
/// liquidation that takes an account's last collateral writes the rest of its debt off
/// at once, so depositors cannot run between the two.
#[tokio::test]
async fn deep_crash_bad_debt_is_written_off_by_the_last_liquidation_insurance_first() {
    let mut c = crash_setup().await;
    let usdc = c.fx.usdc;
    // At $55 the 500 USDC borrower is liquidated back to health: its fee goes to the USDC fund.
    c.crash_to(55 * USD).await;
    c.liquidate(1, u64::MAX).await.unwrap();
    let insurance = c.fx.rt.market(&usdc.key).await.insurance_fund;
    assert!(insurance > 0, "a USDC debt's liquidation feeds the USDC fund");
    assert_eq!(c.fx.rt.market(&c.fx.sol.key).await.insurance_fund, 0);

    // SOL to $40: the 600 USDC borrower's 10 SOL ($400) cannot cover the debt.
    c.crash_to(40 * USD).await;
    let b = c.borrowers[2].margin_account;
    let health = c.fx.rt.health_accounts(&b, BalanceChange::None).await;
    let resolve = ix::resolve_bad_debt(b, usdc.key, &health);
    assert_error(c.fx.rt.send(&[resolve], &[]).await, BallastError::AccountHasCollateral);
    let before = c.fx.rt.market(&usdc.key).await;
    let debt = {
        let owed =
            c.fx.rt
                .margin_account(&b)
                .await
                .active_balances()
                .find(|x| x.market_index == usdc.index)
                .unwrap()
                .borrow_shares
                .get();
        ballast_risk::shares::debt_amount(owed, before.accrual_at(c.fx.rt.now).unwrap().borrow_index).unwrap()
    };
    let paid_before = c.fx.rt.token_balance(&c.keeper.usdc).await;
    c.liquidate(2, u64::MAX).await.unwrap();
    c.check_books().await;
    // All collateral seized and the rest of the debt written off in the same instruction.
    assert!(c.fx.rt.margin_account(&b).await.is_empty());
    let after = c.fx.rt.market(&usdc.key).await;
    let paid = u128::from(paid_before - c.fx.rt.token_balance(&c.keeper.usdc).await);
    assert_eq!(after.insurance_fund, 0, "insurance pays first");
    assert!(after.deposit_index.get() < before.deposit_index.get(), "the rest is socialised");
    let lost = ballast_risk::shares::deposit_amount(before.total_deposit_shares.get(), before.deposit_index.get())
        .unwrap()
        - ballast_risk::shares::deposit_amount(after.total_deposit_shares.get(), after.deposit_index.get()).unwrap();
    // The keeper paid repayment + fee; the fund (the earlier fee and this one) covered
    // the rest of the debt as far as it went.
    let socialized = debt - paid - u128::from(insurance);
    assert!(lost >= socialized - 2 && lost <= socialized + 2, "depositors lost {lost} for {socialized}");
    // Nothing left to resolve.
    assert_error(c.fx.rt.send(&[ix::resolve_bad_debt(b, usdc.key, &[])], &[]).await, BallastError::LiabilityNotHeld);
    let _ = &c.lender;
}

/// Dust, a few base units the owner sends after the last liquidation or leaves in a side
/// market, never blocks the write-off: the liquidation writes off an account with no
/// deposit left, and `resolve_bad_debt` sweeps deposits worth less than the dust
/// threshold into their markets' insurance funds.
#[tokio::test]
async fn dust_never_blocks_the_write_off_of_bad_debt() {
    let mut c = crash_setup().await;
    let (usdc, sol) = (c.fx.usdc, c.fx.sol);
    // Borrower 2 keeps two base units ($0.000002) in a side market; borrower 1 does not.
    let (side, _) = c.side_deposit(2, 2).await;
    c.crash_to(40 * USD).await;
    let set_price = |c: &mut Crash| {
        let now = c.fx.rt.now;
        c.fx.rt.set_price(&side.oracle, &PythPrice::steady(USD, EXPO, now));
    };

    // Borrower 1: the liquidation takes its last SOL and writes its debt off; two
    // lamports sent afterwards are the owner's to keep, with no debt attached.
    c.liquidate(1, u64::MAX).await.unwrap();
    let b1 = c.borrowers[1].key.insecure_clone();
    c.fx.rt.mint_to(&sol.mint, &c.borrowers[1].sol, 2).await;
    c.fx.rt.send(&[ix::deposit(&c.borrowers[1].on(&sol), 2)], &[&b1]).await.unwrap();
    let account = c.fx.rt.margin_account(&c.borrowers[1].margin_account).await;
    assert!(account.active_balances().all(|x| x.borrow_shares.get() == 0), "no debt left behind");

    // Borrower 2: its SOL is taken, the side dust keeps the debt on the books ...
    c.liquidate(2, u64::MAX).await.unwrap();
    let b = c.borrowers[2].margin_account;
    assert_error(c.liquidate(2, u64::MAX).await, BallastError::AssetNotHeld);
    // ... until resolve_bad_debt sweeps the dust. The side market must be writable.
    set_price(&mut c);
    let health = c.fx.rt.health_accounts(&b, BalanceChange::None).await;
    let mut read_only = ix::resolve_bad_debt(b, usdc.key, &health);
    read_only.accounts.iter_mut().filter(|m| m.pubkey == side.key).for_each(|m| m.is_writable = false);
    assert_error(c.fx.rt.send(&[read_only], &[]).await, BallastError::MarketNotWritable);
    let side_before = c.fx.rt.market(&side.key).await;
    c.fx.rt.send(&[ix::resolve_bad_debt(b, usdc.key, &health)], &[]).await.unwrap();
    assert!(c.fx.rt.margin_account(&b).await.is_empty());
    let side_after = c.fx.rt.market(&side.key).await;
    assert_eq!(side_after.insurance_fund, side_before.insurance_fund + 2, "the dust backs the side fund");
    assert_eq!(side_after.total_deposit_shares.get(), side_before.total_deposit_shares.get() - 2);
    c.check_books().await;
    c.fx.assert_books(&side, SLACK).await;
}

#[tokio::test]
async fn resolve_bad_debt_refuses_collateral_worth_a_liquidation() {
    let mut c = crash_setup().await;
    let usdc = c.fx.usdc;
    // $5 in the side market: worth a liquidation, not dust.
    let (side, _) = c.side_deposit(2, 5 * USDC).await;
    c.crash_to(40 * USD).await;
    c.fx.rt.set_price(&side.oracle, &PythPrice::steady(USD, EXPO, c.fx.rt.now));
    c.liquidate(2, u64::MAX).await.unwrap();
    let b = c.borrowers[2].margin_account;
    let health = c.fx.rt.health_accounts(&b, BalanceChange::None).await;
    let result = c.fx.rt.send(&[ix::resolve_bad_debt(b, usdc.key, &health)], &[]).await;
    assert_error(result, BallastError::AccountHasCollateral);
    // A dead side feed does not make the deposit sweepable either.
    c.fx.rt.advance(700);
    c.crash_to(40 * USD).await;
    let result = c.fx.rt.send(&[ix::resolve_bad_debt(b, usdc.key, &health)], &[]).await;
    assert_error(result, BallastError::OracleStale);
}

/// A collateral market lent out to its last token during a crash cannot pay a
/// liquidator in tokens; the liquidator takes the collateral as a deposit instead.
#[tokio::test]
async fn a_fully_borrowed_collateral_market_is_liquidated_into_the_liquidators_account() {
    let mut c = crash_setup().await;
    let (usdc, sol) = (c.fx.usdc, c.fx.sol);
    // A short borrows every SOL the vault holds.
    let short = c.fx.trader(20_000 * USDC, 0).await;
    c.fx.rt.send(&[ix::deposit(&short.on(&usdc), 20_000 * USDC)], &[&short.key]).await.unwrap();
    let vault_sol = c.fx.rt.token_balance(&sol.vault).await;
    let health = c.fx.rt.health_accounts(&short.margin_account, BalanceChange::Opens(sol.key)).await;
    c.fx.rt.send(&[ix::borrow(&short.on(&sol), vault_sol, &health)], &[&short.key]).await.unwrap();
    c.crash_to(70 * USD).await;
    assert_error(c.liquidate(2, u64::MAX).await, BallastError::InsufficientLiquidity);

    let keeper = c.keeper.key.insecure_clone();
    let l = c.liquidation(&c.borrowers[2]);
    let victim = c.fx.rt.health_accounts(&l.liquidatee, BalanceChange::None).await;
    let own = c.fx.rt.health_accounts(&c.keeper.margin_account, BalanceChange::Opens(sol.key)).await;
    // Exactly one payout; only into the liquidator's own account.
    let mut both = ix::liquidate_into_account(&l, c.keeper.margin_account, u64::MAX, &victim, &own);
    both.accounts[8] = anchor_lang::solana_program::instruction::AccountMeta::new(c.keeper.sol, false);
    assert_error(c.fx.rt.send(&[both], &[&keeper]).await, BallastError::InvalidLiquidationPayout);
    let other = ix::liquidate_into_account(&l, c.borrowers[0].margin_account, u64::MAX, &victim, &own);
    assert_error(c.fx.rt.send(&[other], &[&keeper]).await, BallastError::NotAccountOwner);
    let missing = ix::liquidate_into_account(&l, c.keeper.margin_account, u64::MAX, &victim, &[]);
    assert_error(c.fx.rt.send(&[missing], &[&keeper]).await, BallastError::HealthAccountsMismatch);

    let before = c.fx.rt.market(&sol.key).await;
    let ix = ix::liquidate_into_account(&l, c.keeper.margin_account, u64::MAX, &victim, &own);
    c.fx.rt.send(&[ix], &[&keeper]).await.unwrap();
    c.check_books().await;
    let after = c.fx.rt.market(&sol.key).await;
    let taken = c.fx.rt.margin_account(&l.liquidatee).await;
    let lost = before.total_deposit_shares.get() - after.total_deposit_shares.get();
    let held = c.fx.rt.margin_account(&c.keeper.margin_account).await;
    let credited = held.active_balances().find(|x| x.market_index == sol.index).unwrap().deposit_shares.get();
    assert!(credited > 0 && lost <= 1, "shares move between accounts: {credited} credited, {lost} lost");
    assert!(held.cached_init_health.get() > 0);
    assert!(taken.cached_init_health.get() >= 0, "the account is back to health");
    assert_eq!(c.fx.rt.token_balance(&sol.vault).await, 0, "no cash was needed");
}

#[tokio::test]
async fn liquidation_rejections_name_their_reason() {
    let mut c = crash_setup().await;
    let (usdc, sol) = (c.fx.usdc, c.fx.sol);
    // Healthy account.
    assert_error(c.liquidate(2, u64::MAX).await, BallastError::AccountHealthy);
    c.crash_to(70 * USD).await;
    let victim = c.borrowers[2].margin_account;
    let base = c.liquidation(&c.borrowers[2]);
    let health = c.fx.rt.health_accounts(&victim, BalanceChange::None).await;
    let keeper = c.keeper.key.insecure_clone();
    let owner = c.borrowers[2].key.insecure_clone();

    // Self-liquidation: the owner liquidates its own account.
    let owner_usdc = c.fx.rt.funded_token_account(&usdc.mint, &owner.pubkey(), 1_000 * USDC).await;
    let own = Liquidation {
        liquidator: owner.pubkey(),
        liquidator_liability_token: owner_usdc,
        liquidator_asset_token: c.borrowers[2].sol,
        ..base
    };
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&own, u64::MAX, &health)], &[&owner]).await,
        BallastError::SelfLiquidation,
    );
    // Same market as liability and asset.
    let same = Liquidation { asset_market: usdc.key, liquidator_asset_token: c.keeper.usdc, ..base };
    let result = c.fx.rt.send(&[ix::liquidate(&same, u64::MAX, &health)], &[&keeper]).await;
    assert_error(result, AnchorError::ConstraintDuplicateMutableAccount);
    // A liability the account does not hold (it owes USDC, not SOL) and an asset it does not hold.
    let swapped = Liquidation {
        liability_market: sol.key,
        liquidator_liability_token: c.keeper.sol,
        asset_market: usdc.key,
        liquidator_asset_token: c.keeper.usdc,
        ..base
    };
    c.fx.rt.mint_to(&sol.mint, &c.keeper.sol, SOL).await;
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&swapped, u64::MAX, &health)], &[&keeper]).await,
        BallastError::LiabilityNotHeld,
    );
    // Missing and duplicated price accounts.
    let missing = ix::health_metas(&[(sol.key, sol.oracle)]);
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&base, u64::MAX, &missing)], &[&keeper]).await,
        BallastError::HealthAccountsMismatch,
    );
    let duplicated = ix::health_metas(&[(sol.key, sol.oracle), (sol.key, sol.oracle)]);
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&base, u64::MAX, &duplicated)], &[&keeper]).await,
        BallastError::HealthAccountsMismatch,
    );
    // An absurd price: non-positive.
    let now = c.fx.rt.now;
    c.fx.rt.set_price(&sol.oracle, &ballast_sim::pyth::PythPrice::steady(0, EXPO, now));
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&base, u64::MAX, &health)], &[&keeper]).await,
        BallastError::OracleNonPositive,
    );
    c.fx.refresh_prices(70 * USD).await;
    // Wrong mint for the liquidator's repayment account, and a substituted vault.
    let keeper_other_sol = c.fx.rt.create_token_account(&sol.mint, &keeper.pubkey()).await;
    let wrong_mint = Liquidation { liquidator_liability_token: keeper_other_sol, ..base };
    assert_error(
        c.fx.rt.send(&[ix::liquidate(&wrong_mint, u64::MAX, &health)], &[&keeper]).await,
        BallastError::WrongMint,
    );
    let mut substituted = ix::liquidate(&base, u64::MAX, &health);
    substituted.accounts[7].pubkey = keeper_other_sol; // asset vault -> the keeper's own account
    assert_error(c.fx.rt.send(&[substituted], &[&keeper]).await, BallastError::VaultMismatch);
    // Zero-size liquidation.
    assert_error(c.liquidate(2, 0).await, BallastError::NothingToLiquidate);
    // And the legitimate call passes.
    c.liquidate(2, u64::MAX).await.unwrap();
    c.check_books().await;
}

/// A borrower cannot opt out of liquidation by holding a base unit of an asset whose feed
/// died: in a liquidation's health check that deposit counts as worth nothing, and only
/// the repaid and seized markets need a usable price. Opening risk still needs them all.
#[tokio::test]
async fn a_dead_side_feed_never_shields_an_underwater_account() {
    let mut c = crash_setup().await;
    let (side, on_side) = c.side_deposit(2, 1).await;
    let b = c.borrowers[2].key.insecure_clone();

    // The side feed stops for 11 minutes (past even the liquidation age); SOL crashes
    // to $70 on fresh USDC and SOL feeds.
    c.fx.rt.advance(660);
    c.crash_to(70 * USD).await;
    let account = c.borrowers[2].margin_account;
    // The keeper's scan prices it as the program does: underwater, the side deposit at zero.
    assert!(maint_health(&mut c.fx.rt, &account).await.unwrap() < 0);
    // Risk-increasing actions still need every price.
    let usdc = c.fx.usdc;
    let health = c.fx.rt.health_accounts(&account, BalanceChange::None).await;
    let borrow = ix::borrow(&c.borrowers[2].on(&usdc), USDC, &health);
    assert_error(c.fx.rt.send(&[borrow], &[&b]).await, BallastError::OracleStale);
    // The dead market itself is neither seized nor repaid.
    let keeper_side = c.fx.rt.create_token_account(&side.mint, &c.keeper.key.pubkey()).await;
    let seize_side =
        Liquidation { asset_market: side.key, liquidator_asset_token: keeper_side, ..c.liquidation(&c.borrowers[2]) };
    let keeper = c.keeper.key.insecure_clone();
    let result = c.fx.rt.send(&[ix::liquidate(&seize_side, u64::MAX, &health)], &[&keeper]).await;
    assert_error(result, BallastError::OracleStale);

    // Liquidated against its SOL, back to health; the side deposit is untouched.
    c.liquidate(2, u64::MAX).await.unwrap();
    c.check_books().await;
    let after = c.fx.rt.margin_account(&account).await;
    assert!(after.cached_init_health.get() >= 0 && after.cached_maint_health.get() > 0);
    let side_balance = after.active_balances().find(|s| s.market_index == side.index);
    assert_eq!(side_balance.map(|s| s.deposit_shares.get()), Some(1));
    // As on Mango v4, a full withdrawal of the dead-feed deposit needs no price of it:
    // the rest of the account must stand on valid prices without it.
    let health = c.fx.rt.health_accounts(&account, BalanceChange::Closes(side.key)).await;
    c.fx.rt.send(&[ix::withdraw(&on_side, 0, true, &health)], &[&b]).await.unwrap();
    assert_eq!(c.fx.rt.token_balance(&on_side.user_token).await, 1);
}
