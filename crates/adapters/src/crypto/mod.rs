//! Adapters that are cryptography: password hashing (Argon2id) and bearer tokens (JWT).

mod argon2_hasher;
mod jwt;

pub use argon2_hasher::{Argon2PasswordHasher, M_COST_KIB, P_COST, QUEUED_PER_CORE, T_COST};
pub use jwt::{
    JwtConfigError, JwtKey, JwtSettings, JwtTokenCodec, MAX_LEEWAY_SECS, MAX_TOKEN_BYTES,
    MIN_SECRET_BYTES,
};
