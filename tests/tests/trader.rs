//! create_margin_account, deposit, withdraw, borrow, repay, close_margin_account.

use anchor_lang::prelude::Pubkey;
use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{BalanceChange, MarketHandle};
use ballast_tests::*;
use solana_signer::Signer;

/// A lender with 1M USDC in the USDC market and a borrower holding 10 SOL ($1,000)
/// in the SOL market and 0 USDC.
async fn lender_and_borrower() -> (Fixture, Trader, Trader) {
    let mut fx = Fixture::new().await;
    let lender = fx.trader(1_000_000 * USDC, 0).await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    deposit(&mut fx, &lender, &usdc, 1_000_000 * USDC).await;
    let borrower = fx.trader(0, 10 * SOL).await;
    deposit(&mut fx, &borrower, &sol, 10 * SOL).await;
    (fx, lender, borrower)
}

async fn deposit(fx: &mut Fixture, t: &Trader, market: &MarketHandle, amount: u64) {
    fx.rt.send(&[ix::deposit(&t.on(market), amount)], &[&t.key]).await.unwrap();
}

async fn try_borrow(
    fx: &mut Fixture,
    t: &Trader,
    market: &MarketHandle,
    amount: u64,
) -> Result<(), solana_program_test::BanksClientError> {
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Opens(market.key)).await;
    fx.rt.send(&[ix::borrow(&t.on(market), amount, &health)], &[&t.key]).await
}

async fn try_withdraw(
    fx: &mut Fixture,
    t: &Trader,
    market: &MarketHandle,
    amount: u64,
) -> Result<(), solana_program_test::BanksClientError> {
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::None).await;
    fx.rt.send(&[ix::withdraw(&t.on(market), amount, false, &health)], &[&t.key]).await
}

#[tokio::test]
async fn create_margin_account_sets_owner_at_a_fixed_offset() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 0).await;
    let account = fx.rt.margin_account(&t.margin_account).await;
    assert_eq!(account.owner, t.key.pubkey());
    assert_eq!(account.protocol, ix::protocol_pda());
    assert!(account.is_empty());
    let raw = fx.rt.raw_account(&t.margin_account).await.unwrap();
    assert_eq!(raw.data.len(), ballast::MARGIN_ACCOUNT_SIZE);
    assert_eq!(&raw.data[8..40], t.key.pubkey().as_ref());
    // A second account with the same id is refused; another id is fine.
    assert_failed_at(fx.rt.send(&[ix::create_margin_account(t.key.pubkey(), 0)], &[&t.key]).await, 1);
    fx.rt.send(&[ix::create_margin_account(t.key.pubkey(), 1)], &[&t.key]).await.unwrap();
}

#[tokio::test]
async fn deposit_moves_tokens_and_credits_shares() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    deposit(&mut fx, &t, &sol, 2 * SOL).await;
    assert_eq!(fx.rt.token_balance(&t.sol).await, 3 * SOL);
    assert_eq!(fx.rt.token_balance(&sol.vault).await, 2 * SOL);
    let account = fx.rt.margin_account(&t.margin_account).await;
    let balance = account.active_balances().next().unwrap();
    assert_eq!(balance.market_index, sol.index);
    assert_eq!(balance.deposit_shares.get(), u128::from(2 * SOL));
    assert_eq!(fx.rt.market(&sol.key).await.total_deposit_shares.get(), u128::from(2 * SOL));
}

#[tokio::test]
async fn deposit_rejects_bad_amounts_and_caps() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    let send = |amount| ix::deposit(&t.on(&sol), amount);
    assert_error(fx.rt.send(&[send(0)], &[&t.key]).await, BallastError::ZeroAmount);
    assert_error(fx.rt.send(&[send(100_000 * SOL + 1)], &[&t.key]).await, BallastError::DepositCapExceeded);
    assert_error(fx.rt.send(&[send(u64::MAX)], &[&t.key]).await, BallastError::DepositCapExceeded);
    assert_error(fx.rt.send(&[send(u64::MAX - 1)], &[&t.key]).await, BallastError::DepositCapExceeded);
    assert_eq!(fx.rt.token_balance(&t.sol).await, 5 * SOL);
}

