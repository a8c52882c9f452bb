//! Price paths for the collateral asset: the built-in stress scenario, seeded synthetic
//! paths (regime-switching with jumps), and paths loaded from a CSV of timestamps and
//! prices. Every path is sampled on the simulator's hourly grid.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::rng::Rng;

/// The simulator's clock step: one hour.
pub const STEP_SECS: i64 = 3_600;
/// Length of the default and synthetic paths unless `--days` says otherwise.
pub const DEFAULT_DAYS: u32 = 30;
/// Shortest and longest paths the simulator runs (the longest keeps memory bounded
/// whatever a CSV's timestamps say).
pub const MIN_DAYS: u32 = 2;
pub const MAX_DAYS: u32 = 3_660;
/// CSV rows further apart than this are an oracle outage: the feed does not publish
/// between them.
pub const CSV_OUTAGE_GAP_SECS: i64 = 6 * 3_600;
/// Prices a CSV may hold (USD): the feeds publish 8 decimals, and token amounts sized in
/// USD must fit in `u64` base units.
pub const MIN_CSV_PRICE: f64 = 1e-4;
pub const MAX_CSV_PRICE: f64 = 1e9;

/// The collateral's price at every step, and when the oracle is down.
#[derive(Debug, Clone, PartialEq)]
pub struct PricePath {
    /// What the path is, for the report.
    pub label: String,
    /// The true price (USD) at step k, i.e. `k * STEP_SECS` after the start.
    pub prices: Vec<f64>,
    /// Steps at which the oracle publishes nothing (ranges of step indices, sorted).
    pub outages: Vec<Range<usize>>,
}

impl PricePath {
    pub fn steps(&self) -> usize {
        self.prices.len()
    }

    pub fn in_outage(&self, step: usize) -> bool {
        self.outages.iter().any(|o| o.contains(&step))
    }

    /// The first `steps` steps (outages clipped to them).
    pub fn truncate(&mut self, steps: usize) {
        self.prices.truncate(steps);
        self.outages = self.outages.iter().filter(|o| o.start < steps).map(|o| o.start..o.end.min(steps)).collect();
    }

    /// Largest fall from a running peak, as a fraction (0.6 = -60%).
    pub fn max_drawdown(&self) -> f64 {
        let mut peak = f64::MIN;
        let mut worst: f64 = 0.0;
        for &p in &self.prices {
            peak = peak.max(p);
            worst = worst.max(1.0 - p / peak);
        }
        worst
    }

    pub fn from_log_returns(label: String, start: f64, returns: &[f64], outages: Vec<Range<usize>>) -> PricePath {
        let mut log = start.ln();
        let mut prices = Vec::with_capacity(returns.len() + 1);
        prices.push(start);
        for r in returns {
            // A floor of one cent keeps the feed's integer mantissa and every ratio sane.
            log = (log + r).max(0.01f64.ln());
            prices.push(log.exp());
        }
        PricePath { label, prices, outages }
    }
}

/// `n` hourly log returns with `sigma` fat-tailed noise (Student-t with `nu` degrees of
/// freedom), the `jumps` (hour, size) added, all shifted by the same drift so that they
/// add up to exactly `total`: the shape is random, the move is not.
fn segment(rng: &mut Rng, n: usize, total: f64, sigma: f64, nu: u32, jumps: &[(usize, f64)]) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let mut r: Vec<f64> = (0..n).map(|_| sigma * rng.student_t(nu)).collect();
    for &(at, jump) in jumps {
        r[at.min(n - 1)] += jump;
    }
    let drift = (total - r.iter().sum::<f64>()) / n as f64;
    r.iter_mut().for_each(|x| *x += drift);
    r
}

/// The built-in stress scenario over `days` (at least [`MIN_DAYS`]): a calm stretch
/// (35% of the time, +5%), a crash of 60% over up to four days with fat-tailed hourly
/// moves and an oracle outage of up to six hours two fifths of the way in: the feeds
/// publish a -8% hour and go dark, and while they are dark the price gaps down another
/// 15% in one hour, so they come back far lower. Then a partial recovery to 65% of the
/// pre-crash price. `seed` only shapes the noise; the phases and their moves are fixed.
pub fn default_stress(days: u32, seed: u64) -> PricePath {
    let hours = days.clamp(MIN_DAYS, MAX_DAYS) as usize * 24;
    let mut rng = Rng::new(seed).fork(1);
    let calm = hours * 35 / 100;
    let crash = (hours * 15 / 100).clamp(12, 96);
    let recovery = hours - 1 - calm - crash;
    // Price k follows return k - 1: the outage covers steps inside the crash.
    let outage_start = calm + 1 + crash * 2 / 5;
    let outage = outage_start..outage_start + (crash / 8).clamp(2, 6);
    // Crash-relative hours of the last move the feeds publish and of the gap in the dark.
    let last_lit = outage_start - 1 - calm;
    let gap = outage_start - calm + outage.len() / 2;
    let mut returns = segment(&mut rng, calm, 0.05f64.ln_1p(), 0.005, 4, &[]);
    returns.extend(segment(&mut rng, crash, 0.40f64.ln(), 0.025, 3, &[(last_lit, -0.08), (gap, -0.15)]));
    returns.extend(segment(&mut rng, recovery, (0.65f64 / 0.40).ln(), 0.008, 4, &[]));
    let label = format!("default stress ({days} days: calm, -60% crash with an oracle outage, recovery)");
    PricePath::from_log_returns(label, 100.0, &returns, vec![outage])
}

