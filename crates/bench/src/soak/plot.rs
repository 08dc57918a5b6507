//! The PNG plots of a soak, over minutes of the run, each with the faults marked: the ingest
//! rate, each subscriber's lag, the webhook latency (p50 and p99, log scale) and the server's
//! RSS. Text is drawn with a TrueType font read at run time (DejaVu Sans, Debian's
//! `fonts-dejavu-core`; `EVENTHOSE_BENCH_FONT` names another).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::faults::Happened;
use super::sampling::Sample;
use super::Finished;

/// Where the font is looked for, in order, after `EVENTHOSE_BENCH_FONT`.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// The font family the plots name.
const FAMILY: &str = "sans-serif";

const SIZE: (u32, u32) = (1200, 560);

/// One line of a plot.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

/// Draws the four plots into `out`.
pub fn draw_all(out: &Path, run: &Finished) -> anyhow::Result<()> {
    register_font()?;
    let minutes = |s: &Sample| s.t / 60.0;
    let ingest = Series {
        name: "events acknowledged/s".into(),
        points: run
            .samples
            .iter()
            .map(|s| (minutes(s), s.ingest_rate))
            .collect(),
    };
    draw(
        &out.join("ingest-rate.png"),
        &format!("Ingest rate ({} hose)", run.hose.name()),
        "events/s",
        &[ingest],
        &run.faults,
        false,
    )?;
    let subscribers: std::collections::BTreeSet<&String> =
        run.samples.iter().flat_map(|s| s.lags.keys()).collect();
    let lags: Vec<Series> = subscribers
        .into_iter()
        .map(|name| Series {
            name: name.clone(),
            points: run
                .samples
                .iter()
                .filter_map(|s| Some((minutes(s), *s.lags.get(name)?)))
                .collect(),
        })
        .collect();
    draw(
        &out.join("subscriber-lag.png"),
        &format!("Subscriber lag ({} hose)", run.hose.name()),
        &format!("lag ({})", run.lag_unit),
        &lags,
        &run.faults,
        false,
    )?;
    let latency = |name: &str, pick: fn(&Sample) -> Option<f64>| Series {
        name: name.into(),
        points: run
            .samples
            .iter()
            .filter_map(|s| Some((minutes(s), pick(s)?.max(1.0).log10())))
            .collect(),
    };
    draw(
        &out.join("webhook-latency.png"),
        &format!(
            "Webhook latency, ingest 200 → receiver ({} hose)",
            run.hose.name()
        ),
        "ms (log scale)",
        &[
            latency("p50", |s| s.latency_p50_ms),
            latency("p99", |s| s.latency_p99_ms),
        ],
        &run.faults,
        true,
    )?;
    let megabytes = |name: &str, bytes: fn(&Sample) -> Option<u64>| Series {
        name: name.into(),
        points: run
            .samples
            .iter()
            .filter_map(|s| Some((minutes(s), bytes(s)? as f64 / 1e6)))
            .collect(),
    };
    draw(
        &out.join("server-rss.png"),
        &format!("Server memory ({} hose)", run.hose.name()),
        "MB",
        &[
            megabytes("VmRSS", |s| s.rss),
            megabytes("of it DuckDB", |s| s.memory.map(|m| m.analytics_bytes)),
        ],
        &run.faults,
        false,
    )
}

/// Registers the font once; fails when there is none.
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let candidates: Vec<PathBuf> = std::env::var_os("EVENTHOSE_BENCH_FONT")
                .map(PathBuf::from)
                .into_iter()
                .chain(FONTS.iter().map(PathBuf::from))
                .collect();
            let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
                format!(
                    "no font for the plots: install fonts-dejavu-core, or name a TrueType font \
                     in EVENTHOSE_BENCH_FONT (looked in {candidates:?})"
                )
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Registered fonts live as long as the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font(FAMILY, FontStyle::Normal, bytes)
                .map_err(|_| format!("{} is not a font plotters can read", path.display()))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Any plotting error as an error of this crate.
fn plotting<T, E: std::fmt::Display>(result: Result<T, E>) -> anyhow::Result<T> {
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// One plot: `series` over minutes, the faults as labelled vertical lines. With `log10`, the
/// values are base-10 logarithms and the axis is labelled with their powers.
fn draw(
    path: &Path,
    title: &str,
    y_desc: &str,
    series: &[Series],
    faults: &[Happened],
    log10: bool,
) -> anyhow::Result<()> {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let x_max = points()
        .map(|(x, _)| *x)
        .chain(faults.iter().map(|f| f.at / 60.0))
        .fold(1.0 / 60.0, f64::max);
    let y_max = points()
        .map(|(_, y)| *y)
        .fold(if log10 { 1.0 } else { 1e-9 }, f64::max)
        * 1.1;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    plotting(root.fill(&WHITE))?;
    let mut chart = plotting(
        ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max),
    )?;
    let power = |v: &f64| {
        let value = 10f64.powf(*v);
        if value >= 10.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.1}")
        }
    };
    let plain = |v: &f64| {
        if *v >= 1e6 {
            format!("{:.1}M", v / 1e6)
        } else if *v >= 1e4 {
            format!("{:.0}k", v / 1e3)
        } else {
            format!("{v:.0}")
        }
    };
    plotting(
        chart
            .configure_mesh()
            .x_desc("minutes into the run")
            .y_desc(y_desc)
            .y_label_formatter(if log10 {
                &power as &dyn Fn(&f64) -> String
            } else {
                &plain
            })
            .label_style((FAMILY, 14))
            .draw(),
    )?;
    for (i, fault) in faults.iter().enumerate() {
        let x = fault.at / 60.0;
        // Labels of faults close together go on lines of their own.
        let y = y_max * (0.97 - 0.05 * (i % 3) as f64);
        let grey = RGBColor(150, 150, 150);
        plotting(chart.draw_series(LineSeries::new(
            [(x, 0.0), (x, y_max)],
            grey.stroke_width(1),
        )))?;
        plotting(chart.draw_series(std::iter::once(Text::new(
            fault.what.to_owned(),
            (x, y),
            (FAMILY, 12).into_font().color(&grey),
        ))))?;
    }
    for (i, line) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        plotting(chart.draw_series(LineSeries::new(
            line.points.iter().copied(),
            color.stroke_width(2),
        )))?
        .label(line.name.clone())
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    plotting(
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw(),
    )?;
    plotting(root.present()).with_context(|| format!("cannot write {}", path.display()))
}