#[tokio::test]
async fn deposit_requires_the_owner_signature() {
    let mut fx = Fixture::new().await;
    let victim = fx.trader(0, 5 * SOL).await;
    let thief = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    // The thief signs as owner of the victim's margin account.
    let mut transfer = thief.on(&sol);
    transfer.margin_account = victim.margin_account;
    assert_error(fx.rt.send(&[ix::deposit(&transfer, SOL)], &[&thief.key]).await, BallastError::NotAccountOwner);
    // The victim's key named as owner but not signing.
    let mut ix = ix::deposit(&victim.on(&sol), SOL);
    ix.accounts[0].is_signer = false;
    assert_error(fx.rt.send(&[ix], &[]).await, AnchorError::AccountNotSigner);
}

#[tokio::test]
async fn deposit_rejects_wrong_mint_and_vault_substitution() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(1_000 * USDC, 5 * SOL).await;
    let (sol, usdc) = (fx.sol, fx.usdc);
    // USDC token account into the SOL market.
    let mut wrong_mint = t.on(&sol);
    wrong_mint.user_token = t.usdc;
    assert_error(fx.rt.send(&[ix::deposit(&wrong_mint, SOL)], &[&t.key]).await, BallastError::WrongMint);
    // The SOL market's instruction pointed at the attacker's own token account as vault.
    let attacker_vault = fx.rt.create_token_account(&sol.mint, &t.key.pubkey()).await;
    let mut ix = ix::deposit(&t.on(&sol), SOL);
    ix.accounts[5].pubkey = attacker_vault;
    assert_error(fx.rt.send(&[ix], &[&t.key]).await, BallastError::VaultMismatch);
    // Another market's vault.
    let mut ix = ix::deposit(&t.on(&sol), SOL);
    ix.accounts[5].pubkey = usdc.vault;
    assert_error(fx.rt.send(&[ix], &[&t.key]).await, BallastError::VaultMismatch);
}

#[tokio::test]
async fn forged_market_owned_by_another_program_is_refused() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    let forged = Pubkey::new_unique();
    let data = fx.rt.raw_account(&sol.key).await.unwrap().data;
    fx.rt.set_raw_account(&forged, Pubkey::new_unique(), data);
    let mut transfer = t.on(&sol);
    transfer.market = forged;
    let mut ix = ix::deposit(&transfer, SOL);
    ix.accounts[5].pubkey = sol.vault;
    assert_error(fx.rt.send(&[ix], &[&t.key]).await, AnchorError::AccountOwnedByWrongProgram);
}

#[tokio::test]
async fn withdraw_returns_tokens_and_withdraw_all_frees_the_slot() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    deposit(&mut fx, &t, &sol, 4 * SOL).await;
    try_withdraw(&mut fx, &t, &sol, SOL).await.unwrap();
    assert_eq!(fx.rt.token_balance(&t.sol).await, 2 * SOL);
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Closes(sol.key)).await;
    assert!(health.is_empty());
    fx.rt.send(&[ix::withdraw(&t.on(&sol), 0, true, &health)], &[&t.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&t.sol).await, 5 * SOL);
    assert!(fx.rt.margin_account(&t.margin_account).await.is_empty());
    assert_eq!(fx.rt.market(&sol.key).await.total_deposit_shares.get(), 0);
}

#[tokio::test]
async fn withdraw_rejects_more_than_deposited() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let sol = fx.sol;
    deposit(&mut fx, &t, &sol, 4 * SOL).await;
    assert_error(try_withdraw(&mut fx, &t, &sol, 4 * SOL + 1).await, BallastError::InsufficientDeposit);
    assert_error(try_withdraw(&mut fx, &t, &sol, u64::MAX).await, BallastError::InsufficientDeposit);
    assert_error(try_withdraw(&mut fx, &t, &sol, 0).await, BallastError::ZeroAmount);
    let usdc = fx.usdc;
    assert_error(try_withdraw(&mut fx, &t, &usdc, 1).await, BallastError::PositionNotFound);
}

