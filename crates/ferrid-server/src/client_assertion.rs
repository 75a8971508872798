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
use std::sync::{Arc, Mutex};

use ferrid_store::{Client, ClientAuthMethod, Store};
use ferrid_tokens::assertion::{verify_assertion, AssertionKey};
use ferrid_tokens::{MasterKey, TokenError, CLOCK_SKEW};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::blocking::db;
use crate::error::{ErrorCode, Internal, OAuthError};
use crate::outbound::Outbound;

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

/// Why a JWT a client signed was not verified.
#[derive(Debug)]
pub enum Unverified {
    /// The client has no key material to sign with (it authenticates
    /// with a hashed secret, or none).
    NoKeys,
    /// The signature (or its algorithm, or key id) does not check out.
    Signature,
    /// The client's `jwks_uri` could not be fetched.
    KeysUnavailable,
    /// A fault of this server.
    Internal(Internal),
}

impl From<Internal> for Unverified {
    fn from(internal: Internal) -> Self {
        Unverified::Internal(internal)
    }
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// What the last fetch of a `jwks_uri` gave.
#[derive(Debug, Clone)]
enum Fetched {
    /// The document, fetched at this time.
    Keys { at: i64, jwks: String },
    /// Consecutive failures, the last one at this time; no new fetch is
    /// made before [`failure_backoff`] has passed.
    Failed { at: i64, failures: u32 },
}

/// Seconds to wait after `failures` consecutive failed fetches of one
/// `jwks_uri`: 5 s, doubling, at most 5 minutes.
pub fn failure_backoff(failures: u32) -> i64 {
    (5_i64 << failures.saturating_sub(1).min(6)).min(JWKS_CACHE_SECONDS)
}

/// JWKS fetched from clients' `jwks_uri`s, per node, with failures
/// remembered and one fetch in flight per URI: unauthenticated token
/// requests naming a client must not turn into as many outbound requests.
#[derive(Debug, Default)]
struct JwksCache {
    fetched: Mutex<HashMap<String, Fetched>>,
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl JwksCache {
    fn get(&self, uri: &str) -> Option<Fetched> {
        self.fetched.lock().ok()?.get(uri).cloned()
    }

    fn put(&self, uri: &str, fetched: Fetched) {
        if let Ok(mut cache) = self.fetched.lock() {
            cache.insert(uri.to_owned(), fetched);
        }
    }

    /// The lock that one fetch of `uri` holds.
    fn lock_for(&self, uri: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.in_flight.lock() {
            Ok(mut locks) => locks.entry(uri.to_owned()).or_default().clone(),
            // A poisoned map only loses the single-flight guarantee.
            Err(_) => Arc::default(),
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
    outbound: Outbound,
    jwks_cache: JwksCache,
    rules: AssertionRules,
}

impl ClientAssertions {
    /// A verifier of assertions under `rules`.
    pub fn new(
        store: Store,
        master_key: MasterKey,
        outbound: Outbound,
        rules: AssertionRules,
    ) -> ClientAssertions {
        ClientAssertions {
            store,
            master_key,
            outbound,
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
        let claims: AssertionClaims = match self.verify_signed(client, assertion, now).await {
            Ok(claims) => claims,
            Err(Unverified::NoKeys) => {
                return Err(invalid_client(
                    "this client does not authenticate with a JWT",
                ))
            }
            Err(Unverified::Signature) => {
                return Err(invalid_client(
                    "the client assertion's signature is invalid",
                ))
            }
            Err(Unverified::KeysUnavailable) => {
                return Err(invalid_client("the client's jwks_uri could not be fetched"))
            }
            Err(Unverified::Internal(internal)) => return Err(internal.into()),
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

    /// Verifies a JWT `client` signed (an assertion, a request object)
    /// with its registered key material and returns its claims: the
    /// secret for `client_secret_jwt`, its public keys (by value or from
    /// its `jwks_uri`) for `private_key_jwt`. Claims are the caller's
    /// business.
    pub async fn verify_signed<T: DeserializeOwned>(
        &self,
        client: &Client,
        token: &str,
        now: i64,
    ) -> Result<T, Unverified> {
        match client.auth_method {
            ClientAuthMethod::ClientSecretJwt => {
                let sealed = client.secret_sealed.as_deref().ok_or_else(|| {
                    Internal::log(format!("client {} has no sealed secret", client.client_id))
                })?;
                let secret = self
                    .master_key
                    .open(sealed, &client.client_id)
                    .map_err(Internal::from)?;
                verify_assertion(token, AssertionKey::Secret(&secret))
                    .map_err(|_| Unverified::Signature)
            }
            ClientAuthMethod::PrivateKeyJwt => {
                self.verify_with_client_keys(client, token, now).await
            }
            _ => Err(Unverified::NoKeys),
        }
    }

    async fn verify_with_client_keys<T: DeserializeOwned>(
        &self,
        client: &Client,
        token: &str,
        now: i64,
    ) -> Result<T, Unverified> {
        let failed = |_| Unverified::Signature;
        if let Some(jwks) = &client.jwks {
            return verify_assertion(token, AssertionKey::Jwks(jwks)).map_err(failed);
        }
        let uri = client
            .jwks_uri
            .as_deref()
            .ok_or_else(|| Internal::log(format!("client {} has no keys", client.client_id)))?;
        let (fetched_at, jwks) = self.keys_at(uri, now, now - JWKS_CACHE_SECONDS).await?;
        match verify_assertion(token, AssertionKey::Jwks(&jwks)) {
            // A key the cached set lacks: the client may have rotated; fetch
            // again, but not more often than every few seconds.
            Err(TokenError::Invalid("kid")) if now - fetched_at >= JWKS_REFETCH_SECONDS => {
                let (_, fresh) = self.keys_at(uri, now, now - JWKS_REFETCH_SECONDS).await?;
                verify_assertion(token, AssertionKey::Jwks(&fresh)).map_err(failed)
            }
            other => other.map_err(failed),
        }
    }

    /// The key set of `uri` fetched after `fresh_after`, from the cache or
    /// fetched now, with its fetch time. One fetch per URI is in flight at
    /// a time (the others wait for its result), and after a failure no
    /// fetch is made until the back-off has passed.
    async fn keys_at(
        &self,
        uri: &str,
        now: i64,
        fresh_after: i64,
    ) -> Result<(i64, String), Unverified> {
        let unavailable = || Unverified::KeysUnavailable;
        let usable = |fetched: Option<Fetched>| match fetched {
            Some(Fetched::Keys { at, jwks }) if at > fresh_after => Some(Ok((at, jwks))),
            Some(Fetched::Failed { at, failures }) if now < at + failure_backoff(failures) => {
                Some(Err(unavailable()))
            }
            _ => None,
        };
        if let Some(answer) = usable(self.jwks_cache.get(uri)) {
            return answer;
        }
        let lock = self.jwks_cache.lock_for(uri);
        let _fetching = lock.lock().await;
        // Whoever held the lock may have just fetched it.
        let previous = self.jwks_cache.get(uri);
        if let Some(answer) = usable(previous.clone()) {
            return answer;
        }
        match self.fetch(uri).await {
            Ok(jwks) => {
                self.jwks_cache.put(
                    uri,
                    Fetched::Keys {
                        at: now,
                        jwks: jwks.clone(),
                    },
                );
                Ok((now, jwks))
            }
            Err(detail) => {
                let failures = match previous {
                    Some(Fetched::Failed { failures, .. }) => failures.saturating_add(1),
                    _ => 1,
                };
                let retry_in = failure_backoff(failures);
                tracing::warn!(uri, %detail, failures, retry_in, "cannot fetch a client's jwks_uri");
                self.jwks_cache
                    .put(uri, Fetched::Failed { at: now, failures });
                Err(unavailable())
            }
        }
    }

    /// Fetches a client's JWKS once ([`Outbound::fetch_text`]).
    async fn fetch(&self, uri: &str) -> Result<String, String> {
        self.outbound.fetch_text(uri, MAX_JWKS_BYTES).await
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
    fn failed_fetches_back_off() {
        assert_eq!(failure_backoff(1), 5);
        assert_eq!(failure_backoff(2), 10);
        assert_eq!(failure_backoff(4), 40);
        assert_eq!(failure_backoff(7), 300);
        assert_eq!(failure_backoff(u32::MAX), 300);
    }

    #[test]
    fn issuer_and_subject_are_the_client() {
        assert!(check(json!({ "iss": "other" })).is_err());
        assert!(check(json!({ "sub": "other" })).is_err());
    }
}
