//! Bearer tokens as JWTs signed with HS256 (and only HS256), with key rotation by `kid`.
//!
//! Verification reads the header before anything else: the algorithm must be HS256 and the `kid`
//! must name a configured key. Only then are the signature, `exp` (with leeway), `iss` and `aud`
//! checked, in that order. Secrets never show in `Debug` output or error messages.

use std::collections::HashMap;
use std::fmt;

use application::ports::{SessionClaims, TokenCodec, TokenError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::Scopes;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// HMAC-SHA256 secrets shorter than the hash output are refused.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock-skew allowance cap (a larger leeway would also underflow jsonwebtoken's `now - leeway`).
pub const MAX_LEEWAY_SECS: u64 = 300;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

const ALGORITHM: Algorithm = Algorithm::HS256;
const ALGORITHM_NAME: &str = "HS256";

/// A named HMAC secret. `id` travels in the token header as `kid`; the secret never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtKey {
    /// The key id (`kid`).
    pub id: String,
    pub secret: Vec<u8>,
}

impl JwtKey {
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What [`JwtTokenCodec`] signs with and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// Signs new tokens; also accepted for verification.
    pub signing_key: JwtKey,
    /// Previous keys whose tokens are still accepted (rotation).
    pub verification_keys: Vec<JwtKey>,
    /// `iss` written into and required of tokens.
    pub issuer: String,
    /// `aud` written into and required of tokens.
    pub audience: String,
    /// Seconds a token is still accepted after its `exp` (clock skew); at most
    /// [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
}

/// Why [`JwtSettings`] are refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwtConfigError {
    #[error("the JWT key `{kid}` is too short: a secret needs at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret { kid: String },
    #[error("the JWT key id `{kid}` is configured more than once")]
    DuplicateKeyId { kid: String },
    #[error("a JWT key id (kid) must not be empty")]
    EmptyKeyId,
    #[error("the JWT {0} must not be empty")]
    EmptySetting(&'static str),
    #[error("the JWT leeway must be at most {MAX_LEEWAY_SECS} seconds, not {0}")]
    LeewayTooLarge(u64),
}

/// [`TokenCodec`] on `jsonwebtoken`, algorithm pinned to HS256.
pub struct JwtTokenCodec {
    signing_kid: String,
    encoding_key: EncodingKey,
    decoding_keys: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl JwtTokenCodec {
    pub fn new(settings: JwtSettings) -> Result<Self, JwtConfigError> {
        if settings.issuer.is_empty() {
            return Err(JwtConfigError::EmptySetting("issuer"));
        }
        if settings.audience.is_empty() {
            return Err(JwtConfigError::EmptySetting("audience"));
        }
        if settings.leeway_secs > MAX_LEEWAY_SECS {
            return Err(JwtConfigError::LeewayTooLarge(settings.leeway_secs));
        }

        let mut decoding_keys = HashMap::new();
        for key in std::iter::once(&settings.signing_key).chain(&settings.verification_keys) {
            if key.id.is_empty() {
                return Err(JwtConfigError::EmptyKeyId);
            }
            if key.secret.len() < MIN_SECRET_BYTES {
                return Err(JwtConfigError::WeakSecret {
                    kid: key.id.clone(),
                });
            }
            if decoding_keys.contains_key(&key.id) {
                return Err(JwtConfigError::DuplicateKeyId {
                    kid: key.id.clone(),
                });
            }
            decoding_keys.insert(key.id.clone(), DecodingKey::from_secret(&key.secret));
        }

        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = settings.leeway_secs;
        validation.validate_exp = true;
        // Checked when present (this codec never sets it).
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        // `iat` is not a "spec claim" to jsonwebtoken: `IncomingClaims` requires it instead.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

        Ok(Self {
            signing_kid: settings.signing_key.id.clone(),
            encoding_key: EncodingKey::from_secret(&settings.signing_key.secret),
            decoding_keys,
            validation,
            issuer: settings.issuer,
            audience: settings.audience,
        })
    }
}

impl fmt::Debug for JwtTokenCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut accepted: Vec<&str> = self.decoding_keys.keys().map(String::as_str).collect();
        accepted.sort_unstable();
        f.debug_struct("JwtTokenCodec")
            .field("algorithm", &ALGORITHM_NAME)
            .field("signing_kid", &self.signing_kid)
            .field("accepted_kids", &accepted)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct OutgoingClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    sid: &'a str,
    scope: String,
    iat: u64,
    exp: u64,
}

