//! The shape of API keys: `omk_` + 8 characters of public id + `_` + 43 characters of secret.
//! The prefix (`omk_` + id) is shown and logged; only the SHA-256 digest of the key is stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

const TAG: &str = "omk_";
const PREFIX_LEN: usize = 12;
const KEY_LEN: usize = PREFIX_LEN + 1 + 43;

/// A fresh key: 48 bits of public id and 256 bits of secret from the OS generator.
pub(crate) fn generate() -> String {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    format!(
        "{TAG}{}_{}",
        URL_SAFE_NO_PAD.encode(id),
        URL_SAFE_NO_PAD.encode(secret)
    )
}

/// The public prefix of a well-formed key, or `None` for anything else.
pub(crate) fn prefix(key: &str) -> Option<&str> {
    let well_formed = key.len() == KEY_LEN
        && key.starts_with(TAG)
        && key.as_bytes()[PREFIX_LEN] == b'_'
        && key[TAG.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| &key[..PREFIX_LEN])
}

/// Lowercase hex SHA-256 of the whole key: what the store keeps and looks up.
pub(crate) fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_unique_and_digestible() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(prefix(&a), Some(&a[..12]));
        assert!(a.starts_with("omk_"));
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(prefix("omk_short"), None);
        assert_eq!(prefix(&a.replace("omk_", "xxx_")), None);
    }
}
