//! The main job's scripted scenario runs end to end and its books balance.

#[tokio::test]
async fn scripted_scenario_runs_and_balances() {
    let outcome = ballast_sim::scenario::run(3, 2).await.expect("scenario runs");
    assert!(outcome.books_balance, "books:\n{}", outcome.report);
    assert_eq!(outcome.failed_as_expected, 1);
    // A buyback fill every day (the swept USDC fees give each epoch a budget).
    assert_eq!(outcome.buybacks, 3);
    // 6 setup + 4 stakes + 3 lender deposits + 2 * (deposit + borrow) + 3 days * (3
    // refreshes + a sweep + a buyback) + 1 borrower repaying, withdrawing and closing +
    // 4 staker claims.
    assert_eq!(outcome.transactions, 6 + 4 + 3 + 4 + 3 * 5 + 3 + 4 + outcome.liquidations);
    assert!(outcome.report.contains("USDC"));
    assert!(outcome.report.contains("supply") && !outcome.report.contains("MISMATCH"));
}
