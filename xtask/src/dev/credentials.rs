//! The dev stack's credentials: the user `admin` and an API key for a shop and a back office.
//!
//! The database keeps only their hashes, so the plain values are kept beside the data, in a file
//! only its owner may read, and printed on every start: a developer never has to create one by
//! hand, and a restart does not invalidate what they pasted into scripts.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cluster;

const FILE: &str = "credentials";
pub const ADMIN_USER: &str = "admin";
/// What the key may do: everything a shop and a back office need, not user administration.
pub const API_KEY_SCOPES: [&str; 2] = ["orders:write", "customers:read"];

/// The admin password and the API key, in plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub admin_password: String,
    pub api_key: String,
}

/// Reads the credentials of an earlier run, creating in the database whatever is missing.
///
/// Each one is saved as soon as it exists, so that a run interrupted between the two creates
/// only the missing one next time.
pub fn ensure(dir: &Path, binary: &Path, database_url: &str) -> Result<Credentials> {
    let path = dir.join(FILE);
    let mut credentials = match fs::read_to_string(&path) {
        Ok(text) => parse(&text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Credentials::default(),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    if credentials.admin_password.is_empty() {
        // 20 hex digits: 80 random bits, and nothing a shell or JSON would need to escape.
        let password = cluster::random_secret()?[..20].to_owned();
        let added = cluster::admin(
            binary,
            database_url,
            &["user", "add", "--username", ADMIN_USER, "--scope", "admin"],
            Some(&password),
        );
        if let Err(err) = added {
            bail!(
                "{err:#}\nThe user `{ADMIN_USER}` may exist from a run whose {} was deleted; \
                 start afresh with `cargo xtask dev --reset` (it deletes the dev data)",
                path.display()
            );
        }
        credentials.admin_password = password;
        save(&path, &credentials)?;
    }
    if credentials.api_key.is_empty() {
        let mut args = vec!["api-key", "create", "--name", "dev"];
        for scope in API_KEY_SCOPES {
            args.extend(["--scope", scope]);
        }
        credentials.api_key = cluster::admin(binary, database_url, &args, None)?
            .trim()
            .to_owned();
        save(&path, &credentials)?;
    }
    Ok(credentials)
}

fn parse(text: &str) -> Credentials {
    let mut credentials = Credentials::default();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("admin-password", value)) => credentials.admin_password = value.to_owned(),
            Some(("api-key", value)) => credentials.api_key = value.to_owned(),
            _ => {}
        }
    }
    credentials
}

fn save(path: &Path, credentials: &Credentials) -> Result<()> {
    let text = format!(
        "admin-password={}\napi-key={}\n",
        credentials.admin_password, credentials.api_key
    );
    // Written beside and renamed, so that a crash leaves the old file or the new one; mode 0600
    // from the start, so the secrets are never readable by others, not even for a moment.
    let staged = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staged)
        .with_context(|| format!("cannot write {}", staged.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(&staged, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_credentials_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let credentials = Credentials {
            admin_password: "0123456789abcdef0123".to_owned(),
            api_key: "omk_abc.def".to_owned(),
        };
        save(&path, &credentials).unwrap();
        assert_eq!(parse(&fs::read_to_string(&path).unwrap()), credentials);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_half_written_file_reads_as_what_is_missing() {
        let credentials = parse("admin-password=secret\n");
        assert_eq!(credentials.admin_password, "secret");
        assert!(credentials.api_key.is_empty());
    }
}
