//! deploy/Dockerfile: the essentials checked here, the rest by hadolint.
//!
//! Checked in Rust, because they are this project's requirements rather than general style:
//! more than one stage (build tools never reach the runtime image); every base image pinned to a
//! tag or digest, never `latest` nor untagged (build args resolved from their defaults); the
//! final stage runs as a non-root USER, has a HEALTHCHECK and an exec-form ENTRYPOINT (no shell
//! in the runtime image, and signals reach the binary directly).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::command::{describe_output, output};
use crate::tools::Venv;

pub const DOCKERFILE: &str = "deploy/Dockerfile";

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    let path = root.join(DOCKERFILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let summary = lint(&text)?;
    hadolint(tools, &path)?;
    eprintln!("deploy-checks: {DOCKERFILE}: {summary}; hadolint clean");
    Ok(())
}

/// One instruction: its keyword (upper case) and its arguments, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub keyword: String,
    pub arguments: String,
}

/// The instructions of a Dockerfile, without comments, parser directives and blank lines.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if !current.is_empty() && trimmed.starts_with('#') {
            // A comment inside a continued instruction is dropped by Docker.
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, arguments) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        instructions.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            arguments: arguments.split_whitespace().collect::<Vec<_>>().join(" "),
        });
        current.clear();
    }
    instructions
}

/// A stage: its base image as written, its name, and its instructions.
#[derive(Debug)]
struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

/// Checks the essentials; returns a one-line summary.
pub fn lint(text: &str) -> Result<String> {
    let instructions = instructions(text);
    let mut global_args = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        match (instruction.keyword.as_str(), stages.last_mut()) {
            ("ARG", None) => {
                // An arg without a default stays unresolved (and fails the pinning check).
                if let Some((name, default)) = instruction.arguments.split_once('=') {
                    global_args.insert(
                        name.trim().to_owned(),
                        default.trim().trim_matches('"').to_owned(),
                    );
                }
            }
            ("FROM", _) => {
                let words: Vec<&str> = instruction
                    .arguments
                    .split_whitespace()
                    .filter(|word| !word.starts_with("--"))
                    .collect();
                let image = words.first().copied().unwrap_or_default().to_owned();
                let name = match words.as_slice() {
                    [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                        Some((*name).to_owned())
                    }
                    _ => None,
                };
                stages.push(Stage {
                    image,
                    name,
                    instructions: Vec::new(),
                });
            }
            (_, Some(stage)) => stage.instructions.push(instruction),
            (keyword, None) => bail!("{keyword} before the first FROM"),
        }
    }

    let mut problems = Vec::new();
    if stages.len() < 2 {
        problems.push(
            "a single stage: build in one stage and copy the binary into a small runtime stage"
                .to_owned(),
        );
    }
    let mut stage_names: Vec<&str> = Vec::new();
    for stage in &stages {
        let image = substitute(&stage.image, &global_args);
        if !stage_names.contains(&image.as_str())
            && image != "scratch"
            && let Some(problem) = unpinned(&image)
        {
            problems.push(format!("FROM {}: {problem}", stage.image));
        }
        if let Some(name) = &stage.name {
            stage_names.push(name);
        }
    }

    let Some(last) = stages.last() else {
        bail!("no FROM: not a Dockerfile");
    };
    let last_of = |keyword: &str| {
        last.instructions
            .iter()
            .rev()
            .find(|instruction| instruction.keyword == keyword)
    };
    match last_of("USER") {
        None => problems.push("the final stage has no USER: it would run as root".to_owned()),
        Some(user) => {
            let who = user.arguments.split(':').next().unwrap_or_default();
            if who == "root" || who == "0" || who.is_empty() {
                problems.push(format!("the final stage runs as `USER {}`", user.arguments));
            }
        }
    }
    match last_of("HEALTHCHECK") {
        None => problems.push("the final stage has no HEALTHCHECK".to_owned()),
        Some(check) if check.arguments.trim().eq_ignore_ascii_case("none") => {
            problems.push("the final stage disables the HEALTHCHECK".to_owned());
        }
        Some(_) => {}
    }
    match last_of("ENTRYPOINT") {
        None => problems.push("the final stage has no ENTRYPOINT".to_owned()),
        Some(entrypoint) if !entrypoint.arguments.trim_start().starts_with('[') => {
            problems.push(format!(
                "ENTRYPOINT {} is in shell form: use the exec form [\"/path/binary\"], so the \
                 binary is PID 1 and gets SIGTERM",
                entrypoint.arguments
            ));
        }
        Some(_) => {}
    }
    if !problems.is_empty() {
        bail!("{DOCKERFILE}: {}", problems.join("; "));
    }
    Ok(format!(
        "{} stages, base images pinned, final stage `{}` as USER {}",
        stages.len(),
        substitute(&last.image, &global_args),
        last_of("USER")
            .map(|user| user.arguments.as_str())
            .unwrap_or_default()
    ))
}

