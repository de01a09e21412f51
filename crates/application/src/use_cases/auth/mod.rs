//! Authentication use cases: log in and out, recognize a caller, manage users and API keys.

mod api_key_format;
mod api_key_usage;
mod authenticate;
mod login;
mod logout;
mod manage_api_keys;
mod manage_users;
mod user_lifecycle;

pub use api_key_usage::ApiKeyUsage;
pub use authenticate::{AuthError, Authenticate};
pub use login::{IssuedToken, Login, LoginError};
pub use logout::{Logout, LogoutError};
pub use manage_api_keys::{
    ApiKeyAdminError, CreateApiKey, CreatedApiKey, ListApiKeys, RevokeApiKey,
};
pub use manage_users::{AddUser, AddUserFailure};
pub use user_lifecycle::{UserLifecycle, UserLifecycleError};
