//! Password hashing with Argon2id and the OWASP parameters (m = 19 MiB, t = 2, p = 1), stored as
//! PHC strings. The work runs on tokio's blocking pool, never on an async worker.
//!
//! Neither passwords nor hashes are ever logged or put into error messages.

use std::fmt;
use std::sync::Arc;

use application::ports::{HashingError, PasswordHash, PasswordHasher};
use argon2::password_hash::{self, phc};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use async_trait::async_trait;
use domain::Password;
use tokio::sync::Semaphore;

fn closed() -> HashingError {
    HashingError::Failed("the hashing queue is closed".to_owned())
}

/// Memory cost in KiB (19 MiB, OWASP's recommendation for Argon2id with t = 2).
pub const M_COST_KIB: u32 = 19 * 1024;
/// Number of passes.
pub const T_COST: u32 = 2;
/// Degree of parallelism.
pub const P_COST: u32 = 1;

/// Places in the hashing queue per core, besides the hash each core runs: a burst of logins
/// waits a little; a flood is refused at once instead of queueing without end.
pub const QUEUED_PER_CORE: usize = 2;

/// Argon2id hasher. Verification takes its parameters from the stored PHC string, so hashes made
/// with older (other) parameters still verify.
#[derive(Clone)]
pub struct Argon2PasswordHasher {
    argon2: Argon2<'static>,
    dummy: PasswordHash,
    /// Each hash holds 19 MiB and a core for tens of milliseconds: at most this many run at
    /// once, rather than filling tokio's blocking pool (512 threads, ~10 GiB).
    running: Arc<Semaphore>,
    /// Hashes running or waiting for a `running` permit; none left: [`HashingError::Busy`].
    admitted: Arc<Semaphore>,
}

impl Argon2PasswordHasher {
    /// Builds the hasher and precomputes the dummy hash (of a random password) once. That costs
    /// one hash (~tens of milliseconds): call it at start-up, not per request. One hash runs per
    /// core, and [`QUEUED_PER_CORE`] per core wait.
    pub fn new() -> Result<Self, HashingError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_capacity(cores, cores * QUEUED_PER_CORE)
    }

    /// A hasher that runs `running` hashes at once and lets `queued` more wait.
    pub fn with_capacity(running: usize, queued: usize) -> Result<Self, HashingError> {
        let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
            .map_err(|e| HashingError::Failed(format!("invalid Argon2 parameters: {e}")))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let random_password: [u8; 32] = rand::random();
        let dummy = hash_with(&argon2, &random_password)?;
        let running = running.max(1);
        Ok(Self {
            argon2,
            dummy,
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(running + queued)),
        })
    }

    /// Runs `work` on the blocking pool once admitted and given a core.
    ///
    /// Both permits move into the blocking task: if the request is abandoned (client gone,
    /// timeout) while its hash runs, the slot stays taken until the hash is done, so abandoned
    /// requests cannot pile up more hashes than there are slots.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashingError::Busy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let _held = (admitted, running);
            work(&argon2)
        })
        .await
        .map_err(|e| HashingError::Failed(format!("the hashing task failed: {e}")))?
    }
}

impl fmt::Debug for Argon2PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2PasswordHasher")
            .field("algorithm", &"argon2id")
            .field("m_cost_kib", &M_COST_KIB)
            .field("t_cost", &T_COST)
            .field("p_cost", &P_COST)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl PasswordHasher for Argon2PasswordHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        let password = password.clone();
        self.run(move |argon2| hash_with(argon2, password.expose().as_bytes()))
            .await
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashingError> {
        let password = password.clone();
        let hash = hash.clone();
        self.run(move |argon2| verify_with(argon2, password.expose().as_bytes(), hash.as_str()))
            .await
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }
}

/// Hashes with a fresh random salt (`hash_password` makes its own in argon2 0.6).
fn hash_with(argon2: &Argon2<'_>, password: &[u8]) -> Result<PasswordHash, HashingError> {
    argon2
        .hash_password(password)
        .map(|phc| PasswordHash::new(phc.to_string()))
        .map_err(|e| HashingError::Failed(format!("argon2 hashing failed: {e}")))
}