/// `${NAME}` and `$NAME` replaced by the build args' defaults.
fn substitute(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut result = text.to_owned();
    for (name, value) in args {
        result = result
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    result
}

/// Why `image` is not pinned, if it is not: no tag or digest, `latest`, or an unresolved arg.
fn unpinned(image: &str) -> Option<String> {
    if image.contains('$') {
        return Some("a build arg without a default in the image name".to_owned());
    }
    if image.contains('@') {
        return None;
    }
    let last_part = image.rsplit('/').next().unwrap_or(image);
    match last_part.split_once(':') {
        None => Some("no tag: pin a version".to_owned()),
        Some((_, "latest")) => Some("the `latest` tag: pin a version".to_owned()),
        Some((_, "")) => Some("an empty tag".to_owned()),
        Some(_) => None,
    }
}

fn hadolint(tools: &Venv, dockerfile: &Path) -> Result<()> {
    let linted = output(
        tools
            .command("hadolint")
            .args(["--no-color", "--failure-threshold", "style"])
            .arg(dockerfile),
    )?;
    if !linted.status.success() {
        bail!(
            "hadolint found problems in {}:\n{}",
            dockerfile.display(),
            describe_output(&linted)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::repo_root as workspace_root;

    const GOOD: &str = "# syntax=docker/dockerfile:1
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim AS build
RUN cargo build --release \\
    --locked
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/app /app
USER 65532:65532
HEALTHCHECK CMD [\"/probe\"]
ENTRYPOINT [\"/app\"]
";

    fn lint_err(text: &str) -> String {
        format!("{:#}", lint(text).unwrap_err())
    }

    #[test]
    fn the_project_dockerfile_passes() {
        let text = fs::read_to_string(workspace_root().join(DOCKERFILE)).unwrap();
        let summary = lint(&text).unwrap();
        assert!(summary.contains("distroless"), "{summary}");
        let instructions = instructions(&text);
        let entrypoint = instructions
            .iter()
            .rfind(|i| i.keyword == "ENTRYPOINT")
            .unwrap();
        assert_eq!(entrypoint.arguments, "[\"/usr/local/bin/order-manager\"]");
    }

    #[test]
    fn a_good_dockerfile_passes() {
        let summary = lint(GOOD).unwrap();
        assert!(summary.starts_with("2 stages"), "{summary}");
    }

    #[test]
    fn joins_continuation_lines() {
        let run = instructions(GOOD)
            .into_iter()
            .find(|i| i.keyword == "RUN")
            .unwrap();
        assert_eq!(run.arguments, "cargo build --release --locked");
    }

    #[test]
    fn a_single_stage_fails() {
        let single = GOOD.replace(
            "FROM gcr.io/distroless/cc-debian12:nonroot\nCOPY --from=build /src/target/release/app /app\n",
            "",
        );
        assert!(lint_err(&single).contains("single stage"));
    }

    #[test]
    fn root_or_no_user_fails() {
        assert!(lint_err(&GOOD.replace("USER 65532:65532", "USER root")).contains("USER root"));
        assert!(lint_err(&GOOD.replace("USER 65532:65532", "USER 0:0")).contains("USER 0"));
        assert!(lint_err(&GOOD.replace("USER 65532:65532\n", "")).contains("no USER"));
    }

    #[test]
    fn a_missing_healthcheck_fails() {
        assert!(
            lint_err(&GOOD.replace("HEALTHCHECK CMD [\"/probe\"]\n", "")).contains("HEALTHCHECK")
        );
        assert!(
            lint_err(&GOOD.replace("HEALTHCHECK CMD [\"/probe\"]", "HEALTHCHECK NONE"))
                .contains("disables")
        );
    }

    #[test]
    fn a_shell_form_or_missing_entrypoint_fails() {
        assert!(
            lint_err(&GOOD.replace("ENTRYPOINT [\"/app\"]", "ENTRYPOINT /app"))
                .contains("shell form")
        );
        assert!(lint_err(&GOOD.replace("ENTRYPOINT [\"/app\"]\n", "")).contains("no ENTRYPOINT"));
    }

    #[test]
    fn unpinned_base_images_fail() {
        let latest = GOOD.replace("cc-debian12:nonroot", "cc-debian12:latest");
        assert!(lint_err(&latest).contains("latest"));
        let untagged = GOOD.replace("gcr.io/distroless/cc-debian12:nonroot", "debian");
        assert!(lint_err(&untagged).contains("no tag"));
        let unresolved = GOOD.replace("ARG RUST_VERSION=1.95", "ARG RUST_VERSION");
        assert!(lint_err(&unresolved).contains("build arg"));
        // A registry port is not a tag.
        let port = GOOD.replace("gcr.io/distroless/cc-debian12:nonroot", "registry:5000/app");
        assert!(lint_err(&port).contains("no tag"));
    }

    /// The image's HEALTHCHECK probe compiles with plain rustc, as in the Dockerfile, and
    /// tells a 200 from anything else.
    #[test]
    fn the_healthcheck_probe_reads_the_status() {
        use std::io::{Read, Write};
        use std::net::TcpListener;
        use std::process::Command;

        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("healthcheck");
        let compiled = Command::new("rustc")
            .args(["--edition", "2024", "-C", "opt-level=s", "-o"])
            .arg(&probe)
            .arg(workspace_root().join("deploy/healthcheck/healthcheck.rs"))
            .output()
            .unwrap();
        assert!(compiled.status.success(), "{}", describe_output(&compiled));

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = [0_u8; 1024];
                let read = stream.read(&mut request).unwrap();
                let request = String::from_utf8_lossy(&request[..read]).into_owned();
                write!(stream, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").unwrap();
                assert!(request.starts_with("GET /readyz HTTP/1.1"), "{request}");
            }
        });
        let run = |bind: &str| {
            Command::new(&probe)
                .arg("/readyz")
                .env("ORDER_MANAGER_BIND", bind)
                .status()
                .unwrap()
                .success()
        };
        // Bound to every interface: the probe asks the loopback address.
        assert!(run(&format!("0.0.0.0:{port}")), "200 is healthy");
        assert!(!run(&format!("0.0.0.0:{port}")), "503 is not");
        server.join().unwrap();
        assert!(
            !run(&format!("127.0.0.1:{port}")),
            "nothing listening is not"
        );
        assert!(!run("not-an-address"), "a bad ORDER_MANAGER_BIND is not");
    }

    #[test]
    fn hadolint_flags_what_it_knows() {
        let tools = Venv::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Dockerfile");
        fs::write(&file, "FROM debian\nRUN apt-get install curl\n").unwrap();
        let err = format!("{:#}", hadolint(&tools, &file).unwrap_err());
        assert!(err.contains("DL3006") || err.contains("DL3008"), "{err}");
    }
}
