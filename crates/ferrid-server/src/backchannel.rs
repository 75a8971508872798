//! Back-Channel Logout 1.0: when a session ends, every client that got
//! tokens from it and registered a `backchannel_logout_uri` receives a
//! signed logout token. Tokens go through a durable outbox in the
//! database, delivered with retries and exponential backoff, so neither a
//! receiver that is down nor a restart loses a logout.

use ferrid_store::secret::random_token;
use ferrid_store::{LogoutDelivery, Store};
use ferrid_tokens::claims::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TYPE};
use ferrid_tokens::{Keyring, LogoutTokenClaims, SigningAlgorithm};
use reqwest::Method;
use serde_json::json;

use crate::blocking::db;
use crate::error::Internal;
use crate::outbound::Outbound;
use crate::subjects::Subjects;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// Seconds a node holds a delivery while it sends it.
const CLAIM_SECONDS: i64 = 30;
/// Lifetime of a logout token, seconds (receivers check `exp`).
const LOGOUT_TOKEN_TTL: i64 = 120;
/// Deliveries sent per run at most.
const BATCH: i64 = 100;

/// Seconds to wait after failed attempt number `attempts` (1, 2, …):
/// 5 s, 10 s, 20 s … capped at one hour.
pub fn backoff(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (5_i64 << exponent).min(3600)
}

/// Delivers the outbox: holds the store, outgoing HTTP and the issuer
/// that logout tokens name, and nothing else.
#[derive(Clone)]
pub struct LogoutSender {
    store: Store,
    outbound: Outbound,
    issuer: String,
    subjects: Subjects,
}

impl LogoutSender {
    /// A sender of tokens issued by `issuer`, naming users as `subjects`
    /// says each client sees them.
    pub fn new(
        store: Store,
        outbound: Outbound,
        issuer: String,
        subjects: Subjects,
    ) -> LogoutSender {
        LogoutSender {
            store,
            outbound,
            issuer,
            subjects,
        }
    }

    /// Sends every due logout token once, signed with `keyring`; returns
    /// how many were delivered. Safe on several nodes at once: each
    /// delivery is claimed first.
    pub async fn deliver_due(&self, keyring: &Keyring, now: i64) -> Result<usize, Internal> {
        let due = db(&self.store, move |store| {
            store.due_logout_deliveries(now, MAX_ATTEMPTS, BATCH)
        })
        .await?;
        let mut delivered = 0;
        for delivery in due {
            let id = delivery.id.clone();
            let claimed = db(&self.store, move |store| {
                store.claim_logout_delivery(&id, now, now + CLAIM_SECONDS)
            })
            .await?;
            if !claimed {
                continue;
            }
            // The user as this client knows them (a pairwise sub, maybe).
            let client_id = delivery.client_id.clone();
            let sector = db(&self.store, move |store| {
                Ok::<_, ferrid_store::StoreError>(
                    store
                        .find_client(&client_id)?
                        .and_then(|client| client.pairwise_sector),
                )
            })
            .await?;
            let sub = self.subjects.in_sector(sector.as_deref(), &delivery.sub);
            let sid = self
                .subjects
                .session_in_sector(sector.as_deref(), &delivery.sid);
            // Signed now, not when queued: a retry an hour later still
            // carries a token that is fresh by its exp.
            let logout_token = self.sign(keyring, &delivery, (sub, sid), now)?;
            let outcome = match self.outbound.request(Method::POST, &delivery.uri) {
                Ok(request) => request
                    .form(&[("logout_token", logout_token.as_str())])
                    .send()
                    .await
                    .map_err(|error| format!("cannot reach the receiver: {error}")),
                Err(refused) => Err(refused),
            };
            let failure = match outcome {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("receiver answered {}", response.status())),
                Err(error) => Some(error),
            };
            let id = delivery.id.clone();
            match failure {
                None => {
                    db(&self.store, move |store| {
                        store.mark_logout_delivered(&id, now)
                    })
                    .await?;
                    delivered += 1;
                }
                Some(error) => {
                    let attempts = delivery.attempts + 1;
                    let retry_at = now + backoff(attempts);
                    tracing::warn!(client_id = %delivery.client_id, attempts, %error, retry_at,
                        "back-channel logout delivery failed");
                    db(&self.store, move |store| {
                        store.mark_logout_failed(&id, &error, retry_at)
                    })
                    .await?;
                }
            }
        }
        Ok(delivered)
    }

    /// The logout token for a queued delivery.
    fn sign(
        &self,
        keyring: &Keyring,
        delivery: &LogoutDelivery,
        (sub, sid): (String, String),
        now: i64,
    ) -> Result<String, Internal> {
        let alg = SigningAlgorithm::parse(&delivery.alg).unwrap_or(SigningAlgorithm::Rs256);
        let claims = LogoutTokenClaims {
            iss: self.issuer.clone(),
            aud: delivery.client_id.clone(),
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL,
            jti: random_token(16),
            events: json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
            sub,
            sid,
        };
        Ok(keyring.sign(&claims, LOGOUT_TOKEN_TYPE, alg)?)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), 5);
        assert_eq!(backoff(2), 10);
        assert_eq!(backoff(5), 80);
        assert_eq!(backoff(30), 3600);
    }
}
