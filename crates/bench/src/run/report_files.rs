//! The files of a run: report.json, the chart (drawn by `order-manager-bench chart`) and
//! report.md in the output folder; for a full run of the release build, the docs page
//! (`benchmarks_intro.md` and the tables) with its JSON and chart.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::child::capture;
use super::markdown::markdown;
use super::plan::Plan;
use super::report::Report;

fn title(plan: &Plan) -> String {
    let mut notes = Vec::new();
    if plan.quick {
        notes.push("--quick smoke run");
    }
    if plan.debug_build {
        notes.push("debug build");
    }
    if notes.is_empty() {
        "order-manager benchmark".to_owned()
    } else {
        format!("order-manager benchmark ({})", notes.join(", "))
    }
}

/// Writes the report files; the full run of the release build also rewrites the docs page.
pub fn write(
    report: &Report,
    out_dir: &Path,
    docs_dir: &Path,
    tool: &Path,
    plan: &Plan,
) -> Result<()> {
    let title = title(plan);
    let json_path = out_dir.join("report.json");
    fs::write(
        &json_path,
        serde_json::to_string_pretty(&report.to_json(&title))? + "\n",
    )
    .with_context(|| format!("cannot write {}", json_path.display()))?;
    let chart = out_dir.join("chart.svg");
    capture(
        Command::new(tool)
            .arg("chart")
            .arg("--report")
            .arg(&json_path)
            .arg("--out")
            .arg(&chart),
        "order-manager-bench chart",
    )?;
    fs::write(
        out_dir.join("report.md"),
        markdown(report, &title, "chart.svg"),
    )?;
    if plan.publishes() {
        fs::copy(&chart, docs_dir.join("benchmarks.svg"))?;
        fs::copy(&json_path, docs_dir.join("benchmarks.json"))?;
        let page = format!(
            "{}\n{}",
            include_str!("benchmarks_intro.md"),
            // One level down, under the page's own title.
            markdown(report, &title, "benchmarks.svg")
                .lines()
                .map(|line| if line.starts_with('#') {
                    format!("#{line}")
                } else {
                    line.to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n")
        );
        fs::write(docs_dir.join("benchmarks.md"), page)?;
    }
    Ok(())
}
