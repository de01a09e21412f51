//! Usernames in logs as keyed hashes.
//!
//! A failed login is worth logging with its username: a spray against one account shows as many
//! lines with one value. But the username itself is personal data, and a password typed into
//! the username field would land in the logs in clear. So the log gets a keyed hash: equal for
//! equal names, on every replica (the key derives from the signing secret they share), and not
//! reversible by whoever reads the logs without that secret.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the key is derived for, so that it is never the signing key itself.
const PURPOSE: &[u8] = b"order-manager/log-username-pseudonym/v1";

/// Makes the pseudonym of a username.
#[derive(Clone)]
pub struct UsernamePseudonyms {
    key: Arc<[u8; 32]>,
}

impl UsernamePseudonyms {
    /// Pseudonyms keyed by a key derived from `secret` (the token signing secret): every
    /// replica that shares it writes the same pseudonym for the same username.
    pub fn derived_from(secret: &[u8]) -> Self {
        Self {
            key: Arc::new(keyed(secret, PURPOSE)),
        }
    }

    /// `u:` and 16 hex digits (64 bits: enough to tell apart the names of one incident).
    pub fn of(&self, username: &str) -> String {
        let digest = keyed(self.key.as_slice(), username.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("u:{hex}")
    }
}

fn keyed(key: &[u8], message: &[u8]) -> [u8; 32] {
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of every length (a long one is hashed first): never taken.
        Err(_) => [0; 32],
    }
}

impl fmt::Debug for UsernamePseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UsernamePseudonyms(<key redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_and_secret_give_the_same_pseudonym_and_nothing_of_the_name() {
        let a = UsernamePseudonyms::derived_from(b"a shared signing secret of 32 bytes!");
        let b = UsernamePseudonyms::derived_from(b"a shared signing secret of 32 bytes!");
        let other = UsernamePseudonyms::derived_from(b"another secret, another deployment");
        assert_eq!(a.of("alice"), b.of("alice"));
        assert_ne!(a.of("alice"), a.of("alicf"));
        assert_ne!(a.of("alice"), other.of("alice"));
        let pseudonym = a.of("alice");
        assert_eq!(pseudonym.len(), 18);
        assert!(!pseudonym.contains("alice"));
        assert!(!format!("{a:?}").contains("secret"));
    }
}
