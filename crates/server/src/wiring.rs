//! Builds every adapter from the settings and wires them into the use cases. The only place
//! that knows which technology serves which port.

use std::sync::Arc;
use std::time::Duration;

use adapters::crypto::{Argon2PasswordHasher, JwtKey, JwtSettings, JwtTokenCodec};
use adapters::fallback_rate_limiter::FallbackRateLimiter;
use adapters::memory::{CachedApiKeyStore, InMemorySessionStore};
use adapters::redis::{RedisSessionStore, RedisSettings};
use adapters::sql::{
    DatabaseConnection, SqlApiKeyStore, SqlOrderStore, SqlResilience, SqlUserStore,
};
use anyhow::{Context, bail};
use application::ports::{
    ApiKeyStore, Clock, OrderStore, PasswordHasher, SessionStore, SystemClock, TokenCodec,
    UserStore,
};
use application::use_cases::auth::{
    AddUser, ApiKeyUsage, Authenticate, CreateApiKey, ListApiKeys, Login, Logout, RevokeApiKey,
    UserLifecycle,
};
use application::use_cases::{
    CheckReadiness, ListCustomerItems, SubmitLimits, SubmitOrders, SummarizeCustomers,
    WriteGroupSettings,
};
use http_api::{ApiState, AuthApi, BodyBudget, HttpLimits, Lifecycle, UsernamePseudonyms};
use rand::RngCore;

use crate::cli::{AuthArgs, ServeArgs};
use crate::database::is_sqlite;
use crate::rate_limiting::rate_limiting;

/// Keys remembered at most: far more than any shop has, small enough to never matter.
const API_KEY_CACHE_CAPACITY: usize = 10_000;

/// The ports backed by the database.
pub struct Stores {
    pub orders: Arc<dyn OrderStore>,
    pub users: Arc<dyn UserStore>,
    pub api_keys: Arc<dyn ApiKeyStore>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    pub fn new(db: &DatabaseConnection, resilience: SqlResilience) -> Self {
        Self {
            orders: Arc::new(SqlOrderStore::with_resilience(db.clone(), resilience)),
            users: Arc::new(SqlUserStore::new(db.clone())),
            api_keys: Arc::new(SqlApiKeyStore::with_resilience(db.clone(), resilience)),
            clock: Arc::new(SystemClock),
        }
    }

    /// API keys remembered for `ttl` in this process (see [`CachedApiKeyStore`]); unchanged
    /// when `ttl` is zero.
    pub fn with_api_key_cache(mut self, ttl: Duration) -> Self {
        if !ttl.is_zero() {
            self.api_keys = Arc::new(CachedApiKeyStore::new(
                self.api_keys,
                ttl,
                API_KEY_CACHE_CAPACITY,
            ));
        }
        self
    }

    pub fn add_user(&self, hasher: Arc<dyn PasswordHasher>) -> AddUser {
        AddUser::new(self.users.clone(), hasher)
    }

    pub fn user_lifecycle(
        &self,
        hasher: Arc<dyn PasswordHasher>,
        sessions: Arc<dyn SessionStore>,
    ) -> UserLifecycle {
        UserLifecycle::new(self.users.clone(), hasher, sessions, self.clock.clone())
    }

    pub fn create_api_key(&self) -> CreateApiKey {
        CreateApiKey::new(self.api_keys.clone(), self.clock.clone())
    }

    pub fn revoke_api_key(&self) -> RevokeApiKey {
        RevokeApiKey::new(self.api_keys.clone(), self.clock.clone())
    }

    pub fn list_api_keys(&self) -> ListApiKeys {
        ListApiKeys::new(self.api_keys.clone())
    }
}

pub fn password_hasher() -> anyhow::Result<Arc<dyn PasswordHasher>> {
    Ok(Arc::new(
        Argon2PasswordHasher::new().context("cannot set up password hashing")?,
    ))
}

/// How long a readiness probe waits for each dependency.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Everything `serve` runs with.
#[derive(Debug)]
pub struct Wired {
    pub api: ApiState,
    pub api_key_usage: Arc<ApiKeyUsage>,
    /// Decides rate limits while Redis fails (`None` without Redis); counts how often.
    pub rate_limit_fallback: Option<Arc<FallbackRateLimiter>>,
}

