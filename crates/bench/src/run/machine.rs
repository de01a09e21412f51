//! What the figures were measured on: CPU, memory, kernel, compiler, MariaDB and wrk.

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

use super::http_run::round;

/// What the figures were measured on.
pub fn machine(mariadb_version: &str) -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| round(kib / 1024.0 / 1024.0));
    json!({
        "cpu": model,
        "cpus": std::thread::available_parallelism().map(usize::from).ok(),
        "memory_gib": memory_gib,
        "kernel": command_line("uname", &["-r"]),
        "rustc": command_line("rustc", &["--version"]),
        "mariadb": mariadb_version,
        "wrk": command_line("wrk", &["--version"]).and_then(|v| v.split(' ').nth(1).map(str::to_owned)),
    })
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(|line| line.trim().to_owned())
}