/// One regime of the synthetic generator: hourly volatility and drift, jumps per hour,
/// the chance of staying, and the chance per hour that the oracle goes down.
struct GenRegime {
    sigma: f64,
    drift: f64,
    jump_rate: f64,
    stay: f64,
    outage_rate: f64,
}

const GEN_REGIMES: [GenRegime; 4] = [
    GenRegime { sigma: 0.004, drift: 0.000_1, jump_rate: 1.0 / 400.0, stay: 0.99, outage_rate: 0.0 },
    GenRegime { sigma: 0.010, drift: 0.0, jump_rate: 1.0 / 150.0, stay: 0.97, outage_rate: 0.0 },
    GenRegime { sigma: 0.020, drift: -0.001_5, jump_rate: 1.0 / 50.0, stay: 0.95, outage_rate: 1.0 / 300.0 },
    GenRegime { sigma: 0.040, drift: -0.004, jump_rate: 1.0 / 15.0, stay: 0.92, outage_rate: 1.0 / 100.0 },
];

/// A seeded synthetic path over `days`: a Markov chain over four volatility regimes
/// (calm, elevated, stressed, crisis; each step moves at most one level), Student-t
/// noise, jumps (three in four down) and oracle outages of 2 to 6 hours in the two
/// stressed regimes. The same seed always gives the same path.
pub fn synthetic(days: u32, seed: u64) -> PricePath {
    let hours = days.clamp(MIN_DAYS, MAX_DAYS) as usize * 24;
    let mut rng = Rng::new(seed).fork(2);
    let mut regime = 0usize;
    let mut returns = Vec::with_capacity(hours);
    let mut outages: Vec<Range<usize>> = Vec::new();
    for hour in 0..hours - 1 {
        let g = &GEN_REGIMES[regime];
        let mut r = g.drift + g.sigma * rng.student_t(4);
        if rng.chance(g.jump_rate) {
            // Exponential sizes: mostly a few percent, occasionally a gap of 20% or more.
            let size = -rng.uniform().max(1e-12).ln();
            r += if rng.chance(0.75) { -(0.03 + 0.05 * size) } else { 0.02 + 0.03 * size };
        }
        returns.push(r);
        let step = hour + 1;
        let down = outages.last().is_some_and(|o| o.end > step);
        if !down && rng.chance(g.outage_rate) {
            outages.push(step..(step + 2 + rng.below(5)).min(hours));
        }
        if !rng.chance(g.stay) {
            regime = match regime {
                0 => 1,
                3 => 2,
                1 => [0, 2][rng.below(2)],
                _ => {
                    if rng.chance(0.4) {
                        3
                    } else {
                        1
                    }
                }
            };
        }
    }
    let label = format!("synthetic (seed {seed}, {days} days: regime-switching with jumps)");
    PricePath::from_log_returns(label, 100.0, &returns, outages)
}

/// Why a CSV price file was refused. Lines are numbered from 1 as in an editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvError {
    Io { path: String, message: String },
    Empty,
    Fields { line: usize, found: usize },
    Timestamp { line: usize, value: String },
    Price { line: usize, value: String },
    NonPositivePrice { line: usize, value: String },
    PriceOutOfRange { line: usize, value: String },
    NotIncreasing { line: usize, timestamp: i64, previous: i64 },
    TooFewRows { rows: usize },
    TooShort { secs: i64 },
    TooLong { days: i64 },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            CsvError::Empty => write!(f, "the file has no rows (expected `timestamp,price` lines)"),
            CsvError::Fields { line, found } => {
                write!(f, "line {line}: expected 2 comma-separated fields (timestamp,price), found {found}")
            }
            CsvError::Timestamp { line, value } => {
                write!(f, "line {line}: timestamp {value:?} is not a whole number of seconds (unix time)")
            }
            CsvError::Price { line, value } => write!(f, "line {line}: price {value:?} is not a number"),
            CsvError::NonPositivePrice { line, value } => {
                write!(f, "line {line}: price {value} is not positive")
            }
            CsvError::PriceOutOfRange { line, value } => {
                write!(f, "line {line}: price {value} is outside {MIN_CSV_PRICE} to {MAX_CSV_PRICE} USD")
            }
            CsvError::NotIncreasing { line, timestamp, previous } => {
                write!(f, "line {line}: timestamp {timestamp} is not after the previous row's {previous}")
            }
            CsvError::TooFewRows { rows } => write!(f, "{rows} price row(s): at least 2 are needed"),
            CsvError::TooShort { secs } => {
                write!(f, "the rows span {secs} s: at least one step ({STEP_SECS} s) is needed")
            }
            CsvError::TooLong { days } => write!(f, "the rows span {days} days: at most {MAX_DAYS} are supported"),
        }
    }
}

