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
/// The least gap between CSV rows that can make an oracle outage (see
/// [`default_outage_gap`]).
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

    /// The share of steps in an outage (`None` for an empty path).
    pub fn outage_share(&self) -> Option<f64> {
        let out: usize = self.outages.iter().map(|o| o.len()).sum();
        (self.steps() > 0).then(|| out as f64 / self.steps() as f64)
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
    Header { line: usize, name: String },
    Fields { line: usize, expected: usize, found: usize },
    Timestamp { line: usize, value: String },
    Price { line: usize, value: String },
    Published { line: usize, value: String },
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
            CsvError::Header { line, name } => write!(
                f,
                "line {line}: unknown column {name:?} (timestamp: timestamp, time or date; price: price or close; \
                 optional published: published)"
            ),
            CsvError::Fields { line, expected, found } => {
                write!(f, "line {line}: expected {expected} comma-separated fields, found {found}")
            }
            CsvError::Timestamp { line, value } => write!(
                f,
                "line {line}: timestamp {value:?} is neither unix time (seconds or milliseconds) nor ISO-8601 UTC \
                 (2025-06-15, 2025-06-15T13:00Z)"
            ),
            CsvError::Price { line, value } => write!(f, "line {line}: price {value:?} is not a number"),
            CsvError::Published { line, value } => {
                write!(f, "line {line}: published {value:?} is not 1/0, true/false or yes/no")
            }
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

/// How a CSV file becomes an hourly path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Without a `published` column, a gap between rows longer than this is an outage;
    /// default: [`default_outage_gap`].
    pub outage_gap_secs: Option<i64>,
    pub interpolation: Interpolation,
}

/// How prices between two rows are filled in on the hourly grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Interpolation {
    /// A straight line between the rows.
    #[default]
    Linear,
    /// The straight line times `exp` of a seeded Brownian bridge pinned at both rows,
    /// with the volatility measured from the rows themselves: a daily file gets hourly moves of the size its
    /// own daily moves imply, and every row's price is still met exactly.
    Bridge { seed: u64 },
}

/// Reads a price path from a CSV file (see [`parse_csv`]).
pub fn load_csv(path: &Path, options: &CsvOptions) -> Result<PricePath, CsvError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CsvError::Io { path: path.display().to_string(), message: e.to_string() })?;
    let mut parsed = parse_csv(&text, options)?;
    parsed.label = format!("{} ({})", path.display(), parsed.label);
    Ok(parsed)
}

/// Which field of a row holds what.
#[derive(Debug, Clone, Copy)]
struct Columns {
    timestamp: usize,
    price: usize,
    published: Option<usize>,
    count: usize,
}

impl Columns {
    const PLAIN: Columns = Columns { timestamp: 0, price: 1, published: None, count: 2 };

    /// The columns a header names, or `None` if the line is data (its first field does
    /// not start with a letter).
    fn from_header(fields: &[&str], line: usize) -> Result<Option<Columns>, CsvError> {
        if !fields[0].starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Ok(None);
        }
        let (mut timestamp, mut price, mut published) = (None, None, None);
        for (i, name) in fields.iter().enumerate() {
            let slot = match name.to_ascii_lowercase().as_str() {
                "timestamp" | "time" | "date" => &mut timestamp,
                "price" | "close" => &mut price,
                "published" => &mut published,
                _ => return Err(CsvError::Header { line, name: name.to_string() }),
            };
            *slot = Some(i);
        }
        match (timestamp, price) {
            (Some(timestamp), Some(price)) => Ok(Some(Columns { timestamp, price, published, count: fields.len() })),
            _ => Err(CsvError::Header { line, name: fields.join(",") }),
        }
    }
}

