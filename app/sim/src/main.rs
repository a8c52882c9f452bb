//! `sim`: runs Ballast in-process on solana-program-test and prints what it creates.
//!
//! Usage: `sim [DAYS] [BORROWERS]` (defaults: 20 days, 8 borrowers).

use std::process::ExitCode;
use std::time::Instant;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let parse = |arg: Option<String>, default: u64, name: &str| -> Result<u64, String> {
        arg.map_or(Ok(default), |a| a.parse().map_err(|_| format!("{name} must be a whole number, got {a:?}")))
    };
    let (days, borrowers) = match (parse(args.next(), 20, "DAYS"), parse(args.next(), 8, "BORROWERS")) {
        (Ok(d), Ok(b)) if b >= 1 => (d as i64, b as usize),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}\nusage: sim [DAYS] [BORROWERS]");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("error: BORROWERS must be at least 1");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match ballast_sim::scenario::run(days, borrowers).await {
        Ok(outcome) => {
            println!("{}", outcome.report);
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{} transactions ({} liquidations, {} refused as expected) in {secs:.2} s: {:.0} tx/s",
                outcome.transactions,
                outcome.liquidations,
                outcome.failed_as_expected,
                outcome.transactions as f64 / secs
            );
            if outcome.books_balance {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: a market's vault holds less than its books say");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
