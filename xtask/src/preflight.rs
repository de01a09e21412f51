//! The one place that knows which system tools the xtask commands use, finds them, and installs
//! the missing ones.
//!
//! Every command calls [`ensure`] first with the tools its steps need (`cargo xtask ci`: all of
//! them), so that a step never discovers half-way through a 20-minute run that a program is
//! missing. Missing Debian packages are installed in one `apt-get update` + `apt-get install`
//! when xtask runs as root (as CI does) or with passwordless sudo; anyone else gets, within
//! seconds and before any step runs, the single command that installs them. The package
//! services are not needed: every test starts its own private instance.
//!
//! No other module runs `apt-get`; they locate what is here with [`find_program`].

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Result, bail};
use testkit::programs::{find_program, is_executable};

use crate::cargo::{cargo, cargo_install, path_with, run_inherited, workspace_root};

/// A system tool a step uses, and the Debian package that brings it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    MariadbServer,
    MariadbClient,
    Redis,
    Nginx,
    Openssl,
    Promtool,
    Amtool,
    PythonVenv,
    Node,
    Npm,
    Chromium,
    Wrk,
    Font,
}

/// Where Debian's `chromium` package puts the browser that playwright-core drives.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The font the benchmark chart is drawn with.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// The tools of every step of `cargo xtask ci`.
pub const CI: &[Tool] = &[
    Tool::MariadbServer,
    Tool::MariadbClient,
    Tool::Redis,
    Tool::Nginx,
    Tool::Openssl,
    Tool::Promtool,
    Tool::Amtool,
    Tool::PythonVenv,
    Tool::Node,
    Tool::Npm,
    Tool::Chromium,
    Tool::Wrk,
    Tool::Font,
];
pub const STORES: &[Tool] = &[Tool::MariadbServer, Tool::Redis];
pub const OBSERVABILITY: &[Tool] = &[Tool::Promtool, Tool::Amtool];
pub const DEPLOY_CHECK: &[Tool] = &[Tool::PythonVenv, Tool::Nginx, Tool::Openssl];
pub const API_CHECK: &[Tool] = &[Tool::PythonVenv, Tool::Node, Tool::Npm, Tool::Chromium];
pub const CLUSTER: &[Tool] = &[
    Tool::MariadbServer,
    Tool::MariadbClient,
    Tool::Redis,
    Tool::Nginx,
    Tool::Openssl,
];
/// Throwaway servers (tests, benchmarks) offer TLS with a certificate openssl makes.
pub const TLS_MARIADB: &[Tool] = &[Tool::MariadbServer, Tool::Openssl];
pub const TLS_REDIS: &[Tool] = &[Tool::Redis, Tool::Openssl];
pub const BENCH: &[Tool] = &[
    Tool::MariadbServer,
    Tool::Redis,
    Tool::Openssl,
    Tool::Wrk,
    Tool::Font,
];

impl Tool {
    /// The Debian package that brings it.
    pub fn package(self) -> &'static str {
        match self {
            Self::MariadbServer => "mariadb-server",
            Self::MariadbClient => "mariadb-client",
            Self::Redis => "redis-server",
            Self::Nginx => "nginx",
            Self::Openssl => "openssl",
            Self::Promtool => "prometheus",
            Self::Amtool => "prometheus-alertmanager",
            Self::PythonVenv => "python3-venv",
            Self::Node => "nodejs",
            Self::Npm => "npm",
            Self::Chromium => "chromium",
            Self::Wrk => "wrk",
            Self::Font => "fonts-dejavu-core",
        }
    }

    /// What it is for, in the preflight's report.
    fn purpose(self) -> &'static str {
        match self {
            Self::MariadbServer => "the private MariaDB of the tests",
            Self::MariadbClient => "the cluster rehearsal's SQL checks",
            Self::Redis => "the private Redis of the tests",
            Self::Nginx => "nginx -t and the cluster rehearsal's proxy",
            Self::Openssl => "the test CA: TLS of the private MariaDB, Redis and nginx",
            Self::Promtool => "promtool: Prometheus config and alert rules",
            Self::Amtool => "amtool: Alertmanager config",
            Self::PythonVenv => "virtualenvs for schemathesis and the manifest checks",
            Self::Node => "the docs page test",
            Self::Npm => "installs playwright-core for the docs page test",
            Self::Chromium => "the docs page test's browser",
            Self::Wrk => "the benchmark's load generator",
            Self::Font => "the benchmark chart's font",
        }
    }

    /// The programs that show it is installed (any one of each group will do).
    fn programs(self) -> &'static [&'static [&'static str]] {
        match self {
            // MariaDB's names first: a `mysqld` may be Oracle MySQL, which takes other options.
            Self::MariadbServer => &[
                &["mariadbd", "mysqld"],
                &["mariadb-install-db", "mysql_install_db"],
            ],
            Self::MariadbClient => &[&["mariadb", "mysql"]],
            Self::Redis => &[&["redis-server"]],
            Self::Nginx => &[&["nginx"]],
            Self::Openssl => &[&["openssl"]],
            Self::Promtool => &[&["promtool"]],
            Self::Amtool => &[&["amtool"]],
            Self::PythonVenv => &[&["python3"]],
            Self::Node => &[&["node"]],
            Self::Npm => &[&["npm"]],
            Self::Chromium | Self::Wrk | Self::Font => &[],
        }
    }

    fn is_present(self) -> bool {
        let programs = self
            .programs()
            .iter()
            .all(|names| find_program(names).is_some());
        programs
            && match self {
                // Debian splits the venv module (and ensurepip) out of python3.
                Self::PythonVenv => Command::new("python3")
                    .args(["-c", "import ensurepip, venv"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success()),
                Self::Chromium => is_executable(Path::new(CHROMIUM)),
                Self::Wrk => find_program(&["wrk"]).is_some(),
                Self::Font => Path::new(FONT).is_file(),
                _ => true,
            }
    }
}