#[tokio::test]
async fn borrow_against_collateral_within_initial_health() {
    let (mut fx, _lender, b) = lender_and_borrower().await;
    let usdc = fx.usdc;
    // $1,000 of SOL at 80% = $800 of init assets; $500 at 120% = $600 of init liabilities.
    try_borrow(&mut fx, &b, &usdc, 500 * USDC).await.unwrap();
    assert_eq!(fx.rt.token_balance(&b.usdc).await, 500 * USDC);
    let account = fx.rt.margin_account(&b.margin_account).await;
    let debt = account.balances.iter().find(|x| x.active != 0 && x.market_index == usdc.index).unwrap();
    assert_eq!(debt.borrow_shares.get(), u128::from(500 * USDC));
    // Cached health: (1000 - 0.1% conf) * 0.8 - (500 + 0.1% conf) * 1.2, in WAD dollars.
    let wad = ballast_risk::WAD as i128;
    let expected = 999 * wad * 8 / 10 - (500 * wad + wad / 2) * 12 / 10;
    assert_eq!(account.cached_init_health.get(), expected);
    assert_eq!(fx.rt.market(&usdc.key).await.total_borrow_shares.get(), u128::from(500 * USDC));
}

#[tokio::test]
async fn borrow_beyond_initial_health_is_refused() {
    let (mut fx, _lender, b) = lender_and_borrower().await;
    let usdc = fx.usdc;
    // 700 * 1.2 = 840 > 799.2 of init assets.
    assert_error(try_borrow(&mut fx, &b, &usdc, 700 * USDC).await, BallastError::BelowInitialHealth);
    assert_eq!(fx.rt.token_balance(&b.usdc).await, 0);
    assert_eq!(fx.rt.market(&usdc.key).await.total_borrow_shares.get(), 0);
}

#[tokio::test]
async fn withdraw_beyond_initial_health_is_refused() {
    let (mut fx, _lender, b) = lender_and_borrower().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    try_borrow(&mut fx, &b, &usdc, 500 * USDC).await.unwrap();
    // 7 SOL * $99.9 * 0.8 = 559 < 600.6 of init liabilities.
    assert_error(try_withdraw(&mut fx, &b, &sol, 3 * SOL).await, BallastError::BelowInitialHealth);
    try_withdraw(&mut fx, &b, &sol, SOL / 10).await.unwrap();
}

#[tokio::test]
async fn borrow_rejects_caps_liquidity_and_huge_amounts() {
    let mut fx = Fixture::new().await;
    let lender = fx.trader(1_000 * USDC, 0).await;
    let usdc = fx.usdc;
    deposit(&mut fx, &lender, &usdc, 1_000 * USDC).await;
    let rich = fx.trader(0, 100_000 * SOL).await;
    let sol = fx.sol;
    deposit(&mut fx, &rich, &sol, 100_000 * SOL).await;
    assert_error(try_borrow(&mut fx, &rich, &usdc, 8_000_000 * USDC + 1).await, BallastError::BorrowCapExceeded);
    assert_error(try_borrow(&mut fx, &rich, &usdc, u64::MAX).await, BallastError::BorrowCapExceeded);
    assert_error(try_borrow(&mut fx, &rich, &usdc, 1_000 * USDC + 1).await, BallastError::InsufficientLiquidity);
    assert_error(try_borrow(&mut fx, &rich, &usdc, 0).await, BallastError::ZeroAmount);
    try_borrow(&mut fx, &rich, &usdc, 1_000 * USDC).await.unwrap();
}

#[tokio::test]
async fn borrow_from_another_users_account_is_refused() {
    let (mut fx, lender, b) = lender_and_borrower().await;
    let usdc = fx.usdc;
    let mut transfer = lender.on(&usdc);
    transfer.margin_account = b.margin_account;
    let health = fx.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
    let result = fx.rt.send(&[ix::borrow(&transfer, 100 * USDC, &health)], &[&lender.key]).await;
    assert_error(result, BallastError::NotAccountOwner);
}