/// The claims read back; `iss` and `aud` are checked by jsonwebtoken's validation.
#[derive(Deserialize)]
struct IncomingClaims {
    sub: String,
    sid: String,
    scope: String,
    iat: u64,
    exp: u64,
}

/// The part of the header read before any key is chosen. Unknown fields are ignored.
#[derive(Deserialize)]
struct PeekedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Explicit typing (RFC 8725, 3.11): only the `JWT` this codec writes, so that a token of
    /// another kind signed with the same key is never taken for a session token.
    #[serde(default)]
    typ: Option<String>,
    /// Critical extensions: this codec understands none (RFC 7515, 4.1.11).
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

fn peek_header(token: &str) -> Result<PeekedHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

fn map_error(error: &jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::ImmatureSignature
        | ErrorKind::InvalidSubject => TokenError::Malformed,
        // Key or configuration problems on our side (the kind never holds secrets).
        other => TokenError::Internal(format!("{other:?}")),
    }
}

impl TokenCodec for JwtTokenCodec {
    fn issue(&self, claims: &SessionClaims) -> Result<String, TokenError> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing_kid.clone());
        let outgoing = OutgoingClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: &claims.subject,
            sid: &claims.session_id,
            scope: claims.scopes.to_string(),
            iat: claims.issued_at,
            exp: claims.expires_at,
        };
        jsonwebtoken::encode(&header, &outgoing, &self.encoding_key)
            .map_err(|e| TokenError::Internal(format!("signing the token failed: {e}")))
    }

    fn verify(&self, token: &str) -> Result<SessionClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let header = peek_header(token)?;
        if header.alg != ALGORITHM_NAME {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|typ| typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(TokenError::Malformed);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding_keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;

        let data = jsonwebtoken::decode::<IncomingClaims>(token, key, &self.validation)
            .map_err(|e| map_error(&e))?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sid.is_empty() {
            return Err(TokenError::Malformed);
        }
        let scopes = Scopes::parse_list(&claims.scope).map_err(|_| TokenError::Malformed)?;
        Ok(SessionClaims {
            subject: claims.sub,
            session_id: claims.sid,
            scopes,
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::Scope;
    use jsonwebtoken::get_current_timestamp;

    use super::*;

    const SECRET_1: &[u8] = b"k1-secret-k1-secret-k1-secret-k1";
    const SECRET_2: &[u8] = b"k2-secret-k2-secret-k2-secret-k2-and-more";

    fn settings(kid: &str, secret: &[u8]) -> JwtSettings {
        JwtSettings {
            signing_key: JwtKey::new(kid, secret),
            verification_keys: Vec::new(),
            issuer: "order-manager".to_owned(),
            audience: "order-manager-api".to_owned(),
            leeway_secs: 60,
        }
    }

    fn codec(kid: &str, secret: &[u8]) -> JwtTokenCodec {
        JwtTokenCodec::new(settings(kid, secret)).unwrap()
    }

    fn claims() -> SessionClaims {
        let now = get_current_timestamp();
        SessionClaims {
            subject: "alice".to_owned(),
            session_id: "session-1".to_owned(),
            scopes: Scopes::new([Scope::OrdersWrite, Scope::CustomersRead]),
            issued_at: now,
            expires_at: now + 900,
        }
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// A token with any header and payload JSON, signed with HS256 under `secret`.
    fn hs256_token(header: &str, payload: &str, secret: &[u8]) -> String {
        let message = format!("{}.{}", b64(header), b64(payload));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{message}.{signature}")
    }

    fn payload_json(claims: &SessionClaims) -> String {
        serde_json::json!({
            "iss": "order-manager",
            "aud": "order-manager-api",
            "sub": claims.subject,
            "sid": claims.session_id,
            "scope": claims.scopes.to_string(),
            "iat": claims.issued_at,
            "exp": claims.expires_at,
        })
        .to_string()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let codec = codec("k1", SECRET_1);
        let claims = claims();
        let token = codec.issue(&claims).unwrap();
        assert_eq!(codec.verify(&token).unwrap(), claims);

        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_part(parts[0]);
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["kid"], "k1");
        let payload = decode_part(parts[1]);
        assert_eq!(payload["iss"], "order-manager");
        assert_eq!(payload["aud"], "order-manager-api");
        assert_eq!(payload["sub"], "alice");
        assert_eq!(payload["sid"], "session-1");
        assert_eq!(payload["scope"], "orders:write customers:read");
        assert_eq!(payload["iat"].as_u64(), Some(claims.issued_at));
        assert_eq!(payload["exp"].as_u64(), Some(claims.expires_at));
    }

    #[test]
    fn empty_scopes_round_trip() {
        let codec = codec("k1", SECRET_1);
        let claims = SessionClaims {
            scopes: Scopes::default(),
            ..claims()
        };
        assert_eq!(
            codec.verify(&codec.issue(&claims).unwrap()).unwrap(),
            claims
        );
    }

    #[test]
    fn unsigned_alg_none_tokens_are_refused() {
        let codec = codec("k1", SECRET_1);
        let payload = payload_json(&claims());
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"none","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"None","typ":"JWT","kid":"k1"}"#,
        ] {
            let token = format!("{}.{}.", b64(header), b64(&payload));
            assert_eq!(codec.verify(&token), Err(TokenError::WrongAlgorithm));
        }
    }

    #[test]
    fn other_hmac_algorithms_with_the_same_secret_are_refused() {
        let codec = codec("k1", SECRET_1);
        let claims = claims();
        let payload = serde_json::from_str::<serde_json::Value>(&payload_json(&claims)).unwrap();
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some("k1".to_owned());
            let token =
                jsonwebtoken::encode(&header, &payload, &EncodingKey::from_secret(SECRET_1))
                    .unwrap();
            assert_eq!(codec.verify(&token), Err(TokenError::WrongAlgorithm));
        }
    }

    #[test]
    fn asymmetric_algorithm_headers_are_refused() {
        let codec = codec("k1", SECRET_1);
        let payload = payload_json(&claims());
        for header in [
            r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#,
            r#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#,
        ] {
            // Even "signed" with the HMAC secret (the classic key-confusion attack).
            let token = hs256_token(header, &payload, SECRET_1);
            assert_eq!(codec.verify(&token), Err(TokenError::WrongAlgorithm));
        }
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let codec = codec("k1", SECRET_1);
        let token = codec.issue(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload = decode_part(parts[1]);
        payload["scope"] = serde_json::Value::from("admin");
        let tampered = format!("{}.{}.{}", parts[0], b64(payload.to_string()), parts[2]);
        assert_eq!(codec.verify(&tampered), Err(TokenError::BadSignature));

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[0] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(signature));
        assert_eq!(codec.verify(&flipped), Err(TokenError::BadSignature));

        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(codec.verify(&unsigned), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_signed_with_another_secret_under_the_same_kid_is_refused() {
        let forger = codec("k1", SECRET_2);
        let token = forger.issue(&claims()).unwrap();
        assert_eq!(
            codec("k1", SECRET_1).verify(&token),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn unknown_or_missing_kids_are_refused() {
        let codec = codec("k1", SECRET_1);
        let token = self::codec("k9", SECRET_1).issue(&claims()).unwrap();
        assert_eq!(codec.verify(&token), Err(TokenError::UnknownKey));

        let payload = payload_json(&claims());
        let without_kid = hs256_token(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, SECRET_1);
        assert_eq!(codec.verify(&without_kid), Err(TokenError::UnknownKey));
        let empty_kid = hs256_token(
            r#"{"alg":"HS256","typ":"JWT","kid":""}"#,
            &payload,
            SECRET_1,
        );
        assert_eq!(codec.verify(&empty_kid), Err(TokenError::UnknownKey));
    }

    #[test]
    fn only_tokens_typed_jwt_and_already_valid_are_accepted() {
        let codec = codec("k1", SECRET_1);
        let payload = payload_json(&claims());
        let typed = hs256_token(
            r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
            &payload,
            SECRET_1,
        );
        assert!(codec.verify(&typed).is_ok());
        for header in [
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"JWS","kid":"k1"}"#,
        ] {
            let token = hs256_token(header, &payload, SECRET_1);
            assert_eq!(codec.verify(&token), Err(TokenError::Malformed), "{header}");
        }
        let mut not_yet: serde_json::Value = serde_json::from_str(&payload).unwrap();
        not_yet["nbf"] = serde_json::json!(get_current_timestamp() + 3600);
        let token = hs256_token(
            r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
            &not_yet.to_string(),
            SECRET_1,
        );
        assert_eq!(codec.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn expiry_honours_the_leeway() {
        let codec = codec("k1", SECRET_1);
        let now = get_current_timestamp();
        let long_expired = SessionClaims {
            issued_at: now - 1000,
            expires_at: now - 120,
            ..claims()
        };
        let token = codec.issue(&long_expired).unwrap();
        assert_eq!(codec.verify(&token), Err(TokenError::Expired));

        let just_expired = SessionClaims {
            issued_at: now - 1000,
            expires_at: now - 30,
            ..claims()
        };
        let token = codec.issue(&just_expired).unwrap();
        assert_eq!(codec.verify(&token).unwrap(), just_expired);
    }

    #[test]
    fn another_issuer_or_audience_is_refused() {
        let codec = codec("k1", SECRET_1);
        let other_issuer = JwtTokenCodec::new(JwtSettings {
            issuer: "someone-else".to_owned(),
            ..settings("k1", SECRET_1)
        })
        .unwrap();
        let token = other_issuer.issue(&claims()).unwrap();
        assert_eq!(codec.verify(&token), Err(TokenError::WrongIssuer));

        let other_audience = JwtTokenCodec::new(JwtSettings {
            audience: "another-api".to_owned(),
            ..settings("k1", SECRET_1)
        })
        .unwrap();
        let token = other_audience.issue(&claims()).unwrap();
        assert_eq!(codec.verify(&token), Err(TokenError::WrongAudience));
    }

    #[test]
    fn garbage_is_malformed() {
        let codec = codec("k1", SECRET_1);
        let valid = codec.issue(&claims()).unwrap();
        let parts: Vec<&str> = valid.split('.').collect();
        for garbage in [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            "not-a-token".to_owned(),
            "a.b.c".to_owned(),
            "Bearer abc.def.ghi".to_owned(),
            format!("{valid}.extra"),
            format!("{}.{}", parts[0], parts[1]),
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            format!("{}.{}.{}", b64("not json"), parts[1], parts[2]),
            format!(
                "{}.{}.{}",
                b64(r#"{"typ":"JWT","kid":"k1"}"#),
                parts[1],
                parts[2]
            ),
            format!(
                "{}.{}.{}",
                b64(r#"{"alg":256,"kid":"k1"}"#),
                parts[1],
                parts[2]
            ),
            format!("{}.{}.{}", parts[0], parts[1], "!!!"),
            "x".repeat(MAX_TOKEN_BYTES + 1),
            format!("{}.{}", valid, "a".repeat(MAX_TOKEN_BYTES)),
        ] {
            assert_eq!(
                codec.verify(&garbage),
                Err(TokenError::Malformed),
                "{garbage}"
            );
        }
    }

    #[test]
    fn validly_signed_but_malformed_claims_are_malformed() {
        let codec = codec("k1", SECRET_1);
        let header = r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;
        let claims = claims();
        let full = serde_json::from_str::<serde_json::Value>(&payload_json(&claims)).unwrap();

        let mut unknown_scope = full.clone();
        unknown_scope["scope"] = serde_json::Value::from("orders:write root");
        let mut float_exp = full.clone();
        float_exp["exp"] = serde_json::Value::from(claims.expires_at as f64 + 0.5);
        let mut empty_sid = full.clone();
        empty_sid["sid"] = serde_json::Value::from("");
        let mut numeric_iss = full.clone();
        numeric_iss["iss"] = serde_json::Value::from(7);
        let mut payloads = vec![unknown_scope, float_exp, empty_sid, numeric_iss];
        for required in ["exp", "iat", "iss", "aud", "sub", "sid", "scope"] {
            let mut missing = full.clone();
            missing.as_object_mut().unwrap().remove(required);
            payloads.push(missing);
        }
        for payload in payloads {
            let token = hs256_token(header, &payload.to_string(), SECRET_1);
            assert_eq!(
                codec.verify(&token),
                Err(TokenError::Malformed),
                "{payload}"
            );
        }
        let not_json = hs256_token(header, "not json", SECRET_1);
        assert_eq!(codec.verify(&not_json), Err(TokenError::Malformed));
        let crit = hs256_token(
            r#"{"alg":"HS256","kid":"k1","crit":["exp"]}"#,
            &payload_json(&claims),
            SECRET_1,
        );
        assert_eq!(codec.verify(&crit), Err(TokenError::Malformed));

        // The hand-made token itself is fine.
        let token = hs256_token(header, &payload_json(&claims), SECRET_1);
        assert_eq!(codec.verify(&token).unwrap(), claims);
    }

    #[test]
    fn tokens_of_a_previous_key_still_verify_after_rotation() {
        let old = codec("k1", SECRET_1);
        let old_token = old.issue(&claims()).unwrap();

        let rotated = JwtTokenCodec::new(JwtSettings {
            verification_keys: vec![JwtKey::new("k1", SECRET_1)],
            ..settings("k2", SECRET_2)
        })
        .unwrap();
        assert_eq!(rotated.verify(&old_token).unwrap(), claims_of(&old_token));
        let new_token = rotated.issue(&claims()).unwrap();
        assert_eq!(
            decode_part(new_token.split('.').next().unwrap())["kid"],
            "k2"
        );
        assert!(rotated.verify(&new_token).is_ok());
        // The old codec does not know k2.
        assert_eq!(old.verify(&new_token), Err(TokenError::UnknownKey));
    }

    fn claims_of(token: &str) -> SessionClaims {
        codec("k1", SECRET_1).verify(token).unwrap()
    }

    #[test]
    fn weak_secrets_duplicate_kids_and_bad_settings_are_refused() {
        let weak = JwtTokenCodec::new(settings("k1", &[7u8; 31])).unwrap_err();
        assert_eq!(
            weak,
            JwtConfigError::WeakSecret {
                kid: "k1".to_owned()
            }
        );
        let message = weak.to_string();
        assert!(message.contains("`k1`") && message.contains("at least 32 bytes"));
        assert!(JwtTokenCodec::new(settings("k1", &[7u8; 32])).is_ok());

        let weak_old = JwtTokenCodec::new(JwtSettings {
            verification_keys: vec![JwtKey::new("old", vec![1u8; 16])],
            ..settings("k1", SECRET_1)
        })
        .unwrap_err();
        assert_eq!(
            weak_old,
            JwtConfigError::WeakSecret {
                kid: "old".to_owned()
            }
        );

        let duplicate = JwtTokenCodec::new(JwtSettings {
            verification_keys: vec![JwtKey::new("k2", SECRET_2), JwtKey::new("k1", SECRET_2)],
            ..settings("k1", SECRET_1)
        })
        .unwrap_err();
        assert_eq!(
            duplicate,
            JwtConfigError::DuplicateKeyId {
                kid: "k1".to_owned()
            }
        );

        assert_eq!(
            JwtTokenCodec::new(settings("", SECRET_1)).unwrap_err(),
            JwtConfigError::EmptyKeyId
        );
        assert_eq!(
            JwtTokenCodec::new(JwtSettings {
                issuer: String::new(),
                ..settings("k1", SECRET_1)
            })
            .unwrap_err(),
            JwtConfigError::EmptySetting("issuer")
        );
        assert_eq!(
            JwtTokenCodec::new(JwtSettings {
                audience: String::new(),
                ..settings("k1", SECRET_1)
            })
            .unwrap_err(),
            JwtConfigError::EmptySetting("audience")
        );
        assert_eq!(
            JwtTokenCodec::new(JwtSettings {
                leeway_secs: u64::MAX,
                ..settings("k1", SECRET_1)
            })
            .unwrap_err(),
            JwtConfigError::LeewayTooLarge(u64::MAX)
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = JwtSettings {
            verification_keys: vec![JwtKey::new("k1", SECRET_1)],
            ..settings("k2", SECRET_2)
        };
        let codec = JwtTokenCodec::new(settings.clone()).unwrap();
        let secret_bytes_1 = format!("{:?}", SECRET_1.to_vec());
        let secret_bytes_2 = format!("{:?}", SECRET_2.to_vec());
        for debug in [
            format!("{:?}", settings.signing_key),
            format!("{settings:?}"),
            format!("{settings:#?}"),
            format!("{codec:?}"),
            format!("{codec:#?}"),
        ] {
            for secret in [SECRET_1, SECRET_2] {
                assert!(
                    !debug.contains(std::str::from_utf8(secret).unwrap()),
                    "{debug}"
                );
            }
            assert!(!debug.contains(&secret_bytes_1), "{debug}");
            assert!(!debug.contains(&secret_bytes_2), "{debug}");
            assert!(!debug.contains("k1-secret") && !debug.contains("k2-secret"));
        }
        assert!(format!("{codec:?}").contains("\"k2\""));
        let message = JwtTokenCodec::new(settings_with_weak_secret())
            .unwrap_err()
            .to_string();
        assert!(!message.contains("weak-weak"));
    }

    fn settings_with_weak_secret() -> JwtSettings {
        settings("k1", b"weak-weak")
    }
}
