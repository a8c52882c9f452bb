//! The run's report: `summary.md` and SVG plots (drawn with `plotters`) in one directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::agents::{MARKETS, MARKET_NAMES};
use crate::attack::{self, AttackOutcome, Defences, Pump};
use crate::stress::SimOutcome;
use ballast_risk::regime::Regime;

/// Everything sampled once per hourly step, for the plots.
#[derive(Debug, Default, Clone)]
pub struct Timeline {
    /// Days since the start (the x axis of every plot).
    pub day: Vec<f64>,
    /// SOL's true price (the path), what the oracle last published, the feed's EMA, and
    /// the sim's own EMA of the path.
    pub path_price: Vec<f64>,
    pub oracle_price: Vec<f64>,
    pub oracle_ema: Vec<f64>,
    pub sim_ema: Vec<f64>,
    /// The sim's own annualised volatility of the path (EWMA of squared returns).
    pub sim_vol: Vec<f64>,
    /// The oracle was not publishing.
    pub outage: Vec<bool>,
    /// The program's own estimate for the native token, from its state (percent):
    /// annualised volatility and drawdown below its EMA price.
    pub program_vol: Vec<f64>,
    pub program_drawdown: Vec<f64>,
    /// The multiplier on BAL's collateral weights (percent), ramping to each regime's.
    pub native_weight_multiplier: Vec<f64>,
    /// The program's regime from each day it was entered (the first entry is the start),
    /// and circuit-breaker trips, by day.
    pub regimes: Vec<(f64, Regime)>,
    pub breaker_trips: Vec<(f64, String)>,
    /// The [`HEALTH_PERCENTILES`] of the borrowers' health ratio each hour at the new
    /// price, before keepers act; `None` when nobody borrows.
    pub health: Vec<Option<[f64; 5]>>,
    /// Share of borrowers below maintenance health then.
    pub below_maint: Vec<f64>,
    /// Liquidations in the step.
    pub liquidations: Vec<u32>,
    /// Running totals (USD): debt repaid by liquidators, bad debt written off, and the
    /// part of it the insurance funds did not cover.
    pub liquidated_usd: Vec<f64>,
    pub bad_debt_usd: Vec<f64>,
    pub socialised_usd: Vec<f64>,
    /// Insurance fund of each market (USD).
    pub insurance_usd: Vec<[f64; MARKETS]>,
    /// Native token (whole tokens): supply, burned and emitted so far, staked.
    pub supply: Vec<f64>,
    pub burned: Vec<f64>,
    pub emitted: Vec<f64>,
    pub staked: Vec<f64>,
    /// Total staked weight (whole-token units): the escrows' checkpointed weights, which
    /// decay as locks run down.
    pub weight: Vec<f64>,
    /// Rewards claimed by stakers so far (USD at claim time): the native stream, then
    /// each market's fee stream.
    pub rewards_usd: Vec<[f64; 1 + MARKETS]>,
    /// Agents' transactions in the step: accepted, and refused by the program.
    pub actions_ok: Vec<u32>,
    pub actions_refused: Vec<u32>,
}

/// Percentiles of the health distribution the report plots.
pub const HEALTH_PERCENTILES: [&str; 5] = ["5th", "25th", "50th", "75th", "95th"];

/// The plots, in the order the summary shows them: file name and caption.
pub const PLOTS: [(&str, &str); 12] = [
    ("price.svg", "SOL price: path, oracle and EMAs; the program's regimes"),
    ("volatility.svg", "Volatility, drawdown, regimes and breaker trips"),
    ("health.svg", "Health of borrowing accounts"),
    ("liquidations.svg", "Liquidations per hour"),
    ("liquidated.svg", "Debt repaid by liquidators"),
    ("bad_debt.svg", "Bad debt"),
    ("insurance.svg", "Insurance funds"),
    ("supply.svg", "Native token supply: emitted and burned"),
    ("staking.svg", "Staking: amount staked and its decaying weight"),
    ("rewards.svg", "Staker rewards claimed"),
    ("activity.svg", "Agents' transactions"),
    ("attack.svg", "Attackers: debt against the pumped collateral"),
];

const OUTAGE: RGBAColor = RGBAColor(60, 60, 60, 0.2);
const REGIME_COLOURS: [RGBColor; 4] =
    [RGBColor(60, 170, 90), RGBColor(230, 200, 40), RGBColor(240, 130, 30), RGBColor(200, 30, 30)];
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(127, 127, 127),
];

/// Writes `summary.md` and every plot into `dir` (created if missing). Returns the
/// files written.
pub fn write(dir: &Path, outcome: &SimOutcome) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for chart in charts(&outcome.timeline) {
        files.push(draw(dir, &chart)?);
    }
    files.push(draw(dir, &attack_chart(&outcome.attacks))?);
    let csv = dir.join("timeline.csv");
    std::fs::write(&csv, timeline_csv(&outcome.timeline))
        .map_err(|e| format!("cannot write {}: {e}", csv.display()))?;
    files.push(csv);
    let summary = dir.join("summary.md");
    std::fs::write(&summary, summary_markdown(outcome))
        .map_err(|e| format!("cannot write {}: {e}", summary.display()))?;
    files.push(summary);
    Ok(files)
}

