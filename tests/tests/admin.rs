//! initialize_protocol and add_market.

use anchor_lang::prelude::Pubkey;
use ballast::{MarketConfig, ProtocolConfig, RegimeRow, VolatilityConfig};
use ballast_sim::ix;
use ballast_sim::pyth::PythPrice;
use ballast_sim::runtime::{standard_config, NativeToken, Runtime, GENESIS_TIME};
use ballast_tests::*;
use solana_signer::Signer;

#[tokio::test]
async fn initialize_protocol_records_admin_and_native_mint() {
    let mut rt = Runtime::start().await;
    let native_mint = rt.initialize_protocol(6).await;
    let protocol = rt.protocol().await;
    assert_eq!(protocol.admin, rt.admin.pubkey());
    assert_eq!(protocol.native_mint, native_mint);
    assert_eq!(protocol.pending_admin, Pubkey::default());
    assert_eq!(protocol.guardian, Pubkey::default());
    assert_eq!(protocol.market_count, 0);
    assert_eq!(protocol.native_oracle, rt.feed(&rt.native().oracle));
    assert_eq!(protocol.stake_vault, ix::stake_vault_pda());
    assert_eq!(protocol.reward_vault, ix::reward_vault_pda());
    assert_eq!(protocol.config, ProtocolConfig::standard());
    // Setup phase: not launched, no proposals.
    assert_eq!(protocol.governance, ballast::GovernanceState::default());
    assert_eq!(protocol.last_emission_ts, GENESIS_TIME);
    assert_eq!(rt.token_balance(&protocol.stake_vault).await, 0);
    assert_eq!(rt.token_balance(&protocol.reward_vault).await, 0);
    let raw = rt.raw_account(&ix::protocol_pda()).await.unwrap();
    assert_eq!(raw.data.len(), ballast::PROTOCOL_SIZE);
}

fn init_ix(
    rt: &Runtime,
    admin: &Pubkey,
    native: &NativeToken,
    config: ProtocolConfig,
) -> anchor_lang::solana_program::instruction::Instruction {
    ix::initialize_protocol(*admin, native.mint, rt.feed(&native.oracle), config)
}

/// Each out-of-bounds configuration is refused with the error of its group.
#[tokio::test]
async fn initialize_rejects_out_of_bounds_configs() {
    let mut rt = Runtime::start().await;
    let native = rt.create_native_token(6).await;
    let admin = rt.admin.insecure_clone();
    let standard = ProtocolConfig::standard();
    let vol = standard.volatility;
    let regimes = |row: usize, f: fn(&mut RegimeRow)| {
        let mut config = standard;
        f(&mut config.regimes[row]);
        config
    };
    let cases: [(ProtocolConfig, BallastError); 12] = [
        (ProtocolConfig { fee_stakers_bps: 3_001, ..standard }, BallastError::InvalidFeeSplit),
        (ProtocolConfig { buyback_stakers_bps: 10_001, ..standard }, BallastError::InvalidFeeSplit),
        (regimes(3, |r| r.premium_cap_bps = 2_001), BallastError::InvalidAuctionParams),
        (ProtocolConfig { buyback_epoch_secs: 0, ..standard }, BallastError::InvalidAuctionParams),
        (ProtocolConfig { native_oracle_max_age_secs: 0, ..standard }, BallastError::InvalidOracleLimits),
        (ProtocolConfig { min_lock_secs: 400 * 86_400, ..standard }, BallastError::InvalidStakingParams),
        (regimes(3, |r| r.exit_penalty_bps = 5_001), BallastError::InvalidRegimeSettings),
        // Counter-cyclical: Crisis may not emit more than Calm, nor penalise exits less.
        (regimes(3, |r| r.emission_rate_per_sec = 1), BallastError::InvalidRegimeSettings),
        (regimes(0, |r| r.exit_penalty_bps = 4_000), BallastError::InvalidRegimeSettings),
        (
            ProtocolConfig { volatility: VolatilityConfig { min_sample_interval_secs: 0, ..vol }, ..standard },
            BallastError::InvalidVolatilityParams,
        ),
        // Leaving a regime at the level that enters it: no hysteresis.
        (
            ProtocolConfig { volatility: VolatilityConfig { exit_vol_bps: vol.enter_vol_bps, ..vol }, ..standard },
            BallastError::InvalidRegimeThresholds,
        ),
        (
            ProtocolConfig { timelock: ballast::TimelockConfig { delay_secs: 0, ..standard.timelock }, ..standard },
            BallastError::InvalidTimelockParams,
        ),
    ];
    for (config, error) in cases {
        let result = rt.send(&[init_ix(&rt, &admin.pubkey(), &native, config)], &[&admin]).await;
        assert_error(result, error);
    }
    assert!(rt.raw_account(&ix::protocol_pda()).await.is_none());
}

