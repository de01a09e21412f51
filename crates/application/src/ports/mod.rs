//! What the use cases need from the outside, named by role. Adapters implement these traits;
//! the server wires them in as `Arc<dyn Port>`.

mod api_key_store;
mod clock;
mod credentials;
mod order_store;
mod rate_limiter;
mod session_store;
mod token_codec;
mod user_store;

pub use api_key_store::ApiKeyRecord;
pub use api_key_store::ApiKeyStore;
pub use clock::{Clock, SystemClock};
pub use credentials::{HashingError, PasswordHash, PasswordHasher};
pub use order_store::{
    CustomerSummary, InsertError, ItemKey, OrderStore, PurchasedItem, StoreError,
};
pub use rate_limiter::{InvalidPolicy, LimiterUnavailable, RateDecision, RateLimiter, RatePolicy};
pub use session_store::{SessionStore, SessionStoreUnavailable, session_ttl_secs};
pub use token_codec::{SessionClaims, TokenCodec, TokenError};
pub use user_store::{AddUserError, UserRecord, UserStore, UserSummary};

#[cfg(any(test, feature = "mocks"))]
pub use api_key_store::MockApiKeyStore;
#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
#[cfg(any(test, feature = "mocks"))]
pub use credentials::MockPasswordHasher;
#[cfg(any(test, feature = "mocks"))]
pub use order_store::MockOrderStore;
#[cfg(any(test, feature = "mocks"))]
pub use rate_limiter::MockRateLimiter;
#[cfg(any(test, feature = "mocks"))]
pub use session_store::MockSessionStore;
#[cfg(any(test, feature = "mocks"))]
pub use token_codec::MockTokenCodec;
#[cfg(any(test, feature = "mocks"))]
pub use user_store::MockUserStore;
