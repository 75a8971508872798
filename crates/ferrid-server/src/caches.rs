//! Small per-node caches for the hot paths (token, introspection and
//! UserInfo endpoints). Neither holds state that matters: losing them
//! costs only time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrid_store::Client;
use ferrid_tokens::AccessTokenClaims;
use sha2::{Digest, Sha256};

/// Entries a cache keeps before it starts over (bounds memory).
const MAX_ENTRIES: usize = 10_000;

/// Access tokens whose signature was already verified with the current
/// keyring, by SHA-256 of the token. It lives inside the published keyring,
/// so a key change (revocation, rotation) starts it afresh. Expiry and
/// revocation are still checked on every use.
#[derive(Debug, Default)]
pub struct VerifiedTokens(Mutex<HashMap<[u8; 32], AccessTokenClaims>>);

impl VerifiedTokens {
    /// The claims of `token`, verifying with `verify` only on a miss.
    pub fn get_or_verify(
        &self,
        token: &str,
        verify: impl FnOnce() -> Option<AccessTokenClaims>,
    ) -> Option<AccessTokenClaims> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self
            .0
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned())
        {
            return Some(claims);
        }
        let claims = verify()?;
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key, claims.clone());
        }
        Some(claims)
    }
}

/// How long a client read for authentication is reused: a change to a
/// client (deletion, new keys) takes effect on every node within this.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(1);

/// Clients recently read by client authentication.
#[derive(Debug, Default)]
pub struct RecentClients(Mutex<HashMap<String, (Instant, Arc<Client>)>>);

impl RecentClients {
    /// The cached client, if read less than [`CLIENT_CACHE_TTL`] ago.
    pub fn get(&self, client_id: &str) -> Option<Arc<Client>> {
        let cache = self.0.lock().ok()?;
        let (read_at, client) = cache.get(client_id)?;
        (read_at.elapsed() < CLIENT_CACHE_TTL).then(|| client.clone())
    }

    /// Forgets a client an admin just changed, so this node sees the
    /// change at once (others within [`CLIENT_CACHE_TTL`]).
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut cache) = self.0.lock() {
            cache.remove(client_id);
        }
    }

    /// Remembers a client just read.
    pub fn put(&self, client: Arc<Client>) {
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(client.client_id.clone(), (Instant::now(), client));
        }
    }
}

/// The registered APIs as last read: one snapshot shared by every
/// request for [`CLIENT_CACHE_TTL`], so a change to an API takes effect on
/// every node within that.
#[derive(Debug, Default)]
pub struct RecentApis(Mutex<Option<(Instant, Arc<crate::resources::Apis>)>>);

impl RecentApis {
    /// The snapshot, if read less than [`CLIENT_CACHE_TTL`] ago.
    pub fn get(&self) -> Option<Arc<crate::resources::Apis>> {
        let cache = self.0.lock().ok()?;
        let (read_at, apis) = cache.as_ref()?;
        (read_at.elapsed() < CLIENT_CACHE_TTL).then(|| apis.clone())
    }

    /// Remembers a snapshot just read.
    pub fn put(&self, apis: Arc<crate::resources::Apis>) {
        if let Ok(mut cache) = self.0.lock() {
            *cache = Some((Instant::now(), apis));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: ferrid_tokens::Audience::One("i".into()),
            client_id: "c".into(),
            exp: 10,
            iat: 0,
            jti: "j".into(),
            scope: "openid".into(),
            auth_time: None,
            sid: None,
            gid: None,
            acr: None,
            amr: None,
            roles: None,
            act: None,
            cnf: None,
        }
    }

    #[test]
    fn verified_tokens_verify_once_and_never_cache_failures() {
        let cache = VerifiedTokens::default();
        let mut calls = 0;
        for _ in 0..3 {
            assert!(cache
                .get_or_verify("token", || {
                    calls += 1;
                    Some(claims())
                })
                .is_some());
        }
        assert_eq!(calls, 1);
        let mut failures = 0;
        for _ in 0..2 {
            assert!(cache
                .get_or_verify("forged", || {
                    failures += 1;
                    None
                })
                .is_none());
        }
        assert_eq!(failures, 2);
    }
}
