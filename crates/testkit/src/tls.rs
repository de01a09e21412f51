//! TLS fixtures.

use std::io;
use std::path::Path;

/// A CA certificate that signed nothing the tests meet: trusting it instead of the right CA
/// must make every TLS connection fail. Public part only; its key was thrown away.
pub const UNRELATED_CA_PEM: &str = include_str!("../fixtures/unrelated-ca.pem");

/// Writes [`UNRELATED_CA_PEM`] to `dir/unrelated-ca.pem` and returns that path as a string.
pub fn write_unrelated_ca(dir: &Path) -> io::Result<String> {
    let path = dir.join("unrelated-ca.pem");
    std::fs::write(&path, UNRELATED_CA_PEM)?;
    Ok(path.display().to_string())
}