/// Every hourly sample as CSV, for analysis elsewhere (one row per step).
pub fn timeline_csv(t: &Timeline) -> String {
    let mut out = String::from(
        "day,path_price,oracle_price,oracle_ema,sim_ema,sim_vol,outage,program_vol_pct,program_drawdown_pct,regime,\
         bal_weight_multiplier_pct,\
         health_p5,health_p25,health_p50,health_p75,\
         health_p95,below_maint,liquidations,liquidated_usd,bad_debt_usd,socialised_usd,insurance_usdc_usd,\
         insurance_sol_usd,insurance_bal_usd,supply,burned,emitted,staked,weight,rewards_native_usd,rewards_usdc_usd,\
         rewards_sol_usd,rewards_bal_usd,actions_ok,actions_refused\n",
    );
    for i in 0..t.day.len() {
        let health = t.health[i]
            .map_or([String::new(), String::new(), String::new(), String::new(), String::new()], |h| {
                h.map(|v| format!("{v:.4}"))
            });
        let mut row = vec![
            format!("{:.4}", t.day[i]),
            format!("{:.4}", t.path_price[i]),
            format!("{:.4}", t.oracle_price[i]),
            format!("{:.4}", t.oracle_ema[i]),
            format!("{:.4}", t.sim_ema[i]),
            format!("{:.4}", t.sim_vol[i]),
            u8::from(t.outage[i]).to_string(),
            format!("{:.2}", t.program_vol[i]),
            format!("{:.2}", t.program_drawdown[i]),
            format!("{:?}", regime_at(&t.regimes, t.day[i])),
            format!("{:.2}", t.native_weight_multiplier[i]),
        ];
        row.extend(health);
        row.push(format!("{:.4}", t.below_maint[i]));
        row.push(t.liquidations[i].to_string());
        row.extend([t.liquidated_usd[i], t.bad_debt_usd[i], t.socialised_usd[i]].map(|v| format!("{v:.2}")));
        row.extend(t.insurance_usd[i].map(|v| format!("{v:.2}")));
        row.extend([t.supply[i], t.burned[i], t.emitted[i], t.staked[i], t.weight[i]].map(|v| format!("{v:.6}")));
        row.extend(t.rewards_usd[i].map(|v| format!("{v:.2}")));
        row.extend([t.actions_ok[i], t.actions_refused[i]].map(|n| n.to_string()));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The regime the program was in on `day`.
fn regime_at(regimes: &[(f64, Regime)], day: f64) -> Regime {
    regimes.iter().take_while(|(from, _)| *from <= day).last().map_or(Regime::Calm, |(_, r)| *r)
}

/// One line of a chart.
pub(crate) struct Line {
    label: String,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
    /// Filled down to zero.
    filled: bool,
}

/// A shaded stretch of the x axis.
pub(crate) struct Band {
    from: f64,
    to: f64,
    colour: RGBAColor,
}

pub(crate) struct Chart {
    file: String,
    title: String,
    x_label: String,
    y_label: String,
    lines: Vec<Line>,
    bands: Vec<Band>,
    /// Vertical markers (x, label).
    marks: Vec<(f64, String)>,
    /// Lines of text under the title.
    notes: Vec<String>,
    /// Lower bound of the y axis, if fixed (else from the data).
    y_floor: Option<f64>,
    /// The x axis spans the data (else it starts at 0, the start of the run).
    x_from_data: bool,
}

impl Chart {
    fn new(file: &'static str, y_label: &'static str) -> Chart {
        let title = PLOTS.iter().find(|(f, _)| *f == file).map_or(file, |(_, t)| t);
        Chart::titled(file, title, "day", y_label)
    }

    /// A chart written to `file`, of any x axis.
    pub(crate) fn titled(
        file: impl Into<String>,
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            file: file.into(),
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            lines: Vec::new(),
            bands: Vec::new(),
            marks: Vec::new(),
            notes: Vec::new(),
            y_floor: Some(0.0),
            x_from_data: false,
        }
    }

    /// The x axis spans the data rather than starting at 0.
    pub(crate) fn x_from_data(self) -> Chart {
        Chart { x_from_data: true, ..self }
    }

    /// Gives the last line `colour` instead of the palette's next one.
    fn colour(mut self, colour: RGBColor) -> Chart {
        if let Some(l) = self.lines.last_mut() {
            l.colour = colour;
        }
        self
    }

    pub(crate) fn line(
        mut self,
        label: impl Into<String>,
        days: &[f64],
        values: impl IntoIterator<Item = f64>,
    ) -> Chart {
        let colour = PALETTE[self.lines.len() % PALETTE.len()];
        let points = days.iter().copied().zip(values).filter(|(_, y)| y.is_finite()).collect();
        self.lines.push(Line { label: label.into(), colour, points, filled: false });
        self
    }

    pub(crate) fn area(
        mut self,
        label: impl Into<String>,
        days: &[f64],
        values: impl IntoIterator<Item = f64>,
    ) -> Chart {
        self = self.line(label, days, values);
        if let Some(l) = self.lines.last_mut() {
            l.filled = true;
        }
        self
    }

    pub(crate) fn note(mut self, text: impl Into<String>) -> Chart {
        self.notes.push(text.into());
        self
    }

    /// Shades the program's regimes above Calm.
    fn regimes(mut self, t: &Timeline) -> Chart {
        let last = t.day.last().copied().unwrap_or(0.0) + 1.0 / 24.0;
        for (i, (day, regime)) in t.regimes.iter().enumerate() {
            if *regime == Regime::Calm {
                continue;
            }
            let to = t.regimes.get(i + 1).map_or(last, |(d, _)| *d);
            self.bands.push(Band { from: *day, to, colour: REGIME_COLOURS[regime.index()].mix(0.15) });
        }
        if t.regimes.iter().all(|(_, r)| *r == Regime::Calm) {
            return self.note("program regime: Calm throughout");
        }
        self.note("program regime (from its state): yellow Elevated, orange Stressed, red Crisis")
    }

    /// Shades the oracle outages.
    fn outages(mut self, t: &Timeline) -> Chart {
        self.bands.extend(spans(&t.day, &t.outage).into_iter().map(|(from, to)| Band { from, to, colour: OUTAGE }));
        if !self.bands.is_empty() {
            self = self.note("shaded grey: oracle outage");
        }
        self
    }
}

/// Stretches of days where `flags` is set, each extended to the next sample.
fn spans(days: &[f64], flags: &[bool]) -> Vec<(f64, f64)> {
    let step = if days.len() > 1 { days[1] - days[0] } else { 1.0 / 24.0 };
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (&day, &on) in days.iter().zip(flags) {
        if !on {
            continue;
        }
        match out.last_mut() {
            Some((_, to)) if (*to - day).abs() < step / 2.0 => *to = day + step,
            _ => out.push((day, day + step)),
        }
    }
    out
}

fn charts(t: &Timeline) -> Vec<Chart> {
    let days = &t.day;
    let price = Chart::new("price.svg", "USD")
        .line("path (true price; differs from the oracle while it is out)", days, t.path_price.iter().copied())
        .colour(PALETTE[5])
        .line("oracle (published)", days, t.oracle_price.iter().copied())
        .colour(PALETTE[0])
        .line("oracle EMA (Pyth-style, 1 h)", days, t.oracle_ema.iter().copied())
        .colour(PALETTE[1])
        .line("sim EMA of the path (1 day, the sim's own measure)", days, t.sim_ema.iter().copied())
        .colour(PALETTE[3])
        .regimes(t)
        .outages(t);

    let mut volatility = Chart::new("volatility.svg", "percent")
        .line(
            "SOL: the sim's own EWMA of squared hourly returns (1 day), annualised",
            days,
            t.sim_vol.iter().map(|v| v * 100.0),
        )
        .line("BAL: the program's estimate (update_volatility), annualised", days, t.program_vol.iter().copied())
        .line("BAL: the program's drawdown below its EMA price", days, t.program_drawdown.iter().copied())
        .line(
            "BAL: multiplier on its collateral weights (regime's, ramped)",
            days,
            t.native_weight_multiplier.iter().copied(),
        )
        .regimes(t)
        .outages(t);
    volatility.marks = t.breaker_trips.clone();
    volatility = volatility.note(if t.breaker_trips.is_empty() {
        "no circuit breaker tripped".to_string()
    } else {
        "vertical lines: circuit-breaker trips (program state)".to_string()
    });

    // Ratios far above the threshold say nothing more about stress: clip the axis.
    let clip = |v: f64| v.min(5.0);
    let percentile = |i: usize| t.health.iter().map(move |h| h.map_or(f64::NAN, |h| clip(h[i])));
    let mut health = Chart::new("health.svg", "maintenance assets / liabilities");
    for (i, label) in HEALTH_PERCENTILES.iter().enumerate() {
        health = health.line(format!("{label} percentile"), days, percentile(i));
    }
    let health = health
        .line("liquidation threshold (1.0)", days, days.iter().map(|_| 1.0))
        .colour(BLACK)
        .note("each hour at the new price, before keepers act; accounts without debt left out; clipped at 5")
        .outages(t);

    let liquidations = Chart::new("liquidations.svg", "liquidations per hour")
        .area("liquidations", days, t.liquidations.iter().map(|&n| f64::from(n)))
        .line("borrowers below maintenance before keepers act (%)", days, t.below_maint.iter().map(|s| s * 100.0))
        .outages(t);
    let liquidated = Chart::new("liquidated.svg", "USD, cumulative")
        .line("debt repaid by liquidators", days, t.liquidated_usd.iter().copied())
        .outages(t);
    let bad_debt = Chart::new("bad_debt.svg", "USD, cumulative")
        .line("bad debt written off", days, t.bad_debt_usd.iter().copied())
        .line("covered by insurance funds", days, t.bad_debt_usd.iter().zip(&t.socialised_usd).map(|(b, s)| b - s))
        .line("socialised on lenders", days, t.socialised_usd.iter().copied())
        .outages(t);

    let mut insurance = Chart::new("insurance.svg", "USD");
    for (m, name) in MARKET_NAMES.iter().enumerate() {
        insurance = insurance.line(format!("{name} market"), days, t.insurance_usd.iter().map(|i| i[m]));
    }
    let insurance = insurance.line("total", days, t.insurance_usd.iter().map(|i| i.iter().sum::<f64>()));

    let supply = Chart::new("supply.svg", "native tokens, cumulative")
        .line("emitted (staking emissions)", days, t.emitted.iter().copied())
        .line("burned (buybacks, exit penalties)", days, t.burned.iter().copied())
        .line("net change of supply", days, t.emitted.iter().zip(&t.burned).map(|(e, b)| e - b))
        .note(format!(
            "supply {} at the start, {} at the end",
            t.supply.first().map_or("-".into(), |s| thousands(*s)),
            t.supply.last().map_or("-".into(), |s| thousands(*s))
        ));
    let supply = Chart { y_floor: None, ..supply };

    let staking = Chart::new("staking.svg", "native tokens (weight in the same units)")
        .line("staked", days, t.staked.iter().copied())
        .line("total weight (lock boosts decaying, checkpointed daily)", days, t.weight.iter().copied());

    let mut rewards = Chart::new("rewards.svg", "USD at claim time, cumulative").line(
        "native stream (emissions, buyback share)",
        days,
        t.rewards_usd.iter().map(|r| r[0]),
    );
    for (m, name) in MARKET_NAMES.iter().enumerate() {
        rewards = rewards.line(format!("{name} market fees"), days, t.rewards_usd.iter().map(|r| r[1 + m]));
    }

    let activity = Chart::new("activity.svg", "transactions per hour")
        .line("accepted", days, t.actions_ok.iter().map(|&n| f64::from(n)))
        .line(
            "refused by the program (stale or jumpy price, health, liquidity)",
            days,
            t.actions_refused.iter().map(|&n| f64::from(n)),
        )
        .outages(t);

    vec![price, volatility, health, liquidations, liquidated, bad_debt, insurance, supply, staking, rewards, activity]
}

/// The attackers' debt in every run, and the value of the THIN they put up at the
/// oracle price (as long as nothing was seized), hour by hour.
fn attack_chart(attacks: &[AttackOutcome]) -> Chart {
    let mut chart = Chart { x_label: "hours since the attack began".into(), ..Chart::new("attack.svg", "USD") };
    if attacks.is_empty() {
        return chart.note("no attacker runs in this report");
    }
    let colour = |pump: Pump, defences: Defences| match (pump, defences) {
        (Pump::Slow, Defences::Off) => PALETTE[4],
        (Pump::Slow, Defences::On) => PALETTE[2],
        (Pump::Fast, Defences::Off) => PALETTE[1],
        (Pump::Fast, Defences::On) => PALETTE[0],
    };
    for pump in Pump::ALL {
        // The run with the defences on keeps its collateral longest (it is liquidated
        // least): its THIN at the oracle price traces the pump.
        let Some(run) = attacks.iter().filter(|a| a.pump == pump).max_by_key(|a| a.defences) else { continue };
        let hours: Vec<f64> = run.timeline.iter().map(|s| s.hours).collect();
        chart = chart
            .line(
                format!("{}: the attacker's THIN at the oracle price", pump.label()),
                &hours,
                run.timeline.iter().map(|s| s.collateral_usd),
            )
            .colour(if pump == Pump::Slow { PALETTE[3] } else { PALETTE[5] });
    }
    for a in attacks {
        let hours: Vec<f64> = a.timeline.iter().map(|s| s.hours).collect();
        chart = chart
            .line(
                format!("{}, defences {}: debt", a.name, a.defences.label()),
                &hours,
                a.timeline.iter().map(|s| s.debt_usd),
            )
            .colour(colour(a.pump, a.defences));
    }
    let extracted: Vec<String> = Pump::ALL
        .iter()
        .map(|&pump| {
            let runs: Vec<String> = attacks
                .iter()
                .filter(|a| a.pump == pump)
                .map(|a| format!("{} defences {}", usd(a.extracted_usd), a.defences.label()))
                .collect();
            format!("{}: {}", pump.label(), runs.join(", "))
        })
        .collect();
    chart
        .note("THIN: the attacker's collateral at the oracle price, pumped from $1.00 and back; debt: what it borrowed")
        .note(format!("extracted (unbacked once the price is back) by the {}", extracted.join("; ")))
}

pub(crate) fn draw(dir: &Path, chart: &Chart) -> Result<PathBuf, String> {
    let file = dir.join(&chart.file);
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", file.display());
    let xs = || chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x_min, x_max) = if chart.x_from_data {
        let (lo, hi) = xs().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        // A single x value still gets an axis around it.
        let pad = (lo.abs() * 0.05).max(0.5);
        match lo <= hi {
            false => (0.0, 1.0),
            true if hi - lo < 1e-9 => (lo - pad, hi + pad),
            true => (lo, hi),
        }
    } else {
        (0.0, xs().fold(0.0, f64::max).max(1.0 / 24.0))
    };
    let ys = chart.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    if let Some(floor) = chart.y_floor {
        lo = lo.min(floor);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (if chart.y_floor == Some(lo) { lo } else { lo - pad }, hi + pad);

    let root = SVGBackend::new(&file, (960, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let area = root.titled(&chart.title, ("sans-serif", 20)).map_err(|e| err(&e))?;
    let note_style = ("sans-serif", 13).into_font().color(&BLACK.mix(0.7));
    for (i, note) in chart.notes.iter().enumerate() {
        area.draw(&Text::new(note.as_str(), (82, 4 + 16 * i as i32), note_style.clone())).map_err(|e| err(&e))?;
    }
    let mut ctx = ChartBuilder::on(&area)
        .margin(12)
        .margin_top(8 + 16 * chart.notes.len() as u32)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_min..x_max, lo..hi)
        .map_err(|e| err(&e))?;
    let span = hi - lo;
    let y_tick = move |v: &f64| match span {
        s if s >= 100.0 => thousands(*v),
        s if s >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    };
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .y_label_formatter(&y_tick)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| err(&e))?;
    ctx.draw_series(chart.bands.iter().map(|b| Rectangle::new([(b.from, lo), (b.to, hi)], b.colour.filled())))
        .map_err(|e| err(&e))?;
    for (x, label) in &chart.marks {
        ctx.draw_series(std::iter::once(PathElement::new(vec![(*x, lo), (*x, hi)], PALETTE[4].stroke_width(1))))
            .map_err(|e| err(&e))?;
        ctx.draw_series(std::iter::once(Text::new(label.clone(), (*x, hi), ("sans-serif", 11))))
            .map_err(|e| err(&e))?;
    }
    for line in &chart.lines {
        let style = line.colour.stroke_width(2);
        let colour = line.colour;
        let drawn = if line.filled {
            ctx.draw_series(AreaSeries::new(line.points.iter().copied(), 0.0, colour.mix(0.3)).border_style(style))
        } else {
            ctx.draw_series(LineSeries::new(line.points.iter().copied(), style))
        };
        drawn
            .map_err(|e| err(&e))?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    ctx.configure_series_labels()
        .position(emptiest_corner(&chart.lines, (x_min, x_max), (lo, hi)))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    drop(ctx);
    drop(area);
    drop(root);
    Ok(file)
}

/// The corner of the plot where the legend hides the fewest data points (the box it
/// takes is estimated from the number of lines).
fn emptiest_corner(lines: &[Line], (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> SeriesLabelPosition {
    let (w, h) = (0.45 * (x1 - x0), (0.05 + 0.06 * lines.len() as f64) * (y1 - y0));
    let corners = [
        (SeriesLabelPosition::UpperLeft, x0, y1 - h),
        (SeriesLabelPosition::UpperRight, x1 - w, y1 - h),
        (SeriesLabelPosition::LowerLeft, x0, y0),
        (SeriesLabelPosition::LowerRight, x1 - w, y0),
    ];
    let hidden = |left: f64, bottom: f64| {
        let inside = |&(x, y): &(f64, f64)| x >= left && x <= left + w && y >= bottom && y <= bottom + h;
        lines.iter().map(|l| l.points.iter().filter(|p| inside(p)).count()).sum::<usize>()
    };
    // The first corner wins ties: upper left, where a reader looks first.
    corners
        .into_iter()
        .min_by_key(|(_, left, bottom)| hidden(*left, *bottom))
        .map_or(SeriesLabelPosition::UpperLeft, |c| c.0)
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < -0.5 {
        out.insert(0, '-');
    }
    out
}

pub(crate) fn usd(v: f64) -> String {
    if v < -0.5 {
        return format!("−${}", thousands(-v));
    }
    format!("${}", thousands(v))
}

/// Whole tokens of `units` base units with `decimals`.
fn whole(units: u128, decimals: u8) -> f64 {
    units as f64 / 10f64.powi(i32::from(decimals))
}

/// The feeds' format as the summary names it.
fn feed_format(protocol: &ballast::Protocol) -> &'static str {
    match protocol.native_oracle.kind() {
        Ok(ballast::OracleKind::PythPriceUpdateV2) => "PriceUpdateV2 push feeds, as Pyth publishes on Solana today",
        Ok(ballast::OracleKind::PythLegacy) => "legacy price accounts",
        Err(_) => "unknown format",
    }
}

/// Above this share of outage hours the summary warns that the run mostly measures outages.
pub const OUTAGE_WARNING_SHARE: f64 = 0.1;

pub fn summary_markdown(o: &SimOutcome) -> String {
    let t = &o.timeline;
    let mut s = String::new();
    let days = o.path.steps() as f64 / 24.0;
    let agents: usize = o.roles.values().sum();
    let roles: Vec<String> = o.roles.iter().map(|(r, n)| format!("{n} {r}s")).collect();
    let _ = writeln!(s, "# Ballast stress simulation\n");
    let _ = writeln!(
        s,
        "The real program (compiled for the host) on solana-program-test: a native token (BAL), a quote \
         stablecoin (USDC) and a collateral market (SOL), Pyth feeds ({}), {agents} agents ({}) and {} keepers, \
         {} hourly steps ({days:.1} days).\n",
        feed_format(&o.protocol),
        roles.join(", "),
        o.keepers,
        o.path.steps()
    );
    let _ = writeln!(s, "- Price path: {}", o.path.label);
    let _ = writeln!(s, "- Seed: {}\n", o.seed);

    let _ = writeln!(s, "## Result\n");
    if o.violations.is_empty() {
        let _ = writeln!(
            s,
            "- **Invariants held** (checked daily and at the end): every market's vault holds at least its books, \
             native supply = genesis + emitted − burned, stake vault = total staked."
        );
    } else {
        let _ = writeln!(s, "- **INVARIANTS BROKEN**:");
        for v in &o.violations {
            let _ = writeln!(s, "  - {v}");
        }
    }
    let _ = writeln!(
        s,
        "- Transactions: {} in {:.1} s, **{:.0} tx/s** ({} of them setting up, in {:.1} s).",
        thousands(o.transactions as f64),
        o.wall_secs,
        o.tx_per_sec(),
        thousands(o.setup_transactions as f64),
        o.setup_secs
    );
    let _ = writeln!(
        s,
        "- Liquidations: {} (debt repaid {}); bad debt written off {} of which {} socialised on lenders.",
        o.liquidations,
        usd(t.liquidated_usd.last().copied().unwrap_or(0.0)),
        usd(o.bad_debt_usd),
        usd(o.socialised_usd)
    );
    if !o.path.outages.is_empty() {
        let _ = writeln!(
            s,
            "- Liquidations while the oracle was out (on a price too old for borrows, within the liquidation age): {}.",
            o.outage_liquidations
        );
    }
    let by_collateral: Vec<String> =
        MARKET_NAMES.iter().zip(o.liquidations_by_collateral).map(|(name, n)| format!("{name} {n}")).collect();
    let _ = writeln!(s, "- Liquidations by collateral seized: {}.", by_collateral.join(", "));
    let _ = writeln!(
        s,
        "- Agents' actions refused by the program as expected under stress: {}; unexpected failures: {}.",
        o.tally.refused_total(),
        o.tally.failed_total()
    );

    let _ = writeln!(s, "\n## Price path\n");
    let prices = &o.path.prices;
    let (low_step, low) =
        prices.iter().copied().enumerate().fold((0, f64::MAX), |best, (i, p)| if p < best.1 { (i, p) } else { best });
    let _ = writeln!(
        s,
        "SOL starts at ${:.2}, bottoms at ${low:.2} on day {:.1} and ends at ${:.2}; largest drawdown {:.1}%. \
         Peak observed volatility (the sim's own EWMA of the path, τ = 1 day): {:.0}% annualised.\n",
        prices[0],
        low_step as f64 / 24.0,
        prices[prices.len() - 1],
        o.path.max_drawdown() * 100.0,
        t.sim_vol.iter().copied().fold(0.0, f64::max) * 100.0
    );
    if o.path.outages.is_empty() {
        let _ = writeln!(s, "No oracle outage.");
    } else {
        let windows: Vec<String> = o
            .path
            .outages
            .iter()
            .map(|w| format!("day {:.2} to {:.2} ({} h)", w.start as f64 / 24.0, w.end as f64 / 24.0, w.len()))
            .collect();
        let _ = writeln!(s, "Oracle outages (no feed publishes): {}.", windows.join("; "));
        if let Some(share) = o.path.outage_share().filter(|share| *share > OUTAGE_WARNING_SHARE) {
            let _ = writeln!(
                s,
                "\n**Warning:** the feeds are out for {:.0}% of the run: the result says more about the outages \
                 than about Ballast. For price data with rows far apart, let outages come from the data (a \
                 `published` column) or set `--outage-gap`.",
                share * 100.0
            );
        }
    }

    let _ = writeln!(s, "\n## Markets at the end\n");
    let _ = writeln!(
        s,
        "| market | deposits | borrows | utilisation | insurance fund | buyback pool | staker pool | vault | books |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, (handle, market, books)) in o.markets.iter().enumerate() {
        let d = handle.decimals;
        let name = MARKET_NAMES.get(i).copied().unwrap_or("?");
        let util = if books.deposits == 0 { 0.0 } else { books.borrows as f64 / books.deposits as f64 * 100.0 };
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {util:.1}% | {} | {} | {} | {} | {} |",
            thousands(whole(books.deposits, d)),
            thousands(whole(books.borrows, d)),
            thousands(whole(market.insurance_fund.into(), d)),
            thousands(whole(market.buyback_pool.into(), d)),
            thousands(whole(market.staker_pool.into(), d)),
            thousands(whole(books.vault, d)),
            if books.balanced() { "balance" } else { "**SHORT**" }
        );
    }
    let _ = writeln!(s, "\nAmounts in whole tokens.");

    let p = &o.protocol;
    let _ = writeln!(s, "\n## Native token (BAL)\n");
    let _ = writeln!(s, "| | BAL |\n|---|---:|");
    for (label, units) in [
        ("supply at the end", u128::from(o.native_supply)),
        ("emitted to stakers", p.total_emitted.into()),
        ("bought back by keepers", p.total_bought_back.into()),
        ("burned", p.total_burned.into()),
        ("staked at the end", p.total_staked.into()),
    ] {
        let _ = writeln!(s, "| {label} | {} |", thousands(whole(units, 6)));
    }
    let claimed = t.rewards_usd.last().copied().unwrap_or_default();
    let _ = writeln!(
        s,
        "\nStakers claimed {} of native rewards and {} of market fees (USD at claim time).",
        usd(claimed[0]),
        usd(claimed[1..].iter().sum())
    );

    let _ = writeln!(s, "\n## Program risk state\n");
    let held: Vec<String> = o
        .tally
        .held_back
        .iter()
        .filter(|((action, _), _)| *action == "update_volatility")
        .map(|((_, reason), n)| format!("{n} × {reason}"))
        .collect();
    let _ = writeln!(
        s,
        "- Volatility keeper: {} samples taken; held back by the native feed {}.",
        o.tally.ok("update_volatility"),
        if held.is_empty() { "never".to_string() } else { held.join(", ") }
    );
    let peak = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let _ = writeln!(
        s,
        "- The program's estimate for BAL peaked at {:.0}% annualised volatility and a {:.1}% drawdown below its EMA.",
        peak(&t.program_vol),
        peak(&t.program_drawdown)
    );
    let mut hours = [0usize; 4];
    for &day in &t.day {
        hours[regime_at(&t.regimes, day).index()] += 1;
    }
    let entered: Vec<String> = t.regimes.iter().map(|(day, r)| format!("{r:?} from day {day:.1}")).collect();
    let time_in: Vec<String> =
        Regime::ALL.iter().zip(hours).filter(|(_, h)| *h > 0).map(|(r, h)| format!("{r:?} {h} h")).collect();
    let _ = writeln!(s, "- Regimes: {} (time in each: {}).", entered.join(", "), time_in.join(", "));
    let mut trips: std::collections::BTreeMap<&str, (usize, f64)> = std::collections::BTreeMap::new();
    for (day, label) in &t.breaker_trips {
        trips.entry(label.as_str()).or_insert((0, *day)).0 += 1;
    }
    let trips: Vec<String> =
        trips.iter().map(|(label, (n, first))| format!("{label} {n} × (first on day {first:.1})")).collect();
    let _ = writeln!(
        s,
        "- Circuit-breaker trips: {}.",
        if trips.is_empty() { "none".to_string() } else { trips.join("; ") }
    );

    let _ = writeln!(s, "\n## Transactions by action\n");
    let _ = writeln!(s, "| action | accepted | refused (expected) | failed (unexpected) |\n|---|---:|---:|---:|");
    let mut actions: Vec<&str> = o.tally.ok.keys().copied().collect();
    actions.extend(o.tally.refused.keys().chain(o.tally.failed.keys()).map(|(a, _)| *a));
    actions.sort_unstable();
    actions.dedup();
    for a in actions {
        let sum = |m: &std::collections::BTreeMap<(&'static str, String), u64>| {
            m.iter().filter(|((x, _), _)| *x == a).map(|(_, n)| n).sum::<u64>()
        };
        let _ = writeln!(s, "| {a} | {} | {} | {} |", o.tally.ok(a), sum(&o.tally.refused), sum(&o.tally.failed));
    }
    if !o.tally.refused.is_empty() || !o.tally.failed.is_empty() {
        let _ = writeln!(s, "\n| action | error | count | expected |\n|---|---|---:|---|");
        for (expected, map) in [("yes", &o.tally.refused), ("**no**", &o.tally.failed)] {
            for ((action, reason), n) in map {
                let _ = writeln!(s, "| {action} | {reason} | {n} | {expected} |");
            }
        }
    }

    attackers_markdown(&mut s, &o.attacks);

    let _ = writeln!(s, "\n## Plots\n");
    let _ = writeln!(s, "Every hourly sample behind them is in `timeline.csv`.\n");
    for (file, caption) in PLOTS {
        let _ = writeln!(s, "### {caption}\n\n![{caption}]({file})\n");
    }
    s
}

/// The "Attackers" section: the scenario, the two settings and a row per run.
fn attackers_markdown(s: &mut String, attacks: &[AttackOutcome]) {
    let _ = writeln!(s, "\n## Attackers\n");
    if attacks.is_empty() {
        let _ = writeln!(s, "No attacker runs in this report.");
        return;
    }
    let _ = writeln!(
        s,
        "Price-manipulation attackers (`ballast_sim::attack`), each on a fresh protocol: a USDC market with {} \
         from {} lenders, and THIN, a thin collateral listed at ${:.2} (60% / 70% asset weights, a deposit cap of \
         {} THIN). The attacker deposits {} of THIN and pumps its price; it then returns to ${:.2} in four hourly \
         steps. At every step keepers refresh both markets and liquidate what they can (the keeper library's \
         planner), and the attacker borrows all the USDC it can: it asks for what the program allowed before \
         these defences and, when refused, borrows the most the program allows now (sized with the program's own \
         pricing and health code).\n",
        usd(attack::LENDER_USD * attack::LENDERS as f64),
        attack::LENDERS,
        attack::START_PRICE,
        thousands(attack::THIN_DEPOSIT_CAP),
        usd(attack::ATTACK_USD),
        attack::START_PRICE,
    );
    for pump in Pump::ALL {
        let _ = writeln!(s, "- {}: {}.", pump.label(), pump.description());
    }
    let _ = writeln!(
        s,
        "- Defences off: the loosest legal settings of the new defences (a stable price and delayed price moving \
         up to 100% an hour, no regime weight multipliers, no USD limits): what the program did before them. The \
         older ones stay on: the EMA band (10%), the price-move guard (20% within an hour) and USDC's outflow \
         limiter (25% of deposits per 6 hours)."
    );
    let _ = writeln!(
        s,
        "- Defences on: the standard stable price (5% an hour; a quarter of that while the oracle is more than \
         10% from a delayed price moving 6% an hour) and regime weights; THIN's init limit of {} (its deposit cap \
         at the listing price: no more than 60% of it, {} at USDC's 1.2 liability weight, can ever be borrowed \
         against THIN, whatever its price); a USDC borrow limit of {} an hour (1% of the market's deposits).\n",
        usd(attack::THIN_INIT_LIMIT_USD as f64),
        usd(attack::THIN_INIT_LIMIT_USD as f64 * 0.6 / 1.2),
        usd(attack::USDC_BORROW_LIMIT_USD as f64),
    );
    let _ = writeln!(
        s,
        "| scenario | defences | borrowed (kept) | extracted (unbacked) | liquidations | liquidators' P&L | \
         bad debt written off | socialised | refused borrows by error |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    for a in attacks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | **{}** | {} ({} repaid) | {} | {} | {} | {} |",
            a.name,
            a.defences.label(),
            usd(a.borrowed_usd),
            usd(a.extracted_usd),
            a.liquidations,
            usd(a.liquidated_usd),
            usd(a.liquidator_pnl_usd),
            usd(a.bad_debt_usd),
            usd(a.socialised_usd),
            a.refusals_text()
        );
    }
    let _ = writeln!(
        s,
        "\nExtracted: the USDC the attacker borrowed and keeps minus the THIN it put up ({}), valued at the price \
         it returns to: the debt that collateral no longer backs. The cost of pumping THIN is not counted. Who \
         pays depends on the way down: here the keeper liquidates at every step, so liquidators who seized THIN \
         at the intermediate prices and held it to the end carry it (their P&L, valued at the returned price); \
         debt left once no THIN remains is written off, from USDC's insurance fund first, then from the lenders \
         (socialised). Had the price fallen back in one step, the THIN would not have covered the debt and the \
         rest would have been written off against the insurance fund and the lenders. The attacker \
         borrows while it pumps and holds, not on the way down.",
        usd(attack::ATTACK_USD)
    );
    let failures: Vec<String> = attacks
        .iter()
        .flat_map(|a| {
            a.failures.iter().map(move |(what, n)| format!("{} / {}: {n} × {what}", a.name, a.defences.label()))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "\n**Unexpected failures in the attack runs**: {}.", failures.join("; "));
    }
}
