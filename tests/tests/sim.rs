//! The main job's scripted scenario runs end to end and its books balance.

#[tokio::test]
async fn scripted_scenario_runs_and_balances() {
    let outcome = ballast_sim::scenario::run(3, 2).await.expect("scenario runs");
    assert!(outcome.books_balance, "books:\n{}", outcome.report);
    assert_eq!(outcome.failed_as_expected, 1);
    // 6 setup + 3 lender deposits + 2 * (deposit + borrow) + 3 days * 3 refreshes
    // + 1 borrower repaying, withdrawing and closing.
    assert_eq!(outcome.transactions, 6 + 3 + 4 + 9 + 3 + outcome.liquidations);
    assert!(outcome.report.contains("USDC"));
}
