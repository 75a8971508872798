//! ferrid's signing keys as a service sees them: the JWKS, fetched once
//! and kept as long as its `Cache-Control: max-age` says, fetched again
//! early when a token names a key the cached set lacks (a rotation this
//! service has not seen yet), but at most once per [`MIN_REFETCH`], so
//! tokens with made-up key ids cannot make it hammer ferrid.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::DecodingKey;
use reqwest::header::CACHE_CONTROL;
use tokio::sync::{Mutex, RwLock};

/// Shortest time between two fetches of the key set.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);
/// How long a key set without a usable `max-age` is kept.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The longest a key set is kept, whatever `max-age` says.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Why no key could be had.
#[derive(Debug)]
pub enum KeyError {
    /// The key set could not be fetched or read.
    Fetch(String),
    /// No key with this id, even after fetching the set again.
    UnknownKey(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Fetch(error) => {
                write!(formatter, "the key set could not be fetched: {error}")
            }
            KeyError::UnknownKey(kid) => write!(formatter, "no published key has id {kid}"),
        }
    }
}

impl std::error::Error for KeyError {}

struct Cached {
    keys: JwkSet,
    fetched_at: Instant,
    max_age: Duration,
}

/// ferrid's published keys, cached.
pub struct KeySet {
    http: reqwest::Client,
    jwks_uri: String,
    cached: RwLock<Option<Cached>>,
    min_refetch: Duration,
    // One fetch at a time: concurrent requests with a new key id wait for
    // the fetch already under way instead of starting their own.
    fetching: Mutex<()>,
}

impl KeySet {
    /// A key set fetched from `jwks_uri` when first needed.
    pub fn new(http: reqwest::Client, jwks_uri: impl Into<String>) -> KeySet {
        KeySet {
            http,
            jwks_uri: jwks_uri.into(),
            cached: RwLock::new(None),
            min_refetch: MIN_REFETCH,
            fetching: Mutex::new(()),
        }
    }

    /// The same, fetching again for an unknown key id as soon as
    /// `min_refetch` after the last fetch (tests whose server clock jumps
    /// days in a moment use zero).
    pub fn with_min_refetch(mut self, min_refetch: Duration) -> KeySet {
        self.min_refetch = min_refetch;
        self
    }

    /// The key with id `kid` and its JWK.
    pub async fn key(&self, kid: &str) -> Result<(DecodingKey, Jwk), KeyError> {
        if let Some(found) = self.lookup(kid, false).await {
            return Ok(found);
        }
        self.refresh().await?;
        self.lookup(kid, true)
            .await
            .ok_or_else(|| KeyError::UnknownKey(kid.chars().take(64).collect()))
    }

    /// The key from the cache; a stale cache counts only if `stale_ok`.
    async fn lookup(&self, kid: &str, stale_ok: bool) -> Option<(DecodingKey, Jwk)> {
        let cached = self.cached.read().await;
        let cached = cached.as_ref()?;
        if !stale_ok && cached.fetched_at.elapsed() >= cached.max_age {
            return None;
        }
        let jwk = cached.keys.find(kid)?;
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some((key, jwk.clone()))
    }

    async fn refresh(&self) -> Result<(), KeyError> {
        let _one_fetch = self.fetching.lock().await;
        if let Some(cached) = self.cached.read().await.as_ref() {
            // Fetched a moment ago (by us or the request we waited for).
            if cached.fetched_at.elapsed() < self.min_refetch {
                return Ok(());
            }
        }
        let response = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| KeyError::Fetch(error.to_string()))?;
        let max_age = max_age(
            response
                .headers()
                .get(CACHE_CONTROL)
                .and_then(|value| value.to_str().ok()),
        );
        let keys: JwkSet = response
            .json()
            .await
            .map_err(|error| KeyError::Fetch(error.to_string()))?;
        *self.cached.write().await = Some(Cached {
            keys,
            fetched_at: Instant::now(),
            max_age,
        });
        Ok(())
    }
}

/// How long a response may be kept, from its `Cache-Control`.
pub fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(cache_control) = cache_control else {
        return DEFAULT_MAX_AGE;
    };
    let mut max_age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let directive = directive.to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.map_or(DEFAULT_MAX_AGE, |seconds| {
        Duration::from_secs(seconds).min(MAX_MAX_AGE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_follows_cache_control() {
        assert_eq!(
            max_age(Some("public, max-age=600")),
            Duration::from_secs(600)
        );
        assert_eq!(
            max_age(Some("Max-Age=60, must-revalidate")),
            Duration::from_secs(60)
        );
        assert_eq!(max_age(Some("no-store")), Duration::ZERO);
        assert_eq!(max_age(Some("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(max_age(Some("max-age=soon")), DEFAULT_MAX_AGE);
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
    }
}