/// Unix seconds from unix seconds, unix milliseconds (13 digits and more) or ISO-8601 UTC
/// (`2025-06-15`, `2025-06-15T13:00`, `2025-06-15 13:00:05Z`).
fn parse_timestamp(value: &str) -> Option<i64> {
    if let Ok(n) = value.parse::<i64>() {
        return Some(if n.unsigned_abs() >= 100_000_000_000 { n.div_euclid(1_000) } else { n });
    }
    let value = value.strip_suffix('Z').unwrap_or(value);
    let (date, time) = match value.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (value, None),
    };
    let mut ymd = date.splitn(3, '-');
    let (y, m, d): (i64, u32, u32) = (ymd.next()?.parse().ok()?, ymd.next()?.parse().ok()?, ymd.next()?.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=days_in_month(y, m)).contains(&d) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(time) => {
            let mut hms = time.splitn(3, ':');
            let (h, min): (i64, i64) = (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
            let sec: i64 = match hms.next() {
                Some(s) => s.split('.').next()?.parse().ok()?,
                None => 0,
            };
            if !(0..24).contains(&h) || !(0..60).contains(&min) || !(0..60).contains(&sec) {
                return None;
            }
            h * 3_600 + min * 60 + sec
        }
    };
    Some(days_from_civil(y, m, d) * 86_400 + seconds)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_published(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// The gap between rows beyond which a file without a `published` column has an outage:
/// three times its median row spacing, and never less than [`CSV_OUTAGE_GAP_SECS`], so
/// daily or weekly data is not read as one outage after another.
pub fn default_outage_gap(timestamps: &[i64]) -> i64 {
    let mut gaps: Vec<i64> = timestamps.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let median = gaps.get(gaps.len() / 2).copied().unwrap_or(0);
    median.saturating_mul(3).max(CSV_OUTAGE_GAP_SECS)
}

/// Parses price rows: a timestamp (unix seconds or milliseconds, or ISO-8601 UTC;
/// strictly increasing), a positive USD price (from [`MIN_CSV_PRICE`] to
/// [`MAX_CSV_PRICE`]) and optionally whether the feed published at that time. An optional
/// header names the columns (`timestamp`/`time`/`date`, `price`/`close`, `published`) in
/// any order; blank lines are skipped. The rows are interpolated linearly onto the hourly
/// grid from the first timestamp. Outages come from the data only: where a `published`
/// column says 0 (until the next published row), or else gaps between rows longer than
/// `options.outage_gap_secs` (default [`default_outage_gap`]).
pub fn parse_csv(text: &str, options: &CsvOptions) -> Result<PricePath, CsvError> {
    let mut rows: Vec<(i64, f64, bool)> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut columns: Option<Columns> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split(',').map(str::trim).collect();
        let cols = match columns {
            Some(cols) => cols,
            None => {
                let header = Columns::from_header(&fields, line)?;
                let cols = header.unwrap_or(if fields.len() == 3 {
                    Columns { published: Some(2), count: 3, ..Columns::PLAIN }
                } else {
                    Columns::PLAIN
                });
                columns = Some(cols);
                if header.is_some() {
                    continue;
                }
                cols
            }
        };
        if fields.len() != cols.count {
            return Err(CsvError::Fields { line, expected: cols.count, found: fields.len() });
        }
        let value = fields[cols.timestamp];
        let timestamp = parse_timestamp(value).ok_or_else(|| CsvError::Timestamp { line, value: value.into() })?;
        let value = fields[cols.price];
        let price: f64 = value
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| CsvError::Price { line, value: value.to_string() })?;
        if price <= 0.0 {
            return Err(CsvError::NonPositivePrice { line, value: value.to_string() });
        }
        if !(MIN_CSV_PRICE..=MAX_CSV_PRICE).contains(&price) {
            return Err(CsvError::PriceOutOfRange { line, value: value.to_string() });
        }
        let published = match cols.published {
            Some(c) => {
                parse_published(fields[c]).ok_or_else(|| CsvError::Published { line, value: fields[c].into() })?
            }
            None => true,
        };
        if let Some(&(previous, _, _)) = rows.last() {
            if timestamp <= previous {
                return Err(CsvError::NotIncreasing { line, timestamp, previous });
            }
        }
        rows.push((timestamp, price, published));
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
    let marked = columns.is_some_and(|c| c.published.is_some());
    let timestamps: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let gap_limit = options.outage_gap_secs.unwrap_or_else(|| default_outage_gap(&timestamps));
    let steps = (span / STEP_SECS) as usize + 1;
    let mut prices = Vec::with_capacity(steps);
    let mut outages: Vec<Range<usize>> = Vec::new();
    let mut row = 0;
    for step in 0..steps {
        let t = first + step as i64 * STEP_SECS;
        while row + 2 < rows.len() && rows[row + 1].0 <= t {
            row += 1;
        }
        let ((t0, p0, published), (t1, p1, _)) = (rows[row], rows[row + 1]);
        let w = ((t - t0) as f64 / (t1 - t0) as f64).clamp(0.0, 1.0);
        prices.push(p0 + (p1 - p0) * w);
        // The row in force at `t` (the last one at or before it) says whether the feed published.
        let in_force = if t >= t1 { rows[row + 1].2 } else { published };
        let out = if marked { !in_force } else { t1 - t0 > gap_limit && t > t0 && t < t1 };
        if out {
            match outages.last_mut() {
                Some(o) if o.end == step => o.end = step + 1,
                _ => outages.push(step..step + 1),
            }
        }
    }
    let rule = if marked {
        "outages where the file's published column is 0".to_string()
    } else {
        format!("outages: gaps over {:.1} h", gap_limit as f64 / 3_600.0)
    };
    let mut label = format!("CSV, {} rows over {:.1} days; {rule}", rows.len(), span as f64 / 86_400.0);
    if let Interpolation::Bridge { seed } = options.interpolation {
        let var_per_sec = realized_variance_per_sec(&rows);
        add_bridge_moves(&mut prices, &timestamps, first, var_per_sec, seed);
        let annual = (var_per_sec * 365.0 * 86_400.0).sqrt();
        label.push_str(&format!(
            "; Brownian bridge between rows at the data's {:.0}% annual volatility",
            annual * 100.0
        ));
    }
    Ok(PricePath { label, prices, outages })
}