impl std::error::Error for CsvError {}

/// Reads a price path from a CSV file (see [`parse_csv`]).
pub fn load_csv(path: &Path) -> Result<PricePath, CsvError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CsvError::Io { path: path.display().to_string(), message: e.to_string() })?;
    let mut parsed = parse_csv(&text)?;
    parsed.label = format!("{} ({})", path.display(), parsed.label);
    Ok(parsed)
}

/// Parses `timestamp,price` rows: unix seconds (strictly increasing) and a positive USD
/// price (from [`MIN_CSV_PRICE`] to [`MAX_CSV_PRICE`]). An optional first line `timestamp,price` is a header; blank lines are
/// skipped. The rows are interpolated linearly onto the hourly grid from the first
/// timestamp; gaps longer than [`CSV_OUTAGE_GAP_SECS`] between rows are oracle outages.
pub fn parse_csv(text: &str) -> Result<PricePath, CsvError> {
    let mut rows: Vec<(i64, f64)> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut seen_line = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split(',').map(str::trim).collect();
        let first = !seen_line;
        seen_line = true;
        if first
            && fields.len() == 2
            && fields[0].eq_ignore_ascii_case("timestamp")
            && fields[1].eq_ignore_ascii_case("price")
        {
            continue;
        }
        if fields.len() != 2 {
            return Err(CsvError::Fields { line, found: fields.len() });
        }
        let timestamp: i64 =
            fields[0].parse().map_err(|_| CsvError::Timestamp { line, value: fields[0].to_string() })?;
        let price: f64 = fields[1]
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| CsvError::Price { line, value: fields[1].to_string() })?;
        if price <= 0.0 {
            return Err(CsvError::NonPositivePrice { line, value: fields[1].to_string() });
        }
        if !(MIN_CSV_PRICE..=MAX_CSV_PRICE).contains(&price) {
            return Err(CsvError::PriceOutOfRange { line, value: fields[1].to_string() });
        }
        if let Some(&(previous, _)) = rows.last() {
            if timestamp <= previous {
                return Err(CsvError::NotIncreasing { line, timestamp, previous });
            }
        }
        rows.push((timestamp, price));
    }
    match rows.len() {
        0 => return Err(CsvError::Empty),
        1 => return Err(CsvError::TooFewRows { rows: 1 }),
        _ => {}
    }
    let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
    let span = last.checked_sub(first).unwrap_or(i64::MAX);
    if span < STEP_SECS {
        return Err(CsvError::TooShort { secs: span });
    }
    if span / 86_400 > i64::from(MAX_DAYS) {
        return Err(CsvError::TooLong { days: span / 86_400 });
    }
    let steps = (span / STEP_SECS) as usize + 1;
    let mut prices = Vec::with_capacity(steps);
    let mut outages: Vec<Range<usize>> = Vec::new();
    let mut row = 0;
    for step in 0..steps {
        let t = first + step as i64 * STEP_SECS;
        while row + 2 < rows.len() && rows[row + 1].0 <= t {
            row += 1;
        }
        let ((t0, p0), (t1, p1)) = (rows[row], rows[row + 1]);
        let w = ((t - t0) as f64 / (t1 - t0) as f64).clamp(0.0, 1.0);
        prices.push(p0 + (p1 - p0) * w);
        if t1 - t0 > CSV_OUTAGE_GAP_SECS && t > t0 && t < t1 {
            match outages.last_mut() {
                Some(o) if o.end == step => o.end = step + 1,
                _ => outages.push(step..step + 1),
            }
        }
    }
    let label = format!("CSV, {} rows over {:.1} days", rows.len(), span as f64 / 86_400.0);
    Ok(PricePath { label, prices, outages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_calm_then_crash_past_half_then_recovery() {
        let path = default_stress(DEFAULT_DAYS, 42);
        assert_eq!(path.steps(), 30 * 24);
        let calm_end = path.prices[path.steps() * 35 / 100];
        assert!((calm_end / 100.0 - 1.05).abs() < 1e-9, "calm ends at +5%: {calm_end}");
        let trough = path.prices.iter().cloned().fold(f64::MAX, f64::min);
        assert!(trough < calm_end * 0.5, "a crash of more than 50%: {trough} vs {calm_end}");
        assert!(path.max_drawdown() > 0.5);
        let last = *path.prices.last().unwrap();
        assert!((last / calm_end - 0.65).abs() < 1e-9, "recovers to 65%: {last}");
        assert_eq!(path.outages.len(), 1);
        let outage = &path.outages[0];
        assert_eq!(outage.len(), 6);
        // The outage sits inside the crash.
        assert!(path.prices[outage.start] < calm_end && path.prices[outage.end] > trough);
        // Fat tails: the worst hour of the crash is far beyond its typical hour.
        let moves: Vec<f64> = path.prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        assert!(moves.iter().cloned().fold(0.0, f64::min) < -0.08);
        // The feeds come back after the outage far below where they stopped.
        assert!(path.prices[outage.end] < path.prices[outage.start] * 0.9);
    }

    #[test]
    fn small_default_path_still_crashes() {
        let path = default_stress(3, 1);
        assert_eq!(path.steps(), 72);
        assert!(path.max_drawdown() > 0.5);
        assert_eq!(path.outages[0].len(), 2);
    }

    #[test]
    fn synthetic_path_is_deterministic_for_a_seed() {
        let a = synthetic(60, 9);
        assert_eq!(a, synthetic(60, 9));
        assert_ne!(a.prices, synthetic(60, 10).prices);
        assert_eq!(a.steps(), 60 * 24);
        assert!(a.prices.iter().all(|p| p.is_finite() && *p >= 0.01));
        // Regimes and jumps: somewhere an hour moves more than 5%.
        assert!(a.prices.windows(2).any(|w| (w[1] / w[0] - 1.0).abs() > 0.05));
    }

    #[test]
    fn csv_with_header_is_interpolated_hourly() {
        let path = parse_csv("timestamp,price\n1000,10\n8200,12.0\r\n\n").unwrap();
        assert_eq!(path.prices, vec![10.0, 11.0, 12.0]);
        assert!(path.outages.is_empty());
        let bare = parse_csv("0, 5\n3600, 6").unwrap();
        assert_eq!(bare.prices, vec![5.0, 6.0]);
    }

    #[test]
    fn csv_gap_is_an_outage() {
        let path = parse_csv("0,100\n3600,100\n36000,50\n39600,60\n").unwrap();
        assert_eq!(path.steps(), 12);
        assert_eq!(path.outages, vec![2..10]);
        assert!((path.prices[5] - (100.0 - 50.0 * 14_400.0 / 32_400.0)).abs() < 1e-9);
    }

    #[test]
    fn csv_errors_name_the_line_and_the_problem() {
        let cases: [(&str, CsvError); 10] = [
            ("", CsvError::Empty),
            ("timestamp,price\n\n", CsvError::Empty),
            ("0,1\n3600", CsvError::Fields { line: 2, found: 1 }),
            ("0,1,2\n", CsvError::Fields { line: 1, found: 3 }),
            ("0,1\nnoon,2\n", CsvError::Timestamp { line: 2, value: "noon".into() }),
            ("0,1\n3600,abc\n", CsvError::Price { line: 2, value: "abc".into() }),
            ("0,1\n3600,NaN\n", CsvError::Price { line: 2, value: "NaN".into() }),
            ("0,1\n\n3600,-2\n", CsvError::NonPositivePrice { line: 3, value: "-2".into() }),
            ("0,1\n3600,2\n3600,3\n", CsvError::NotIncreasing { line: 3, timestamp: 3600, previous: 3600 }),
            ("timestamp,price\n0,1\n", CsvError::TooFewRows { rows: 1 }),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_csv(text), Err(expected), "{text:?}");
        }
        assert_eq!(parse_csv("0,1\n60,2\n"), Err(CsvError::TooShort { secs: 60 }));
        assert_eq!(
            parse_csv("0,1\n3600,0.00000001\n"),
            Err(CsvError::PriceOutOfRange { line: 2, value: "0.00000001".into() })
        );
        assert!(matches!(parse_csv("0,1\n9000000000,2\n"), Err(CsvError::TooLong { .. })));
        // A header anywhere but the first line is a bad row.
        assert_eq!(
            parse_csv("0,1\ntimestamp,price\n"),
            Err(CsvError::Timestamp { line: 2, value: "timestamp".into() })
        );
        let message = CsvError::Price { line: 7, value: "x".into() }.to_string();
        assert_eq!(message, "line 7: price \"x\" is not a number");
    }

    #[test]
    fn csv_file_errors_name_the_file() {
        let missing = load_csv(Path::new("/nonexistent/prices.csv")).unwrap_err();
        assert!(matches!(missing, CsvError::Io { .. }));
        assert!(missing.to_string().contains("/nonexistent/prices.csv"));
    }
}
