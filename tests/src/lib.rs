//! Shared fixtures for the integration tests: a protocol with two markets and funded
//! traders, on the embedded runtime from `ballast-sim`.

pub mod attack;

use anchor_lang::prelude::Pubkey;
use ballast::{MarketConfig, OracleKind};
use ballast_sim::ix::{self, MarketTransfer};
pub use ballast_sim::keeper::BuybackKeeper;
use ballast_sim::pyth::PythPrice;
pub use ballast_sim::runtime::NATIVE_PRICE;
use ballast_sim::runtime::{standard_config, BalanceChange, MarketHandle, Runtime, GENESIS_TIME};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

pub use anchor_lang::error::ErrorCode as AnchorError;
pub use ballast::errors::BallastError;
pub use solana_instruction_error::InstructionError;

/// $1.00 with Pyth's usual exponent.
pub const USD: i64 = 100_000_000;
pub const EXPO: i32 = -8;
/// 1 USDC (6 decimals) and 1 SOL (9 decimals) in base units.
pub const USDC: u64 = 1_000_000;
pub const SOL: u64 = 1_000_000_000;
pub const SOL_PRICE: i64 = 100 * USD;

/// Asserts that `result` failed in the Ballast instruction with `code` (an Anchor or
/// Ballast error, or any raw custom code).
pub fn assert_error(result: Result<(), BanksClientError>, code: impl Into<u32>) {
    let code = code.into();
    match result {
        Ok(()) => panic!("expected error {code}, transaction succeeded"),
        Err(e) => match e.unwrap() {
            // Instruction 0 is the compute-budget nonce; Ballast's is at 1 or later.
            TransactionError::InstructionError(_, InstructionError::Custom(c)) => {
                assert_eq!(c, code, "expected custom error {code}, got {c}")
            }
            other => panic!("expected custom error {code}, got {other:?}"),
        },
    }
}

/// Asserts that `result` failed in the instruction at `index` (0 is the compute-budget
/// nonce the runtime adds), whatever the error. For failures raised by the runtime
/// itself, whose code differs between the native host build and SBF.
pub fn assert_failed_at(result: Result<(), BanksClientError>, index: u8) {
    match result.expect_err("transaction should fail").unwrap() {
        TransactionError::InstructionError(i, _) => assert_eq!(i, index),
        other => panic!("expected an instruction error, got {other:?}"),
    }
}

/// A trader with a margin account and token accounts for both fixture markets.
/// A staker: native tokens in a wallet, and empty USDC / SOL accounts to receive
/// market rewards.
pub struct StakerHandle {
    pub key: Keypair,
    pub ix: ix::Staker,
    pub usdc: Pubkey,
    pub sol: Pubkey,
}

impl StakerHandle {
    pub fn native(&self) -> Pubkey {
        self.ix.owner_native
    }
}

pub struct Trader {
    pub key: Keypair,
    pub margin_account: Pubkey,
    pub usdc: Pubkey,
    pub sol: Pubkey,
}

impl Trader {
    pub fn on(&self, market: &MarketHandle) -> MarketTransfer {
        let user_token = if market.decimals == 6 { self.usdc } else { self.sol };
        MarketTransfer { owner: self.key.pubkey(), margin_account: self.margin_account, market: market.key, user_token }
    }
}

/// A protocol with no market yet, and a 9-decimal mint with a Pyth feed at $100 to list.
pub struct Listing {
    pub rt: Runtime,
    pub mint: Pubkey,
    pub oracle: Pubkey,
}

pub async fn listing() -> Listing {
    let mut rt = Runtime::start().await;
    rt.initialize_protocol(6).await;
    let mint = rt.create_mint(9).await;
    let oracle = rt.new_feed(&PythPrice::steady(SOL_PRICE, EXPO, GENESIS_TIME));
    Listing { rt, mint, oracle }
}

/// A protocol with a USDC market ($1) and a SOL market ($100), both capped at 10M units.
pub struct Fixture {
    pub rt: Runtime,
    pub native_mint: Pubkey,
    pub usdc: MarketHandle,
    pub sol: MarketHandle,
}

impl Fixture {
    /// Markets listed with `standard_config` (no effective outflow limit).
    pub async fn new() -> Fixture {
        Fixture::with_configs(ballast::ProtocolConfig::standard(), standard_config).await
    }

    /// The standard markets under the protocol config `config`.
    pub async fn with_config(config: ballast::ProtocolConfig) -> Fixture {
        Fixture::with_configs(config, standard_config).await
    }