/// Checks that every tool in `needs` is installed, installing the missing Debian packages in
/// one go when allowed; otherwise fails with the one command that would install them.
pub fn ensure(command: &str, needs: &[Tool]) -> Result<()> {
    let needs: BTreeSet<Tool> = needs.iter().copied().collect();
    let missing: Vec<Tool> = needs
        .iter()
        .copied()
        .filter(|tool| !tool.is_present())
        .collect();
    if missing.is_empty() {
        eprintln!(
            "xtask: preflight: the {} system tools of `{command}` are installed",
            needs.len()
        );
        return Ok(());
    }
    for tool in &missing {
        eprintln!(
            "xtask: preflight: missing {} ({})",
            tool.package(),
            tool.purpose()
        );
    }
    let plan = plan(&missing, privilege());
    let Some(runs) = plan.commands else {
        bail!(
            "preflight: {} missing, and xtask may not install packages here (not root, no \
             passwordless sudo). Install them with:\n    {}",
            missing.len(),
            plan.install_line
        );
    };
    eprintln!("xtask: preflight: installing: {}", plan.install_line);
    for mut run in runs {
        // No prompt may wait for an answer: CI has no standard input.
        run.stdin(Stdio::null());
        run_inherited(&mut run)?;
    }
    let still: Vec<&str> = missing
        .iter()
        .filter(|tool| !tool.is_present())
        .map(|tool| tool.package())
        .collect();
    if !still.is_empty() {
        bail!(
            "preflight: still missing after apt-get install: {}",
            still.join(", ")
        );
    }
    eprintln!(
        "xtask: preflight: installed {}; the {} system tools of `{command}` are installed",
        missing
            .iter()
            .map(|tool| tool.package())
            .collect::<Vec<_>>()
            .join(" "),
        needs.len()
    );
    Ok(())
}

/// How xtask may run apt-get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Privilege {
    Root,
    PasswordlessSudo,
    None,
}

fn privilege() -> Privilege {
    if nix::unistd::geteuid().is_root() {
        return Privilege::Root;
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if sudo.is_ok_and(|status| status.success()) {
        Privilege::PasswordlessSudo
    } else {
        Privilege::None
    }
}

/// What the preflight does about `missing`: the line a person would type, and the commands it
/// runs itself when it may.
#[derive(Debug)]
struct Plan {
    install_line: String,
    commands: Option<Vec<Command>>,
}

fn plan(missing: &[Tool], privilege: Privilege) -> Plan {
    let packages: Vec<&str> = missing
        .iter()
        .map(|tool| tool.package())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let sudo = if privilege == Privilege::Root {
        ""
    } else {
        "sudo "
    };
    let install_line = format!(
        "{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    let apt = |args: &[&str]| {
        let mut command = if privilege == Privilege::Root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let commands = (privilege != Privilege::None).then(|| {
        let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
        install.args(&packages);
        vec![apt(&["update", "-qq"]), install]
    });
    Plan {
        install_line,
        commands,
    }
}

/// cargo-nextest, the test runner of `cargo xtask ci`: the one on PATH, else a pinned version
/// built into `target/tools` (nothing cached outside the clone). Returns a PATH to run
/// `cargo nextest` with.
pub fn ensure_nextest() -> Result<std::ffi::OsString> {
    const VERSION: &str = "0.9.143";
    let tools = workspace_root().join("target/tools");
    let path = path_with(&tools.join("bin"))?;
    let works = cargo(["nextest", "--version"])
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        eprintln!(
            "xtask: preflight: cargo-nextest is missing; building {VERSION} into target/tools"
        );
        cargo_install("cargo-nextest", VERSION, &tools)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_privilege_it_only_says_what_to_run() {
        let plan = plan(&[Tool::Wrk, Tool::Chromium, Tool::Wrk], Privilege::None);
        assert!(plan.commands.is_none());
        assert_eq!(
            plan.install_line,
            "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium wrk"
        );
    }

    #[test]
    fn as_root_it_runs_one_update_and_one_install() {
        let plan = plan(&[Tool::Nginx, Tool::Promtool], Privilege::Root);
        let commands = plan.commands.unwrap_or_default();
        let lines: Vec<String> = commands.iter().map(crate::cargo::display).collect();
        assert_eq!(
            lines,
            [
                "apt-get update -qq",
                "apt-get install -y -qq --no-install-recommends nginx prometheus"
            ]
        );
        assert!(
            plan.install_line
                .starts_with("apt-get update && apt-get install")
        );
    }

    #[test]
    fn with_sudo_it_runs_apt_through_sudo() {
        let plan = plan(&[Tool::Wrk], Privilege::PasswordlessSudo);
        let commands = plan.commands.unwrap_or_default();
        assert_eq!(
            crate::cargo::display(&commands[1]),
            "sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk"
        );
    }

    #[test]
    fn the_readme_gives_the_install_line_of_every_ci_tool() {
        let readme =
            std::fs::read_to_string(workspace_root().join("README.md")).unwrap_or_default();
        let line = plan(CI, Privilege::PasswordlessSudo).install_line;
        assert!(
            readme.contains(&line),
            "README.md must give the preflight's install line:\n{line}"
        );
    }
}