#[tokio::test]
async fn emissions_need_the_mint_authority() {
    let mut rt = Runtime::start().await;
    let admin = rt.admin.insecure_clone();
    // A mint whose authority stayed with its creator.
    let mint = rt.create_mint(6).await;
    let native = NativeToken { mint, ..rt.create_native_token(6).await };
    let config = ballast_tests::emitting_config(1_000);
    let result = rt.send(&[init_ix(&rt, &admin.pubkey(), &native, config)], &[&admin]).await;
    assert_error(result, BallastError::EmissionAuthority);
    // Without emissions the same mint is fine.
    rt.send(&[init_ix(&rt, &admin.pubkey(), &native, ProtocolConfig::standard())], &[&admin]).await.unwrap();
}

#[tokio::test]
async fn initialize_rejects_a_native_oracle_not_owned_by_pyth() {
    let mut rt = Runtime::start().await;
    let native = rt.create_native_token(6).await;
    let admin = rt.admin.insecure_clone();
    let data = rt.raw_account(&native.oracle).await.unwrap().data;
    rt.set_raw_account(&native.oracle, Pubkey::new_unique(), data);
    let result = rt.send(&[init_ix(&rt, &admin.pubkey(), &native, ProtocolConfig::standard())], &[&admin]).await;
    assert_error(result, BallastError::OracleWrongOwner);
}

#[tokio::test]
async fn initialize_protocol_twice_fails() {
    let mut rt = Runtime::start().await;
    rt.initialize_protocol(6).await;
    let native = rt.native();
    let admin = rt.admin.insecure_clone();
    let result = rt.send(&[init_ix(&rt, &admin.pubkey(), &native, ProtocolConfig::standard())], &[&admin]).await;
    // The system program refuses to allocate an account that already exists
    // (SystemError::AccountAlreadyInUse on SBF; the native host build reports it as
    // InvalidInstructionData), and nothing changes.
    assert_failed_at(result, 1);
    assert_eq!(rt.protocol().await.admin, admin.pubkey());
}

#[tokio::test]
async fn only_the_upgrade_authority_may_initialize() {
    let mut rt = Runtime::start().await;
    let native = rt.create_native_token(6).await;
    let squatter = rt.new_user().await;
    let result = rt.send(&[init_ix(&rt, &squatter.pubkey(), &native, ProtocolConfig::standard())], &[&squatter]).await;
    assert_error(result, BallastError::NotUpgradeAuthority);
    assert!(rt.raw_account(&ix::protocol_pda()).await.is_none());
}

#[tokio::test]
async fn initialize_rejects_a_forged_program_data_account() {
    let mut rt = Runtime::start().await;
    let native = rt.create_native_token(6).await;
    let admin = rt.admin.insecure_clone();
    // Same bytes, wrong owner: a ProgramData look-alike owned by the system program.
    let data = rt.raw_account(&ix::program_data_address()).await.unwrap().data;
    rt.set_raw_account(&ix::program_data_address(), anchor_lang::system_program::ID, data);
    let result = rt.send(&[init_ix(&rt, &admin.pubkey(), &native, ProtocolConfig::standard())], &[&admin]).await;
    assert_error(result, AnchorError::AccountOwnedByWrongProgram);
}