    /// Markets listed with `MarketConfig::conservative`: every breaker at its standard
    /// setting (a 25% outflow limit per 6 hours, small outflows up to 100 USDC / 1 SOL).
    pub async fn with_standard_breakers() -> Fixture {
        Fixture::with_configs(ballast::ProtocolConfig::standard(), MarketConfig::conservative).await
    }

    /// The standard fixture with every feed of `kind` (PriceUpdateV2 push feeds by default).
    pub async fn with_oracle_kind(kind: OracleKind) -> Fixture {
        Fixture::build(kind, ballast::ProtocolConfig::standard(), standard_config).await
    }

    /// The protocol under `protocol`, markets listed with `market(deposit_cap, borrow_cap)`.
    pub async fn with_configs(protocol: ballast::ProtocolConfig, market: impl Fn(u64, u64) -> MarketConfig) -> Fixture {
        Fixture::build(OracleKind::PythPriceUpdateV2, protocol, market).await
    }

    async fn build(
        kind: OracleKind,
        protocol: ballast::ProtocolConfig,
        market: impl Fn(u64, u64) -> MarketConfig,
    ) -> Fixture {
        let mut rt = Runtime::start().await;
        rt.oracle_kind = kind;
        let native_mint = rt.initialize_protocol_with(6, protocol).await;
        let usdc_mint = rt.create_mint(6).await;
        let sol_mint = rt.create_mint(9).await;
        let usdc = rt
            .list_market(
                usdc_mint,
                PythPrice::steady(USD, EXPO, GENESIS_TIME),
                market(10_000_000 * USDC, 8_000_000 * USDC),
            )
            .await;
        let sol = rt
            .list_market(
                sol_mint,
                PythPrice::steady(SOL_PRICE, EXPO, GENESIS_TIME),
                market(100_000 * SOL, 80_000 * SOL),
            )
            .await;
        Fixture { rt, native_mint, usdc, sol }
    }

    /// Asserts that `result` failed in the instruction at `index` (0 is the compute-budget
    /// nonce the runtime adds), whatever the error. For failures raised by the runtime
    /// itself, whose code differs between the native host build and SBF.
    pub fn assert_failed_at(result: Result<(), BanksClientError>, index: u8) {
        match result.expect_err("transaction should fail").unwrap() {
            TransactionError::InstructionError(i, _) => assert_eq!(i, index),
            other => panic!("expected an instruction error, got {other:?}"),
        }
    }

    /// A trader with a margin account (id 0) and `usdc` / `sol` base units in wallet.
    pub async fn trader(&mut self, usdc: u64, sol: u64) -> Trader {
        let key = self.rt.new_user().await;
        let usdc_account = self.rt.funded_token_account(&self.usdc.mint, &key.pubkey(), usdc).await;
        let sol_account = self.rt.funded_token_account(&self.sol.mint, &key.pubkey(), sol).await;
        self.rt.send(&[ix::create_margin_account(key.pubkey(), 0)], &[&key]).await.unwrap();
        let margin_account = ix::margin_account_pda(&key.pubkey(), 0);
        Trader { key, margin_account, usdc: usdc_account, sol: sol_account }
    }

    /// A new staker holding `native` base units of the native token.
    pub async fn staker(&mut self, native: u64) -> StakerHandle {
        let key = self.rt.new_user().await;
        let owner = key.pubkey();
        let owner_native = self.rt.funded_token_account(&self.native_mint, &owner, native).await;
        let usdc = self.rt.create_token_account(&self.usdc.mint, &owner).await;
        let sol = self.rt.create_token_account(&self.sol.mint, &owner).await;
        StakerHandle { ix: ix::Staker { owner, native_mint: self.native_mint, owner_native }, key, usdc, sol }
    }

    /// A buyback keeper on the USDC market holding `native` base units of the native token.
    pub async fn buyback_keeper(&mut self, native: u64) -> BuybackKeeper {
        let usdc = self.usdc;
        BuybackKeeper::new(&mut self.rt, &usdc, native).await
    }

    /// `keeper` repaying `liquidatee`'s USDC debt and seizing its SOL, with its own token
    /// accounts.
    pub fn liquidation_of_usdc_debt(&self, keeper: &Trader, liquidatee: Pubkey) -> ix::Liquidation {
        ix::Liquidation {
            liquidator: keeper.key.pubkey(),
            liquidatee,
            liability_market: self.usdc.key,
            liquidator_liability_token: keeper.usdc,
            asset_market: self.sol.key,
            liquidator_asset_token: keeper.sol,
        }
    }