#[tokio::test]
async fn a_balance_is_a_deposit_or_a_borrow_never_both() {
    let (mut fx, lender, b) = lender_and_borrower().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    assert_error(try_borrow(&mut fx, &lender, &usdc, USDC).await, BallastError::MixedPosition);
    try_borrow(&mut fx, &b, &usdc, 100 * USDC).await.unwrap();
    let result = fx.rt.send(&[ix::deposit(&b.on(&usdc), 50 * USDC)], &[&b.key]).await;
    assert_error(result, BallastError::MixedPosition);
    // A SOL borrow against SOL collateral is refused the same way.
    assert_error(try_borrow(&mut fx, &b, &sol, SOL).await, BallastError::MixedPosition);
}

#[tokio::test]
async fn repay_part_then_all_clears_the_debt() {
    let (mut fx, _lender, b) = lender_and_borrower().await;
    let usdc = fx.usdc;
    try_borrow(&mut fx, &b, &usdc, 500 * USDC).await.unwrap();
    fx.rt.send(&[ix::repay(&b.on(&usdc), 200 * USDC, false)], &[&b.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&b.usdc).await, 300 * USDC);
    assert_error(
        fx.rt.send(&[ix::repay(&b.on(&usdc), 300 * USDC + 1, false)], &[&b.key]).await,
        BallastError::RepayExceedsDebt,
    );
    assert_error(
        fx.rt.send(&[ix::repay(&b.on(&usdc), u64::MAX, false)], &[&b.key]).await,
        BallastError::RepayExceedsDebt,
    );
    fx.rt.send(&[ix::repay(&b.on(&usdc), 0, true)], &[&b.key]).await.unwrap();
    assert_eq!(fx.rt.token_balance(&b.usdc).await, 0);
    let account = fx.rt.margin_account(&b.margin_account).await;
    assert_eq!(account.active_balances().count(), 1, "only the SOL deposit remains");
    assert_eq!(fx.rt.market(&usdc.key).await.total_borrow_shares.get(), 0);
    assert_error(fx.rt.send(&[ix::repay(&b.on(&usdc), 1, false)], &[&b.key]).await, BallastError::PositionNotFound);
}

#[tokio::test]
async fn interest_makes_debt_grow_and_repay_all_pays_it() {
    let (mut fx, lender, b) = lender_and_borrower().await;
    let usdc = fx.usdc;
    try_borrow(&mut fx, &b, &usdc, 500 * USDC).await.unwrap();
    fx.run_hourly(7 * 24 * 3_600).await;
    fx.rt.mint_to(&usdc.mint, &b.usdc, 100 * USDC).await;
    fx.rt.send(&[ix::repay(&b.on(&usdc), 0, true)], &[&b.key]).await.unwrap();
    let interest = 100 * USDC - fx.rt.token_balance(&b.usdc).await;
    // Utilisation 0.05% -> rate ~1.006% APR on 500 USDC for 7 days: about 0.0965 USDC.
    assert!(interest > 95_000 && interest < 98_000, "paid {interest} of interest");
    let market = fx.rt.market(&usdc.key).await;
    assert!(market.accrued_protocol_fees > 0);
    // The vault holds every token owed to depositors plus the fee pool.
    let vault = fx.rt.token_balance(&usdc.vault).await;
    let owed =
        ballast_risk::shares::deposit_amount(market.total_deposit_shares.get(), market.deposit_index.get()).unwrap();
    assert!(u128::from(vault) >= owed + u128::from(market.accrued_protocol_fees));
    // The lender gets back more than deposited.
    let health = fx.rt.health_accounts(&lender.margin_account, BalanceChange::Closes(usdc.key)).await;
    fx.rt.send(&[ix::withdraw(&lender.on(&usdc), 0, true, &health)], &[&lender.key]).await.unwrap();
    assert!(fx.rt.token_balance(&lender.usdc).await > 1_000_000 * USDC);
}