/// Sum of squared log returns between rows over the time they span: the data's own
/// variance per second.
fn realized_variance_per_sec(rows: &[(i64, f64, bool)]) -> f64 {
    let squared: f64 = rows.windows(2).map(|w| (w[1].1 / w[0].1).ln().powi(2)).sum();
    squared / (rows[rows.len() - 1].0 - rows[0].0) as f64
}

/// Multiplies the grid prices strictly between two rows by `exp(B)`, where `B` is a
/// Brownian bridge pinned at zero at both rows with variance `var_per_sec` per second.
/// Grid prices that fall on a row keep the row's price.
fn add_bridge_moves(prices: &mut [f64], rows: &[i64], first: i64, var_per_sec: f64, seed: u64) {
    let mut rng = Rng::new(seed).fork(17);
    let at = |step: usize| first + step as i64 * STEP_SECS;
    let mut step = 0;
    for w in rows.windows(2) {
        let (t0, t1) = (w[0], w[1]);
        let (mut b, mut s_prev) = (0.0f64, t0);
        while step < prices.len() && at(step) < t1 {
            let s = at(step);
            if s > t0 {
                // B(s) given B(s_prev), pinned at 0 at t1.
                let (dt, rest) = ((s - s_prev) as f64, (t1 - s_prev) as f64);
                let mean = b * (t1 - s) as f64 / rest;
                let var = var_per_sec * dt * (t1 - s) as f64 / rest;
                b = mean + var.sqrt() * rng.normal();
                prices[step] = (prices[step] * b.exp()).clamp(MIN_CSV_PRICE, MAX_CSV_PRICE);
                s_prev = s;
            }
            step += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_csv_default(text: &str) -> Result<PricePath, CsvError> {
        parse_csv(text, &CsvOptions::default())
    }

    /// Open, low, high and close of each week (rows 1.75 days apart on average), as free
    /// price data often comes: no gap between them is an outage unless the file says so.
    #[test]
    fn sparse_real_data_has_no_outage_unless_the_data_says_so() {
        let week = 7 * 86_400;
        let mut text = String::from("date,close\n");
        for w in 0..8i64 {
            for (offset, price) in [(0, 100), (2 * 86_400, 90), (4 * 86_400, 110), (week - 3_600, 105)] {
                text.push_str(&format!("{},{price}\n", w * week + offset));
            }
        }
        let path = parse_csv_default(&text).unwrap();
        assert!(path.outages.is_empty(), "{:?}", path.outages);
        assert!(path.label.contains("outages: gaps over"), "{}", path.label);
        // Told that any gap over a day is an outage, it has many.
        let strict = parse_csv(&text, &CsvOptions { outage_gap_secs: Some(86_400), ..CsvOptions::default() }).unwrap();
        assert!(strict.outages.len() >= 8, "{:?}", strict.outages);
        assert_eq!(default_outage_gap(&[0, 86_400, 2 * 86_400, 10 * 86_400]), 3 * 86_400);
        assert_eq!(default_outage_gap(&[0, 3_600, 7_200]), CSV_OUTAGE_GAP_SECS);
    }

    #[test]
    fn a_published_column_marks_the_outages_and_gaps_do_not() {
        let text = "price,published,timestamp\n100,1,0\n101,0,7200\n99,1,14400\n98,yes,100000\n";
        let path = parse_csv_default(text).unwrap();
        // Out from the unpublished row (step 2) until the next published one (step 4).
        assert_eq!(path.outages, vec![2..4]);
        assert_eq!(path.outage_share(), Some(2.0 / path.steps() as f64));
        assert!(path.label.contains("published column"), "{}", path.label);
        let bare = parse_csv_default("0,100,1\n3600,100,0\n7200,100,true\n").unwrap();
        assert_eq!(bare.outages, vec![1..2]);
    }

    #[test]
    fn a_bridge_fills_daily_rows_with_hourly_moves_of_the_datas_own_size() {
        // 200 days of alternating 5% daily moves.
        let mut text = String::new();
        let mut price = 100.0f64;
        for day in 0..=200i64 {
            text.push_str(&format!("{},{price}\n", day * 86_400));
            price *= if day % 2 == 0 { 1.05 } else { 1.0 / 1.05 };
        }
        let bridge = |seed| CsvOptions { interpolation: Interpolation::Bridge { seed }, ..CsvOptions::default() };
        let linear = parse_csv_default(&text).unwrap();
        let a = parse_csv(&text, &bridge(1)).unwrap();
        assert_eq!(a, parse_csv(&text, &bridge(1)).unwrap(), "deterministic for a seed");
        assert_ne!(a.prices, parse_csv(&text, &bridge(2)).unwrap().prices);
        assert!(a.label.contains("Brownian bridge"), "{}", a.label);
        // Every row is met exactly; between rows the path moves.
        for day in 0..=200 {
            assert_eq!(a.prices[day * 24], linear.prices[day * 24]);
        }
        assert!(a.prices.iter().zip(&linear.prices).filter(|(x, y)| x != y).count() > 4_000);
        // The hourly path carries the data's variance (the straight line alone carries 1/24 of it).
        let realized = |p: &[f64]| p.windows(2).map(|w| (w[1] / w[0]).ln().powi(2)).sum::<f64>();
        let data = 200.0 * 1.05f64.ln().powi(2);
        let ratio = realized(&a.prices) / data;
        assert!((0.8..1.3).contains(&ratio), "hourly variance / data variance = {ratio}");
        assert!(realized(&linear.prices) / data < 0.1);
    }

    #[test]
    fn timestamps_in_seconds_milliseconds_or_iso_8601() {
        let ms = parse_csv_default("time,price\n1750000000000,1\n1750007200000,3\n").unwrap();
        assert_eq!(ms.prices, vec![1.0, 2.0, 3.0]);
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("2025-06-15T13:00Z"), Some(1_749_992_400));
        assert_eq!(parse_timestamp("2025-06-15 13:00:05.250"), Some(1_749_992_405));
        assert_eq!(parse_timestamp("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_timestamp("2023-02-29"), None);
        assert_eq!(parse_timestamp("2025-06-15T24:00"), None);
        let iso = parse_csv_default("2025-06-15T00:00Z,10\n2025-06-15T02:00Z,12\n").unwrap();
        assert_eq!(iso.prices, vec![10.0, 11.0, 12.0]);
    }

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
        let path = parse_csv_default("timestamp,price\n1000,10\n8200,12.0\r\n\n").unwrap();
        assert_eq!(path.prices, vec![10.0, 11.0, 12.0]);
        assert!(path.outages.is_empty());
        let bare = parse_csv_default("0, 5\n3600, 6").unwrap();
        assert_eq!(bare.prices, vec![5.0, 6.0]);
    }

    #[test]
    fn csv_gap_is_an_outage() {
        let path = parse_csv_default("0,100\n3600,100\n36000,50\n39600,60\n").unwrap();
        assert_eq!(path.steps(), 12);
        assert_eq!(path.outages, vec![2..10]);
        assert!((path.prices[5] - (100.0 - 50.0 * 14_400.0 / 32_400.0)).abs() < 1e-9);
    }

    #[test]
    fn csv_errors_name_the_line_and_the_problem() {
        let cases: [(&str, CsvError); 10] = [
            ("", CsvError::Empty),
            ("timestamp,price\n\n", CsvError::Empty),
            ("0,1\n3600", CsvError::Fields { line: 2, expected: 2, found: 1 }),
            ("0,1,1,2\n", CsvError::Fields { line: 1, expected: 2, found: 4 }),
            ("0,1\nnoon,2\n", CsvError::Timestamp { line: 2, value: "noon".into() }),
            ("0,1\n3600,abc\n", CsvError::Price { line: 2, value: "abc".into() }),
            ("0,1\n3600,NaN\n", CsvError::Price { line: 2, value: "NaN".into() }),
            ("0,1\n\n3600,-2\n", CsvError::NonPositivePrice { line: 3, value: "-2".into() }),
            ("0,1\n3600,2\n3600,3\n", CsvError::NotIncreasing { line: 3, timestamp: 3600, previous: 3600 }),
            ("timestamp,price\n0,1\n", CsvError::TooFewRows { rows: 1 }),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_csv_default(text), Err(expected), "{text:?}");
        }
        assert_eq!(parse_csv_default("0,1\n60,2\n"), Err(CsvError::TooShort { secs: 60 }));
        assert_eq!(
            parse_csv_default("0,1\n3600,0.00000001\n"),
            Err(CsvError::PriceOutOfRange { line: 2, value: "0.00000001".into() })
        );
        assert!(matches!(parse_csv_default("0,1\n9000000000,2\n"), Err(CsvError::TooLong { .. })));
        // A header anywhere but the first line is a bad row.
        assert_eq!(
            parse_csv_default("0,1\ntimestamp,price\n"),
            Err(CsvError::Timestamp { line: 2, value: "timestamp".into() })
        );
        assert_eq!(parse_csv_default("when,price\n0,1\n"), Err(CsvError::Header { line: 1, name: "when".into() }));
        assert_eq!(
            parse_csv_default("0,1,1\n3600,2,maybe\n"),
            Err(CsvError::Published { line: 2, value: "maybe".into() })
        );
        assert_eq!(
            parse_csv_default("2025-02-30,1\n"),
            Err(CsvError::Timestamp { line: 1, value: "2025-02-30".into() })
        );
        let message = CsvError::Price { line: 7, value: "x".into() }.to_string();
        assert_eq!(message, "line 7: price \"x\" is not a number");
    }

    #[test]
    fn csv_file_errors_name_the_file() {
        let missing = load_csv(Path::new("/nonexistent/prices.csv"), &CsvOptions::default()).unwrap_err();
        assert!(matches!(missing, CsvError::Io { .. }));
        assert!(missing.to_string().contains("/nonexistent/prices.csv"));
    }
}