/// `Ok(false)` on a mismatch; `Err` when the stored hash cannot be used at all.
fn verify_with(argon2: &Argon2<'_>, password: &[u8], stored: &str) -> Result<bool, HashingError> {
    let malformed = || HashingError::Failed("the stored password hash is malformed".to_owned());
    let parsed = phc::PasswordHash::new(stored).map_err(|_| malformed())?;
    // Without these, argon2 would answer "invalid password" for an unusable hash.
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(malformed());
    }
    // The algorithm, version and cost parameters come from `parsed`, not from `argon2`.
    match argon2.verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(HashingError::Failed(format!(
            "the stored password hash cannot be verified: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::presented(raw).unwrap()
    }

    fn hasher() -> Argon2PasswordHasher {
        Argon2PasswordHasher::new().unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips_and_rejects_a_wrong_password() {
        let hasher = hasher();
        let hash = hasher
            .hash(&password("correct horse battery"))
            .await
            .unwrap();
        assert!(
            hasher
                .verify(&password("correct horse battery"), &hash)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&password("correct horse battery!"), &hash)
                .await
                .unwrap()
        );
        assert!(!hasher.verify(&password(""), &hash).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_the_owasp_parameters() {
        let hash = hasher().hash(&password("s3cret-s3cret")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected prefix"
        );
        let parsed = phc::PasswordHash::new(hash.as_str()).unwrap();
        assert_eq!(parsed.salt.unwrap().len(), argon2::RECOMMENDED_SALT_LEN);
        assert_eq!(parsed.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = hasher();
        let first = hasher.hash(&password("same-password")).await.unwrap();
        let second = hasher.hash(&password("same-password")).await.unwrap();
        assert_ne!(first, second);
        assert!(
            hasher
                .verify(&password("same-password"), &first)
                .await
                .unwrap()
        );
        assert!(
            hasher
                .verify(&password("same-password"), &second)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn malformed_hashes_are_errors_not_mismatches() {
        let hasher = hasher();
        let valid = hasher.hash(&password("whatever")).await.unwrap();
        let without_output = valid
            .as_str()
            .rsplit_once('$')
            .map(|(head, _)| head.to_owned())
            .unwrap();
        let without_salt_and_output = "$argon2id$v=19$m=19456,t=2,p=1".to_owned();
        let unknown_algorithm = valid.as_str().replace("$argon2id$", "$scrypt$");
        let bad_params = valid.as_str().replace("m=19456", "m=1");
        for malformed in [
            String::new(),
            "not a hash".to_owned(),
            "$argon2id$".to_owned(),
            without_output,
            without_salt_and_output,
            unknown_algorithm,
            bad_params,
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
        ] {
            let result = hasher
                .verify(&password("whatever"), &PasswordHash::new(malformed))
                .await;
            assert!(result.is_err(), "{result:?}");
        }
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() {
        let old_params = Params::new(4096, 3, 1, None).unwrap();
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, old_params);
        let old_hash = old.hash_password(b"legacy-password").unwrap().to_string();
        assert!(old_hash.starts_with("$argon2id$v=19$m=4096,t=3,p=1$"));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default());
        let argon2i_hash = argon2i
            .hash_password(b"legacy-password")
            .unwrap()
            .to_string();

        let hasher = hasher();
        for stored in [old_hash, argon2i_hash] {
            let stored = PasswordHash::new(stored);
            assert!(
                hasher
                    .verify(&password("legacy-password"), &stored)
                    .await
                    .unwrap()
            );
            assert!(
                !hasher
                    .verify(&password("legacy-passw0rd"), &stored)
                    .await
                    .unwrap()
            );
        }
    }

    #[tokio::test]
    async fn the_dummy_hash_is_valid_fixed_and_matches_no_password() {
        let hasher = hasher();
        let dummy = hasher.dummy_hash();
        assert_eq!(dummy, hasher.dummy_hash());
        assert!(
            dummy
                .as_str()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        for guess in ["", "password", "correct horse battery staple", "\u{0}"] {
            assert!(!hasher.verify(&password(guess), &dummy).await.unwrap());
        }
        // Each hasher draws its own random password.
        assert_ne!(dummy, self::hasher().dummy_hash());
    }

    #[tokio::test]
    async fn beyond_the_running_and_queued_hashes_a_login_is_refused_at_once() {
        let hasher = Argon2PasswordHasher::with_capacity(1, 1).unwrap();
        let dummy = hasher.dummy_hash();
        let guess = password("a guess");
        // Polled in order: the first runs, the second waits, the third finds no place.
        let (first, second, third) = tokio::join!(
            hasher.verify(&guess, &dummy),
            hasher.verify(&guess, &dummy),
            hasher.verify(&guess, &dummy),
        );
        assert_eq!(first, Ok(false));
        assert_eq!(second, Ok(false));
        assert_eq!(third, Err(HashingError::Busy));
        // Once they are done, there is room again.
        assert_eq!(hasher.verify(&guess, &dummy).await, Ok(false));
    }

    #[tokio::test]
    async fn an_abandoned_request_keeps_its_slot_until_its_hash_is_done() {
        let hasher = Argon2PasswordHasher::with_capacity(1, 0).unwrap();
        let dummy = hasher.dummy_hash();
        let guess = password("a guess");
        {
            // Polled once, so its hash starts on the blocking pool; then the request is dropped.
            let mut abandoned = hasher.verify(&guess, &dummy);
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(abandoned.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(
            hasher.verify(&guess, &dummy).await,
            Err(HashingError::Busy),
            "the slot is still taken by the abandoned hash"
        );
        // The abandoned hash finishes on its own and gives its slot back.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match hasher.verify(&guess, &dummy).await {
                Ok(false) => break,
                Err(HashingError::Busy) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_shows_no_hash() {
        let hasher = hasher();
        let debug = format!("{hasher:?}");
        assert!(!debug.contains(hasher.dummy_hash().as_str()));
        assert!(!debug.contains("$argon2id$"));
    }
}
