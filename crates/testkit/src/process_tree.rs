//! Finding a process's descendants, from `/proc` (Linux).
//!
//! Why: a SIGTERM passed on to `cargo test` ends cargo but not the test binary it runs, which
//! would keep running (and printing) after xtask has stopped MariaDB under it. So the signal
//! goes to the whole tree below xtask's child instead.

use std::collections::HashMap;
use std::fs;

/// The pids of every descendant of `root`, or none where `/proc` cannot be read.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        // Processes may exit while we look; skip those.
        if let Some(parent) = fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| parent_pid(&stat))
        {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            pending.push(child);
        }
    }
    found
}

/// The parent pid from a `/proc/PID/stat` line: `PID (COMM) STATE PPID ...`, where COMM may
/// itself hold spaces and parentheses, so parsing starts after the last `)`.
fn parent_pid(stat: &str) -> Option<u32> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parent_pid_even_with_odd_command_names() {
        assert_eq!(parent_pid("42 (cargo) S 7 42 42 0 -1"), Some(7));
        assert_eq!(parent_pid("43 (a (weird) name) R 9 43 43"), Some(9));
        assert_eq!(parent_pid("garbage"), None);
    }

    #[test]
    fn finds_own_child() {
        let Ok(mut child) = std::process::Command::new("sleep").arg("5").spawn() else {
            return; // No `sleep` here: nothing to check.
        };
        let found = descendants(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&child.id()), "{found:?}");
    }
}
