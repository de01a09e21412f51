//! A throwaway certificate authority and one server certificate it signs for `localhost` and
//! `127.0.0.1`, made with the `openssl` CLI: the TLS of the private MariaDB, Redis and nginx
//! the launchers start. The CA is separate from the server certificate because rustls (webpki)
//! refuses a CA certificate used as the server's own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::programs;

/// The files of a CA made in a directory.
#[derive(Debug, Clone)]
pub struct TestCa {
    dir: PathBuf,
}

impl TestCa {
    /// Makes the CA (ECDSA P-256, valid 2 days) and the server certificate in `dir`, which must
    /// exist: `ca.crt`, `tls.crt` and `tls.key`.
    pub fn make(dir: &Path) -> Result<Self> {
        programs::locate(&["openssl"], "openssl")?;
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=order-manager test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        )?;
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "tls.key",
                "-out",
                "tls.csr",
            ],
        )?;
        fs::write(
            dir.join("tls.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tls.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "tls.ext",
                "-out",
                "tls.crt",
            ],
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The CA certificate (PEM): what clients trust.
    pub fn ca_certificate(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The CA certificate's PEM bytes.
    pub fn ca_pem(&self) -> Result<Vec<u8>> {
        let path = self.ca_certificate();
        fs::read(&path).with_context(|| format!("could not read {}", path.display()))
    }

    /// The server's certificate (PEM), for `localhost` and `127.0.0.1`.
    pub fn server_certificate(&self) -> PathBuf {
        self.dir.join("tls.crt")
    }

    /// The server certificate's private key (PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("tls.key")
    }
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    programs::run_to_success(
        Command::new("openssl").args(args).current_dir(dir),
        &format!("openssl {}", args.join(" ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_ca_and_a_server_certificate_it_signs() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let ca = TestCa::make(dir.path()).unwrap_or_else(|err| panic!("{err:#}"));
        let verified = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(ca.ca_certificate())
            .arg("-verify_ip")
            .arg("127.0.0.1")
            .arg(ca.server_certificate())
            .output()
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(
            verified.status.success(),
            "{}",
            String::from_utf8_lossy(&verified.stderr)
        );
        assert!(ca.server_key().is_file());
    }
}