#[tokio::test]
async fn add_market_lists_with_vault_and_indices() {
    let fx = Fixture::new().await;
    let mut rt = fx.rt;
    let market = rt.market(&fx.sol.key).await;
    assert_eq!(market.protocol, ix::protocol_pda());
    assert_eq!(market.mint, fx.sol.mint);
    assert_eq!(market.oracle, rt.feed(&fx.sol.oracle));
    assert_eq!(market.vault, ix::vault_pda(&fx.sol.key));
    assert_eq!(market.market_index, 1);
    assert_eq!(market.decimals, 9);
    assert_eq!(market.deposit_index.get(), ballast_risk::WAD);
    assert_eq!(market.borrow_index.get(), ballast_risk::WAD);
    assert_eq!(market.config, standard_config(100_000 * SOL, 80_000 * SOL));
    assert_eq!(rt.protocol().await.market_count, 2);
    assert_eq!(rt.token_balance(&market.vault).await, 0);
    let raw = rt.raw_account(&fx.sol.key).await.unwrap();
    assert_eq!(raw.data.len(), ballast::MARKET_SIZE);
    // Filterable fields sit right after the discriminator.
    assert_eq!(&raw.data[8..40], ix::protocol_pda().as_ref());
    assert_eq!(&raw.data[40..72], fx.sol.mint.as_ref());
}

async fn try_add(l: &mut Listing, config: MarketConfig) -> Result<(), solana_program_test::BanksClientError> {
    let admin = l.rt.admin.insecure_clone();
    l.rt.send(&[ix::add_market(admin.pubkey(), l.mint, l.rt.feed(&l.oracle), config)], &[&admin]).await
}

#[tokio::test]
async fn add_market_requires_the_admin() {
    let mut l = listing().await;
    let intruder = l.rt.new_user().await;
    let ix = ix::add_market(intruder.pubkey(), l.mint, l.rt.feed(&l.oracle), standard_config(1_000, 500));
    assert_error(l.rt.send(&[ix], &[&intruder]).await, BallastError::Unauthorized);
}

#[tokio::test]
async fn add_market_checks_every_parameter_group() {
    let base = standard_config(1_000, 500);
    let cases: Vec<(MarketConfig, BallastError)> = vec![
        // maint asset weight must lie between init weight and 1
        (MarketConfig { maint_asset_weight_bps: 7_000, ..base }, BallastError::InvalidWeights),
        (MarketConfig { maint_asset_weight_bps: 10_001, ..base }, BallastError::InvalidWeights),
        (MarketConfig { maint_liability_weight_bps: 12_500, ..base }, BallastError::InvalidWeights),
        (MarketConfig { maint_liability_weight_bps: 9_000, ..base }, BallastError::InvalidWeights),
        (MarketConfig { optimal_utilization_bps: 10_000, ..base }, BallastError::InvalidRateCurve),
        (MarketConfig { optimal_rate_bps: 20_000, ..base }, BallastError::InvalidRateCurve),
        (MarketConfig { protocol_fee_bps: 6_000, ..base }, BallastError::InvalidProtocolFee),
        (MarketConfig { oracle_max_age_secs: 0, ..base }, BallastError::InvalidOracleLimits),
        (MarketConfig { oracle_liquidation_max_age_secs: 30, ..base }, BallastError::InvalidOracleLimits),
        (MarketConfig { oracle_max_ema_deviation_bps: 0, ..base }, BallastError::InvalidOracleLimits),
        (MarketConfig { deposit_cap: 0, borrow_cap: 0, ..base }, BallastError::InvalidCaps),
        (MarketConfig { borrow_cap: 1_001, ..base }, BallastError::InvalidCaps),
    ];
    let mut l = listing().await;
    for (config, expected) in cases {
        assert_error(try_add(&mut l, config).await, expected);
    }
    assert_eq!(l.rt.protocol().await.market_count, 0);
    try_add(&mut l, base).await.unwrap();
}

