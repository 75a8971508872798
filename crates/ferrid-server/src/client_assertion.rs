//! JWT client authentication (RFC 7523 §2.2, §3): `client_secret_jwt`
//! (HMAC with the client secret) and `private_key_jwt` (the client's public
//! keys, registered by value or fetched from its `jwks_uri`).
//!
//! Rules, following the update of RFC 7523 in progress
//! (draft-ietf-oauth-rfc7523bis): `iss` = `sub` = the client id; `aud` is
//! a single value, the issuer (the token endpoint URL is accepted too, for
//! clients written to RFC 7523 as first published); `iat` and `exp` are
//! required and `exp` is at most [`AssertionRules::max_lifetime`] after
//! `iat`; `jti` is required and single-use; times are checked with a
//! leeway of [`CLOCK_SKEW`] seconds.

use std::collections::HashMap;
use std::sync::Mutex;

use ferrid_store::{Client, ClientAuthMethod, Store};
use ferrid_tokens::assertion::{verify_assertion, AssertionKey};
use ferrid_tokens::{MasterKey, TokenError, CLOCK_SKEW};
use serde::Deserialize;
use serde_json::Value;

use crate::blocking::db;
use crate::error::{ErrorCode, Internal, OAuthError};

/// The `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Largest JWKS document fetched from a `jwks_uri`.
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long a fetched JWKS is used before it is fetched again.
const JWKS_CACHE_SECONDS: i64 = 300;
/// Least time between two fetches of one `jwks_uri` (unknown `kid`s cannot
/// make ferrid hammer a client's server).
const JWKS_REFETCH_SECONDS: i64 = 10;

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Value,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// JWKS fetched from clients' `jwks_uri`s, per node.
#[derive(Debug, Default)]
struct JwksCache(Mutex<HashMap<String, (i64, String)>>);

impl JwksCache {
    fn get(&self, uri: &str) -> Option<(i64, String)> {
        self.0.lock().ok()?.get(uri).cloned()
    }

    fn put(&self, uri: &str, fetched_at: i64, body: String) {
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(uri.to_owned(), (fetched_at, body));
        }
    }
}

/// What a client assertion's claims must satisfy.
#[derive(Debug, Clone)]
pub struct AssertionRules {
    /// The issuer identifier: the audience assertions must name.
    pub issuer: String,
    /// The token endpoint URL, accepted as the audience for compatibility.
    pub token_endpoint: String,
    /// Longest validity, `exp` − `iat`, seconds.
    pub max_lifetime: i64,
}

impl AssertionRules {
    /// Checks the claims that are not the signature's business, at `now`;
    /// returns the `exp` to keep the `jti` until.
    fn check(
        &self,
        client_id: &str,
        claims: &AssertionClaims,
        now: i64,
    ) -> Result<i64, OAuthError> {
        if claims.iss != client_id || claims.sub != client_id {
            return Err(invalid_client(
                "the client assertion's iss and sub must be the client id",
            ));
        }
        // One audience only: an assertion also valid at another server could
        // be replayed there (or here, if that server leaks it).
        let audience = match &claims.aud {
            Value::String(one) => Some(one.as_str()),
            Value::Array(many) if many.len() == 1 => many[0].as_str(),
            _ => None,
        };
        if !audience.is_some_and(|aud| aud == self.issuer || aud == self.token_endpoint) {
            return Err(invalid_client(
                "the client assertion's aud must be the issuer alone",
            ));
        }
        let exp = claims
            .exp
            .ok_or_else(|| invalid_client("the client assertion has no exp"))?;
        let iat = claims
            .iat
            .ok_or_else(|| invalid_client("the client assertion has no iat"))?;
        if exp.saturating_add(CLOCK_SKEW) <= now {
            return Err(invalid_client("the client assertion has expired"));
        }
        if [Some(iat), claims.nbf]
            .iter()
            .flatten()
            .any(|time| *time > now.saturating_add(CLOCK_SKEW))
        {
            return Err(invalid_client("the client assertion is not valid yet"));
        }
        if exp.saturating_sub(iat) > self.max_lifetime {
            return Err(invalid_client(
                "the client assertion's exp is too far after its iat",
            ));
        }
        Ok(exp)
    }
}

/// Verifies client assertions: holds what that takes (the store for
/// `jti` replay records, the master key for `client_secret_jwt` secrets,
/// outgoing HTTP and a cache for `jwks_uri`s) and nothing else.
pub struct ClientAssertions {
    store: Store,
    master_key: MasterKey,
    http: reqwest::Client,
    jwks_cache: JwksCache,
    rules: AssertionRules,
}

impl ClientAssertions {
    /// A verifier of assertions under `rules`.
    pub fn new(
        store: Store,
        master_key: MasterKey,
        http: reqwest::Client,
        rules: AssertionRules,
    ) -> ClientAssertions {
        ClientAssertions {
            store,
            master_key,
            http,
            jwks_cache: JwksCache::default(),
            rules,
        }
    }