    /// A lender depositing `lent` USDC and a borrower depositing `collateral` SOL and
    /// borrowing `borrowed` USDC against it.
    pub async fn lender_and_borrower(&mut self, lent: u64, collateral: u64, borrowed: u64) -> (Trader, Trader) {
        let (usdc, sol) = (self.usdc, self.sol);
        let lender = self.trader(lent, 0).await;
        self.rt.send(&[ix::deposit(&lender.on(&usdc), lent)], &[&lender.key]).await.unwrap();
        let b = self.trader(0, collateral).await;
        self.rt.send(&[ix::deposit(&b.on(&sol), collateral)], &[&b.key]).await.unwrap();
        let health = self.rt.health_accounts(&b.margin_account, BalanceChange::Opens(usdc.key)).await;
        self.rt.send(&[ix::borrow(&b.on(&usdc), borrowed, &health)], &[&b.key]).await.unwrap();
        (lender, b)
    }

    /// A lender deposits 1,000,000 USDC and a borrower borrows 800,000 against 20,000
    /// SOL: the USDC market sits at its 80% kink (10% APR, 10% of it to the protocol).
    pub async fn borrow_usdc_at_the_kink(&mut self) {
        self.lender_and_borrower(1_000_000 * USDC, 20_000 * SOL, 800_000 * USDC).await;
    }

    /// Lets `secs` pass with a keeper refreshing both markets every hour, as in
    /// production: one accrual counts at most an hour of interest
    /// (`ballast_risk::interest::MAX_ACCRUAL_SECS`). Every feed is fresh at the end.
    pub async fn run_hourly(&mut self, secs: i64) {
        let mut left = secs;
        while left > 0 {
            let step = left.min(3_600);
            self.rt.advance(step);
            left -= step;
            self.refresh_markets().await;
        }
        self.refresh_prices(SOL_PRICE).await;
    }

    /// A keeper's `refresh_market` of both markets, in one transaction.
    pub async fn refresh_markets(&mut self) {
        let (usdc, sol) = (self.usdc, self.sol);
        let refresh = [ix::refresh_market(usdc.key, usdc.oracle), ix::refresh_market(sol.key, sol.oracle)];
        self.rt.send(&refresh, &[]).await.unwrap();
    }

    /// Re-publishes the native token's feed at the current time and `price`.
    pub fn set_native_price(&mut self, price: i64) {
        let (oracle, now) = (self.rt.native().oracle, self.rt.now);
        self.rt.set_price(&oracle, &PythPrice::steady(price, EXPO, now));
    }

    /// Checks a market's books: the vault holds what depositors are owed, minus what
    /// borrowers owe, plus the fee pools and insurance fund. Rounding may only leave
    /// the vault a little richer than the books (at most `slack` base units), never poorer.
    pub async fn assert_books(&mut self, market: &MarketHandle, slack: u128) {
        let m = self.rt.market(&market.key).await;
        let deposits =
            ballast_risk::shares::deposit_amount(m.total_deposit_shares.get(), m.deposit_index.get()).unwrap();
        let borrows = ballast_risk::shares::debt_amount(m.total_borrow_shares.get(), m.borrow_index.get()).unwrap();
        let reserved = u128::from(m.accrued_protocol_fees + m.insurance_fund + m.buyback_pool + m.staker_pool);
        let vault = u128::from(self.rt.token_balance(&market.vault).await);
        assert!(
            vault + borrows >= deposits + reserved,
            "vault {vault} short: deposits {deposits} borrows {borrows} reserved {reserved}"
        );
        let surplus = vault + borrows - deposits - reserved;
        assert!(surplus <= slack, "vault {vault} holds {surplus} more than the books");
    }

    /// Re-publishes every feed at the runtime's current time with unchanged prices.
    pub async fn refresh_prices(&mut self, sol_price: i64) {
        let now = self.rt.now;
        let (usdc_oracle, sol_oracle) = (self.usdc.oracle, self.sol.oracle);
        self.rt.set_price(&usdc_oracle, &PythPrice::steady(USD, EXPO, now));
        self.rt.set_price(&sol_oracle, &PythPrice::steady(sol_price, EXPO, now));
        self.set_native_price(NATIVE_PRICE);
    }
}

/// The standard protocol config minting `rate` native base units a second to stakers
/// in every regime.
pub fn emitting_config(rate: u64) -> ballast::ProtocolConfig {
    let mut config = ballast::ProtocolConfig::standard();
    config.regimes.iter_mut().for_each(|r| r.emission_rate_per_sec = rate);
    config
}