#[tokio::test]
async fn add_market_refuses_a_feed_not_owned_by_pyth() {
    let mut l = listing().await;
    let bytes = l.rt.raw_account(&l.oracle).await.unwrap().data;
    l.rt.set_raw_account(&l.oracle, Pubkey::new_unique(), bytes);
    assert_error(try_add(&mut l, standard_config(1_000, 500)).await, BallastError::OracleWrongOwner);
}

#[tokio::test]
async fn add_market_refuses_garbage_and_non_positive_feeds() {
    let mut l = listing().await;
    let owner = l.rt.raw_account(&l.oracle).await.unwrap().owner;
    l.rt.set_raw_account(&l.oracle.clone(), owner, vec![7u8; 3_312]);
    assert_error(try_add(&mut l, standard_config(1_000, 500)).await, BallastError::InvalidOracleAccount);
    let oracle = l.oracle;
    l.rt.set_price(&oracle, &PythPrice::steady(-5, EXPO, GENESIS_TIME));
    assert_error(try_add(&mut l, standard_config(1_000, 500)).await, BallastError::OracleNonPositive);
}

/// Prices are WAD per base unit: an 18-decimal token under $1 would be worth nothing
/// per unit, so such a listing is refused with its own error rather than listed at zero.
#[tokio::test]
async fn add_market_refuses_a_token_too_fine_for_the_price_scale() {
    let mut l = listing().await;
    let oracle = l.oracle;
    l.rt.set_price(&oracle, &PythPrice::steady(USD / 2, EXPO, GENESIS_TIME));
    l.mint = l.rt.create_mint(18).await;
    assert_error(try_add(&mut l, standard_config(1_000, 500)).await, BallastError::UnitPriceTooSmall);
    // The same $0.50 feed prices a 9-decimal token finely enough.
    l.mint = l.rt.create_mint(9).await;
    try_add(&mut l, standard_config(1_000, 500)).await.unwrap();
}

#[tokio::test]
async fn add_market_twice_for_one_mint_fails() {
    let mut l = listing().await;
    try_add(&mut l, standard_config(1_000, 500)).await.unwrap();
    let mut other = standard_config(1_000, 500);
    other.deposit_cap = 2_000;
    assert_failed_at(try_add(&mut l, other).await, 1);
    let market = l.rt.market(&ix::market_pda(&l.mint)).await;
    assert_eq!(market.config.deposit_cap, 1_000);
    assert_eq!(l.rt.protocol().await.market_count, 1);
}

#[tokio::test]
async fn add_market_refuses_a_forged_protocol() {
    let mut l = listing().await;
    let admin = l.rt.admin.insecure_clone();
    // The real protocol's bytes, copied into an account owned by another program.
    let data = l.rt.raw_account(&ix::protocol_pda()).await.unwrap().data;
    l.rt.set_raw_account(&ix::protocol_pda(), Pubkey::new_unique(), data);
    let result = l
        .rt
        .send(&[ix::add_market(admin.pubkey(), l.mint, l.rt.feed(&l.oracle), standard_config(1_000, 500))], &[&admin])
        .await;
    assert_error(result, AnchorError::AccountOwnedByWrongProgram);
}

/// Each market has a staker reward stream in the protocol account: 16 at most.
#[tokio::test]
async fn add_market_stops_at_the_stream_limit() {
    let mut rt = Runtime::start().await;
    rt.initialize_protocol(6).await;
    let price = PythPrice::steady(USD, EXPO, GENESIS_TIME);
    for _ in 0..ballast::MAX_MARKETS {
        let mint = rt.create_mint(6).await;
        rt.list_market(mint, price, standard_config(1_000, 500)).await;
    }
    let mint = rt.create_mint(6).await;
    let oracle = rt.new_feed(&price);
    let admin = rt.admin.insecure_clone();
    let add = ix::add_market(admin.pubkey(), mint, rt.feed(&oracle), standard_config(1_000, 500));
    let result = rt.send(&[add], &[&admin]).await;
    assert_error(result, BallastError::TooManyMarkets);
    assert_eq!(rt.protocol().await.market_count as usize, ballast::MAX_MARKETS);
}