    /// Checks a client assertion for `client` at `now`.
    pub async fn check(
        &self,
        client: &Client,
        assertion: &str,
        now: i64,
    ) -> Result<(), OAuthError> {
        let claims: AssertionClaims = match client.auth_method {
            ClientAuthMethod::ClientSecretJwt => {
                let sealed = client.secret_sealed.as_deref().ok_or_else(|| {
                    Internal::log(format!("client {} has no sealed secret", client.client_id))
                })?;
                let secret = self
                    .master_key
                    .open(sealed, &client.client_id)
                    .map_err(Internal::from)?;
                verify_assertion(assertion, AssertionKey::Secret(&secret))
                    .map_err(|_| invalid_client("the client assertion's signature is invalid"))?
            }
            ClientAuthMethod::PrivateKeyJwt => {
                self.verify_with_client_keys(client, assertion, now).await?
            }
            _ => {
                return Err(invalid_client(
                    "this client does not authenticate with a JWT",
                ))
            }
        };
        let exp = self.rules.check(&client.client_id, &claims, now)?;
        let jti = claims
            .jti
            .ok_or_else(|| invalid_client("the client assertion has no jti"))?;
        let client_id = client.client_id.clone();
        let first_use = db(&self.store, move |store| {
            store.record_client_assertion(&client_id, &jti, exp.saturating_add(CLOCK_SKEW))
        })
        .await?;
        if !first_use {
            return Err(invalid_client("the client assertion was already used"));
        }
        Ok(())
    }

    async fn verify_with_client_keys(
        &self,
        client: &Client,
        assertion: &str,
        now: i64,
    ) -> Result<AssertionClaims, OAuthError> {
        let failed = |_| invalid_client("the client assertion's signature is invalid");
        if let Some(jwks) = &client.jwks {
            return verify_assertion(assertion, AssertionKey::Jwks(jwks)).map_err(failed);
        }
        let uri = client
            .jwks_uri
            .as_deref()
            .ok_or_else(|| Internal::log(format!("client {} has no keys", client.client_id)))?;
        let cached = self.jwks_cache.get(uri);
        let (fetched_at, jwks) = match cached {
            Some((fetched_at, body)) if now - fetched_at < JWKS_CACHE_SECONDS => (fetched_at, body),
            _ => (now, self.fetch(uri, now).await?),
        };
        match verify_assertion(assertion, AssertionKey::Jwks(&jwks)) {
            // A key the cached set lacks: the client may have rotated; fetch
            // again, but not more often than every few seconds.
            Err(TokenError::Invalid("kid")) if now - fetched_at >= JWKS_REFETCH_SECONDS => {
                let fresh = self.fetch(uri, now).await?;
                verify_assertion(assertion, AssertionKey::Jwks(&fresh)).map_err(failed)
            }
            other => other.map_err(failed),
        }
    }

    /// Fetches a client's JWKS: time-limited (the HTTP client's timeout),
    /// size-limited, and without following redirects.
    async fn fetch(&self, uri: &str, now: i64) -> Result<String, OAuthError> {
        let unavailable = |detail: String| {
            tracing::warn!(uri, %detail, "cannot fetch a client's jwks_uri");
            invalid_client("the client's jwks_uri could not be fetched")
        };
        let mut response = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| unavailable(error.to_string()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(unavailable(format!("larger than {MAX_JWKS_BYTES} bytes")));
            }
        }
        let text = String::from_utf8(body).map_err(|_| unavailable("not UTF-8".into()))?;
        self.jwks_cache.put(uri, now, text.clone());
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_000_000;

    fn rules() -> AssertionRules {
        AssertionRules {
            issuer: "https://id.example".into(),
            token_endpoint: "https://id.example/token".into(),
            max_lifetime: 300,
        }
    }

    fn claims(changes: Value) -> AssertionClaims {
        let mut claims = json!({
            "iss": "app", "sub": "app", "aud": "https://id.example",
            "iat": NOW, "exp": NOW + 60, "jti": "j1",
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        serde_json::from_value(claims).unwrap()
    }

    fn check(changes: Value) -> Result<i64, String> {
        rules()
            .check("app", &claims(changes), NOW)
            .map_err(|error| error.error_description.to_string())
    }

    #[test]
    fn a_well_formed_assertion_passes() {
        assert_eq!(check(json!({})), Ok(NOW + 60));
        assert!(check(json!({ "aud": ["https://id.example"] })).is_ok());
        assert!(check(json!({ "aud": "https://id.example/token" })).is_ok());
        assert!(check(json!({ "exp": NOW + 300 })).is_ok());
    }

    #[test]
    fn the_audience_is_the_issuer_alone() {
        for aud in [
            json!(["https://id.example", "https://other.example"]),
            json!(["https://other.example"]),
            json!("https://id.example/"),
            json!([]),
            json!(5),
        ] {
            let error = check(json!({ "aud": aud.clone() })).unwrap_err();
            assert!(error.contains("aud"), "{aud}: {error}");
        }
    }

    #[test]
    fn iat_is_required_and_exp_is_close_to_it() {
        assert!(check(json!({ "iat": null }))
            .unwrap_err()
            .contains("no iat"));
        assert!(check(json!({ "exp": null }))
            .unwrap_err()
            .contains("no exp"));
        assert!(check(json!({ "exp": NOW + 301 }))
            .unwrap_err()
            .contains("too far"));
        assert!(check(json!({ "exp": NOW + 10 * 365 * 86400 })).is_err());
        assert!(check(json!({ "iat": NOW + CLOCK_SKEW + 1 }))
            .unwrap_err()
            .contains("not valid yet"));
        assert!(check(json!({ "iat": NOW - 400, "exp": NOW - CLOCK_SKEW }))
            .unwrap_err()
            .contains("expired"));
    }

    #[test]
    fn issuer_and_subject_are_the_client() {
        assert!(check(json!({ "iss": "other" })).is_err());
        assert!(check(json!({ "sub": "other" })).is_err());
    }
}