pub fn wire(settings: &ServeArgs, stores: &Stores) -> anyhow::Result<Wired> {
    if settings.max_inflight_body_bytes < settings.max_body_bytes {
        // A body of the largest size could then never be read: every such request a 503.
        bail!(
            "--max-inflight-body-bytes ({}) must be at least --max-body-bytes ({})",
            settings.max_inflight_body_bytes,
            settings.max_body_bytes
        );
    }
    for warning in crate::transport_security::warnings(
        &settings.database.url,
        settings.auth.redis_url.as_deref(),
    ) {
        tracing::warn!("{warning}");
    }
    let hasher = password_hasher()?;
    let secret = signing_secret(&settings.auth, &settings.database.url)?;
    let username_pseudonyms = UsernamePseudonyms::derived_from(&secret);
    let tokens = token_codec(&settings.auth, secret)?;
    let (sessions, shared_sessions) = session_store(&settings.auth)?;
    let rate_limiting = rate_limiting(
        &settings.rate_limit,
        redis_settings(&settings.auth).as_ref(),
    )?;
    let api_key_usage = Arc::new(ApiKeyUsage::new(stores.api_keys.clone()));
    let clock = stores.clock.clone();
    let api = ApiState {
        submit_orders: SubmitOrders::new(
            stores.orders.clone(),
            clock.clone(),
            SubmitLimits {
                max_orders_per_batch: settings.max_orders_per_batch,
                max_items_per_order: settings.max_items_per_order,
                ..SubmitLimits::default()
            },
        )
        .with_write_groups(WriteGroupSettings {
            // As many transactions in flight as the pool has connections: fewer left requests
            // waiting for a writer on busy HTTP workers (measured: larger batches 2x slower at
            // 4), and groups still form whenever every connection is writing.
            concurrency: settings
                .write_groups
                .write_concurrency
                .unwrap_or(settings.database.max_connections as usize),
            max_requests: settings.write_groups.write_group_max_requests,
            max_orders: settings.write_groups.write_group_max_orders,
            max_items: settings.write_groups.write_group_max_items,
            max_queued: settings.write_groups.write_queue,
        })
        .with_deadline(Duration::from_millis(settings.submit_timeout_ms)),
        list_customer_items: ListCustomerItems::new(stores.orders.clone()),
        summarize_customers: SummarizeCustomers::new(stores.orders.clone()),
        auth: AuthApi {
            authenticate: Authenticate::new(
                tokens.clone(),
                sessions.clone(),
                stores.api_keys.clone(),
                api_key_usage.clone(),
                clock.clone(),
            ),
            login: Login::new(
                stores.users.clone(),
                hasher,
                sessions.clone(),
                tokens,
                clock,
                Duration::from_secs(settings.auth.token_ttl_secs.max(1)),
            ),
            logout: Logout::new(sessions.clone()),
        },
        readiness: CheckReadiness::new(stores.orders.clone(), shared_sessions, READINESS_TIMEOUT),
        lifecycle: Lifecycle::default(),
        rate_limit: rate_limiting.api,
        limits: HttpLimits {
            max_body_bytes: settings.max_body_bytes,
        },
        body_budget: BodyBudget::new(settings.max_inflight_body_bytes),
        username_pseudonyms,
        docs: settings.docs,
    };
    Ok(Wired {
        api,
        api_key_usage,
        rate_limit_fallback: rate_limiting.fallback,
    })
}

/// Redis, when configured: the same server for sessions and rate limits.
fn redis_settings(auth: &AuthArgs) -> Option<RedisSettings> {
    auth.redis_url.as_ref().map(|url| RedisSettings {
        url: url.clone(),
        pool_size: 16,
        timeout: Duration::from_millis(auth.redis_timeout_ms),
    })
}

/// The session store an admin command ends sessions in: the replicas' Redis when configured.
pub fn sessions_for_admin(auth: &AuthArgs) -> anyhow::Result<Arc<dyn SessionStore>> {
    session_store(auth).map(|(store, _)| store)
}

/// The session store, and the same again when it is shared (Redis) and so must be checked by
/// the readiness probe.
type SessionStores = (Arc<dyn SessionStore>, Option<Arc<dyn SessionStore>>);

fn session_store(auth: &AuthArgs) -> anyhow::Result<SessionStores> {
    match redis_settings(auth) {
        Some(settings) => {
            let store = RedisSessionStore::connect(&settings).context("invalid Redis settings")?;
            tracing::info!("sessions are kept in Redis");
            let store: Arc<dyn SessionStore> = Arc::new(store);
            Ok((store.clone(), Some(store)))
        }
        None => {
            tracing::info!("sessions are kept in memory (set REDIS_URL to share them)");
            Ok((Arc::new(InMemorySessionStore::new()), None))
        }
    }
}

/// The token signing secret: the configured one, or (SQLite only) a random one per start.
fn signing_secret(auth: &AuthArgs, database_url: &str) -> anyhow::Result<Vec<u8>> {
    Ok(match &auth.jwt_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None if is_sqlite(database_url) => {
            tracing::warn!(
                "ORDER_MANAGER_JWT_SECRET is not set: using a random signing key, so tokens \
                 end with this process"
            );
            let mut secret = vec![0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            secret
        }
        None => bail!(
            "ORDER_MANAGER_JWT_SECRET is required with a shared database: every replica must \
             verify the tokens of every other (at least 32 bytes)"
        ),
    })
}

fn token_codec(auth: &AuthArgs, secret: Vec<u8>) -> anyhow::Result<Arc<dyn TokenCodec>> {
    let verification_keys = match &auth.jwt_previous_keys {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                entry
                    .split_once('=')
                    .map(|(kid, secret)| JwtKey::new(kid.trim(), secret.trim().as_bytes()))
                    .context(
                        "ORDER_MANAGER_JWT_PREVIOUS_KEYS must look like `kid=secret,kid=secret`",
                    )
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let codec = JwtTokenCodec::new(JwtSettings {
        signing_key: JwtKey::new(auth.jwt_key_id.clone(), secret),
        verification_keys,
        issuer: auth.jwt_issuer.clone(),
        audience: auth.jwt_audience.clone(),
        leeway_secs: 30,
    })
    .context("invalid token signing settings")?;
    Ok(Arc::new(codec))
}