#[tokio::test]
async fn close_margin_account_only_when_empty_and_by_its_owner() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 5 * SOL).await;
    let other = fx.trader(0, 0).await;
    let sol = fx.sol;
    deposit(&mut fx, &t, &sol, SOL).await;
    let close = ix::close_margin_account(t.key.pubkey(), t.margin_account);
    assert_error(fx.rt.send(std::slice::from_ref(&close), &[&t.key]).await, BallastError::AccountNotEmpty);
    let steal = ix::close_margin_account(other.key.pubkey(), t.margin_account);
    assert_error(fx.rt.send(&[steal], &[&other.key]).await, BallastError::NotAccountOwner);
    fx.rt.send(&[ix::withdraw(&t.on(&sol), 0, true, &[])], &[&t.key]).await.unwrap();
    let before = fx.rt.raw_account(&t.key.pubkey()).await.unwrap().lamports;
    fx.rt.send(&[close], &[&t.key]).await.unwrap();
    assert!(fx.rt.raw_account(&t.margin_account).await.is_none());
    assert!(fx.rt.raw_account(&t.key.pubkey()).await.unwrap().lamports > before);
}

#[tokio::test]
async fn too_many_positions_is_a_named_error() {
    let mut fx = Fixture::new().await;
    let t = fx.trader(0, 0).await;
    // Fill all 8 slots with deposits in 8 new markets, then try a 9th.
    let mut markets = Vec::new();
    for _ in 0..9 {
        let mint = fx.rt.create_mint(6).await;
        let price = PythPrice::steady(USD, EXPO, fx.rt.now);
        markets.push(
            fx.rt.list_market(mint, price, ballast_sim::runtime::standard_config(1_000 * USDC, 500 * USDC)).await,
        );
    }
    for (i, m) in markets.iter().enumerate() {
        let token = fx.rt.funded_token_account(&m.mint, &t.key.pubkey(), USDC).await;
        let transfer = ix::MarketTransfer {
            owner: t.key.pubkey(),
            margin_account: t.margin_account,
            market: m.key,
            user_token: token,
        };
        let result = fx.rt.send(&[ix::deposit(&transfer, USDC)], &[&t.key]).await;
        if i < ballast::MAX_BALANCES {
            result.unwrap();
        } else {
            assert_error(result, BallastError::TooManyPositions);
        }
    }
}

/// The health accounts the client builds (`ballast_client::health_accounts`, which the
/// runtime's `health_accounts` calls) follow the program's slot rule: a balance opened
/// after one was freed takes the freed slot, between the others, and the borrow passes.
#[tokio::test]
async fn a_new_balance_takes_the_first_free_slot_as_the_client_predicts() {
    let mut fx = Fixture::new().await;
    let (usdc, sol) = (fx.usdc, fx.sol);
    let sol_lender = fx.trader(0, 100 * SOL).await;
    fx.rt.send(&[ix::deposit(&sol_lender.on(&sol), 100 * SOL)], &[&sol_lender.key]).await.unwrap();
    let side_mint = fx.rt.create_mint(6).await;
    let side_price = PythPrice::steady(USD, EXPO, fx.rt.now);
    let side =
        fx.rt.list_market(side_mint, side_price, ballast_sim::runtime::standard_config(1_000_000 * USDC, 1)).await;
    // Slots: USDC 0, SOL 1, side 2.
    let t = fx.trader(10_000 * USDC, SOL).await;
    let on_side = ix::MarketTransfer {
        user_token: fx.rt.funded_token_account(&side_mint, &t.key.pubkey(), USDC).await,
        ..t.on(&side)
    };
    fx.rt
        .send(
            &[ix::deposit(&t.on(&usdc), 10_000 * USDC), ix::deposit(&t.on(&sol), SOL), ix::deposit(&on_side, USDC)],
            &[&t.key],
        )
        .await
        .unwrap();
    // Withdrawing all SOL frees slot 1; borrowing SOL opens it there again.
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Closes(sol.key)).await;
    fx.rt.send(&[ix::withdraw(&t.on(&sol), 0, true, &health)], &[&t.key]).await.unwrap();
    let health = fx.rt.health_accounts(&t.margin_account, BalanceChange::Opens(sol.key)).await;
    assert_eq!(health.iter().step_by(2).map(|m| m.pubkey).collect::<Vec<_>>(), [usdc.key, sol.key, side.key]);
    fx.rt.send(&[ix::borrow(&t.on(&sol), SOL, &health)], &[&t.key]).await.unwrap();
    let account = fx.rt.margin_account(&t.margin_account).await;
    let slots: Vec<u16> = account.active_balances().map(|b| b.market_index).collect();
    assert_eq!(slots, [usdc.index, sol.index, side.index]);
}
