//! The report's chart: throughput and p99 latency per scenario, side by side, as SVG.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde::Deserialize;

/// DejaVu Sans (Debian's fonts-dejavu-core): ab_glyph needs real glyph metrics to lay text out.
const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

#[derive(Debug, clap::Args)]
pub struct ChartArgs {
    /// report.json written by `cargo xtask bench`.
    #[arg(long)]
    report: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, env = "ORDER_MANAGER_BENCH_FONT", default_value = DEFAULT_FONT)]
    font: PathBuf,
}

/// The part of report.json the chart reads.
#[derive(Debug, Deserialize)]
struct Report {
    title: String,
    chart: Vec<Bar>,
}

#[derive(Debug, Deserialize)]
struct Bar {
    scenario: String,
    per_s: f64,
    /// Some scenarios (the raw ceilings) measure throughput only.
    p99_ms: Option<f64>,
}

pub fn run(args: &ChartArgs) -> Result<()> {
    let font = std::fs::read(&args.font).with_context(|| {
        format!(
            "cannot read the font {} (install fonts-dejavu-core, or set ORDER_MANAGER_BENCH_FONT)",
            args.font.display()
        )
    })?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| anyhow!("{} is not a usable TrueType font", args.font.display()))?;
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    let report: Report = serde_json::from_str(&text).context("report.json has no chart data")?;
    draw(&report, &args.out).map_err(|err| anyhow!("cannot draw the chart: {err}"))
}

fn draw(report: &Report, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let height = 120 + 28 * report.chart.len() as u32;
    let root = SVGBackend::new(out, (1400, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&report.title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(900);
    panel(
        &left,
        "throughput per second (the unit is in each label)",
        &report
            .chart
            .iter()
            .map(|b| Some(b.per_s))
            .collect::<Vec<_>>(),
        &report.chart,
        &BLUE,
        true,
    )?;
    panel(
        &right,
        "p99 latency (ms)",
        &report.chart.iter().map(|b| b.p99_ms).collect::<Vec<_>>(),
        &report.chart,
        &RED,
        false,
    )?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    values: &[Option<f64>],
    bars: &[Bar],
    color: &RGBColor,
    with_names: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let max = values
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(if with_names { 330 } else { 10 })
        .build_cartesian_2d(0.0..max, (0..bars.len()).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len())
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(index) if with_names => bars
                .get(*index)
                .map(|bar| bar.scenario.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|value| format_value(*value))
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_series(values.iter().enumerate().filter_map(|(index, value)| {
        let value = (*value)?;
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(index)),
                (value, SegmentValue::Exact(index + 1)),
            ],
            color.mix(0.6).filled(),
        );
        bar.set_margin(3, 3, 0, 0);
        Some(bar)
    }))?;
    chart.draw_series(values.iter().enumerate().filter_map(|(index, value)| {
        let value = (*value)?;
        Some(Text::new(
            format_value(value),
            (value, SegmentValue::CenterOf(index)),
            ("sans-serif", 11),
        ))
    }))?;
    Ok(())
}

fn format_value(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}
