//! The refresh token grant (RFC 6749 §6) with rotation on every use and
//! reuse detection (RFC 9700 §4.14.2).
//!
//! [`rotate`] is the storage step, one plain function over the narrow
//! [`RefreshStorage`] it declares, run in one transaction: the presented
//! token is marked used and its successor stored together, so a crash
//! can never leave a used token without a successor (which the client's
//! next refresh would take for reuse, logging the user out).
//!
//! A token's successor is derived from it with a key only the server has
//! ([`Successors`]), so the grace window can answer a just-rotated token
//! with the very successor the rotation gave: the family never forks into
//! two live tokens, and a later reuse of either is still detected.

use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrid_store::secret::digest;
use ferrid_store::{Client, Grant, RefreshToken, Store, StoreResult, Transaction};
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

use ferrid_service::audit::{actors, Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::{ErrorCode, OAuthError};
use crate::grants::invalid_grant;
use crate::grants::issue::{self, Lifetimes, Subject, TokenResponse};
use crate::http::Params;
use crate::resources;
use crate::state::AppState;
use ferrid_service::scopes;

/// What presenting a refresh token amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// The live token: this request rotates it.
    Rotates,
    /// Rotated within the grace window: answered once more.
    WithinGrace,
    /// Rotated in this same second by a concurrent request of the client:
    /// refused, but not treated as theft.
    Concurrent,
    /// Rotated earlier: a replay, so the whole family is revoked.
    Reuse,
}

/// Classifies the presentation of a token that this request could not
/// rotate, from when it was rotated. Times are whole seconds, so a
/// rotation in the previous second may still be a concurrent request of
/// the same client straddling the boundary.
pub fn classify_used(rotated_at: i64, now: i64, grace: i64) -> Presentation {
    if grace > 0 && now - rotated_at <= grace {
        Presentation::WithinGrace
    } else if rotated_at >= now - CONCURRENCY_WINDOW {
        Presentation::Concurrent
    } else {
        Presentation::Reuse
    }
}

/// Seconds after a rotation during which a presentation counts as a
/// concurrent request rather than a replay.
pub const CONCURRENCY_WINDOW: i64 = 1;

/// What the refresh grant needs of storage, within one transaction.
pub trait RefreshTx {
    /// A refresh token and its grant.
    fn find_refresh_token(&mut self, digest: &str) -> StoreResult<Option<(RefreshToken, Grant)>>;
    /// Marks a live token used; true for exactly one caller.
    fn rotate_refresh_token(&mut self, digest: &str, now: i64) -> StoreResult<bool>;
    /// Spends a rotated token's one use within the grace window; true for
    /// exactly one caller.
    fn use_refresh_grace(&mut self, digest: &str) -> StoreResult<bool>;
    /// Revokes a grant; true if it was live.
    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool>;
    /// Whether the user exists and is enabled.
    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool>;
    /// Stores a refresh token.
    fn insert_refresh_token(&mut self, token: &RefreshToken) -> StoreResult<()>;
}

/// Storage that runs a refresh step in one transaction: committed when
/// `step` returns `Ok`, rolled back when it fails.
pub trait RefreshStorage {
    /// Runs `step` in one transaction.
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn RefreshTx) -> StoreResult<T>,
    ) -> StoreResult<T>;
}

impl RefreshTx for Transaction<'_> {
    fn find_refresh_token(&mut self, digest: &str) -> StoreResult<Option<(RefreshToken, Grant)>> {
        Transaction::find_refresh_token(self, digest)
    }

    fn rotate_refresh_token(&mut self, digest: &str, now: i64) -> StoreResult<bool> {
        Transaction::rotate_refresh_token(self, digest, now)
    }

    fn use_refresh_grace(&mut self, digest: &str) -> StoreResult<bool> {
        Transaction::use_refresh_grace(self, digest)
    }

    fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
        Transaction::revoke_grant(self, grant_id, now)
    }

    fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
        Transaction::is_user_active(self, user_id)
    }

    fn insert_refresh_token(&mut self, token: &RefreshToken) -> StoreResult<()> {
        Transaction::insert_refresh_token(self, token)
    }
}

impl RefreshStorage for Store {
    fn in_transaction<T>(
        &self,
        step: impl FnOnce(&mut dyn RefreshTx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write_transaction(|transaction| step(transaction))
    }
}

/// The outcome of the storage step of a refresh.
pub enum Step {
    /// Refused with `invalid_grant`.
    Refused(&'static str),
    /// A rotated token presented again: its grant was revoked.
    Reused(Box<Grant>),
    /// A wider scope than granted was asked for.
    WiderScope(String),
    /// The `resource` asked for is not one the grant covers (RFC 8707).
    WrongTarget(OAuthError),
    /// Rotated: the grant, the scope to issue, and the new refresh token.
    Rotated(Box<Grant>, Vec<String>, String),
}

/// Exchanges a refresh token for new tokens and a new refresh token. All
/// database work happens in one blocking call: this is a hot path.
pub async fn exchange(
    state: &AppState,
    http: &HttpRequest,
    client: &Client,
    params: &Params,
    holder: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?
        .to_owned();
    let requested = params.get("scope").map(scopes::split);
    let named = params.all("resource").to_vec();
    let apis = state.apis().await?;
    let (caller, now) = (client.clone(), state.now());
    let policy = RotationPolicy {
        grace: state.settings.refresh_reuse_grace,
        idle_lifetime: Lifetimes::of(&state.settings, client).refresh_idle,
        successors: Successors(state.subkey(Successors::PURPOSE)),
        holder: holder.map(str::to_owned),
    };
    let step = state
        .db(move |store| rotate(store, &caller, &presented, requested, &named, policy, now))
        .await?;
    match step {
        Step::Refused(reason) => Err(invalid_grant(reason)),
        Step::Reused(grant) => {
            Event::new(EventKind::GrantRevoke, Outcome::Success)
                .actor(actors::SYSTEM)
                .subject(&grant.user_id)
                .client(&client.client_id)
                .detail(format!("refresh token reused; grant {}", grant.id))
                .record(state, http)
                .await;
            Err(invalid_grant(
                "the refresh token was already used; the grant is revoked",
            ))
        }
        Step::WiderScope(extra) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope \"{}\" was not granted",
                extra.chars().take(64).collect::<String>()
            ),
        )),
        Step::WrongTarget(error) => Err(error),
        Step::Rotated(grant, scope, refresh_token) => {
            let target = resources::target_for_grant(
                &apis,
                &resources::stored(&grant.resources),
                params.all("resource"),
            )?;
            let mut response = issue::mint(
                state,
                client,
                Subject::User {
                    grant: &grant,
                    nonce: None,
                },
                &scope,
                target,
                holder,
            )
            .await?;
            response.refresh_token = Some(refresh_token);
            Ok(response)
        }
    }
}

/// Never shows the new refresh token.
impl std::fmt::Debug for Step {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Refused(reason) => formatter.debug_tuple("Refused").field(reason).finish(),
            Step::Reused(grant) => formatter.debug_tuple("Reused").field(&grant.id).finish(),
            Step::WiderScope(scope) => formatter.debug_tuple("WiderScope").field(scope).finish(),
            Step::WrongTarget(error) => formatter.debug_tuple("WrongTarget").field(error).finish(),
            Step::Rotated(grant, scope, _) => formatter
                .debug_tuple("Rotated")
                .field(&grant.id)
                .field(scope)
                .field(&"…")
                .finish(),
        }
    }
}

/// The refresh settings a rotation needs.
pub struct RotationPolicy {
    /// Seconds after a rotation during which the old token is answered
    /// once more (`refresh_reuse_grace`).
    pub grace: i64,
    /// The client's refresh-token idle lifetime, seconds.
    pub idle_lifetime: i64,
    /// How successors are derived.
    pub successors: Successors,
    /// The thumbprint of the DPoP key the request proved, if any.
    pub holder: Option<String>,
}

/// Derives a refresh token's successor: HMAC-SHA256 of the token under a
/// subkey of the master key, so every node derives the same successor and
/// nobody without the master key can.
pub struct Successors(pub Zeroizing<[u8; 32]>);

impl Successors {
    /// The purpose of the master key's subkey that derives successors.
    pub const PURPOSE: &str = "ferrid refresh-token successor v1";

    /// The successor of `token`.
    pub fn of(&self, token: &str) -> String {
        let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.0.as_ref()) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; unreachable, and a random
            // token is still a valid (if non-derived) successor.
            Err(_) => return ferrid_store::secret::generate_secret(issue::REFRESH_TOKEN_PREFIX),
        };
        mac.update(token.as_bytes());
        format!(
            "{}{}",
            issue::REFRESH_TOKEN_PREFIX,
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// Rotates the presented refresh token in one transaction: checks it,
/// marks it used and stores its successor, or revokes its grant on reuse.
pub fn rotate(
    storage: &impl RefreshStorage,
    client: &Client,
    presented: &str,
    requested: Option<Vec<String>>,
    named: &[String],
    policy: RotationPolicy,
    now: i64,
) -> StoreResult<Step> {
    let token_digest = digest(presented);
    storage.in_transaction(|store| {
        let Some((token, grant)) = store.find_refresh_token(&token_digest)? else {
            return Ok(Step::Refused("the refresh token is invalid"));
        };
        if token.client_id != client.client_id {
            return Ok(Step::Refused(
                "the refresh token was issued to another client",
            ));
        }
        if grant.revoked_at.is_some() {
            return Ok(Step::Refused("the refresh token has been revoked"));
        }
        if token.expires_at <= now {
            return Ok(Step::Refused("the refresh token has expired"));
        }
        // Checked before the token is spent: a request without the key's
        // proof must not burn the holder's token.
        if grant.dpop_jkt.is_some() && grant.dpop_jkt != policy.holder {
            return Ok(Step::Refused(
                "the refresh token is bound to a DPoP key: send a proof made with it",
            ));
        }
        // Narrowing is allowed, widening never (RFC 6749 §6).
        let granted = scopes::split(&token.scope);
        let scope = match requested {
            Some(requested) => {
                if let Some(extra) = requested
                    .iter()
                    .find(|scope| !scopes::contains(&granted, scope))
                {
                    return Ok(Step::WiderScope(extra.clone()));
                }
                requested
            }
            None => granted,
        };
        if let Err(error) = resources::check_named(&resources::stored(&grant.resources), named) {
            return Ok(Step::WrongTarget(error));
        }
        let rotated = store.rotate_refresh_token(&token_digest, now)?;
        let presentation = match (rotated, token.rotated_at) {
            (true, _) => Presentation::Rotates,
            (false, Some(rotated_at)) => classify_used(rotated_at, now, policy.grace),
            // Not rotated, yet not rotatable: a concurrent request took it just
            // now (the row was read before its rotation).
            (false, None) => Presentation::Concurrent,
        };
        // The grace window answers a rotated token once, not as often as it
        // is presented (the family must not fork).
        let presentation = match presentation {
            Presentation::WithinGrace if !store.use_refresh_grace(&token_digest)? => {
                Presentation::Reuse
            }
            other => other,
        };
        match presentation {
            Presentation::Rotates | Presentation::WithinGrace => {}
            Presentation::Concurrent => {
                return Ok(Step::Refused(
                    "the refresh token was just used by another request",
                ))
            }
            Presentation::Reuse => {
                store.revoke_grant(&grant.id, now)?;
                tracing::warn!(grant_id = %grant.id, client_id = %client.client_id,
                    "refresh token reused: the whole grant is revoked");
                return Ok(Step::Reused(Box::new(grant)));
            }
        }
        if !store.is_user_active(&grant.user_id)? {
            return Ok(Step::Refused("the user is no longer active"));
        }
        let successor = policy.successors.of(presented);
        if presentation == Presentation::WithinGrace {
            // The successor the rotation gave, again; never a second one.
            return Ok(match store.find_refresh_token(&digest(&successor))? {
                Some((child, _)) if child.rotated_at.is_none() && child.expires_at > now => {
                    Step::Rotated(Box::new(grant), scope, successor)
                }
                // The family has moved on past the successor: whoever
                // presents its parent now is not the client.
                Some(_) => {
                    store.revoke_grant(&grant.id, now)?;
                    tracing::warn!(grant_id = %grant.id, client_id = %client.client_id,
                        "refresh token reused after its successor: the whole grant is revoked");
                    Step::Reused(Box::new(grant))
                }
                // Rotated before successors were derived: nothing to repeat.
                None => Step::Refused("the refresh token was already used"),
            });
        }
        // The new refresh token keeps the original scope (RFC 6749 §6).
        let row = issue::refresh_token_row(
            &successor,
            client,
            &grant,
            &token.scope,
            policy.idle_lifetime,
            now,
        );
        store.insert_refresh_token(&row)?;
        Ok(Step::Rotated(Box::new(grant), scope, successor))
    })
}

#[cfg(test)]
mod tests {
    use ferrid_store::StoreError;

    use super::*;
    use crate::grants::authorization_code::{redeem, CodeExchange};
    use crate::grants::memory::fixtures::{self, client, code, LIFETIMES, NOW};
    use crate::grants::memory::Memory;

    fn policy() -> RotationPolicy {
        RotationPolicy {
            grace: 0,
            idle_lifetime: 3_600,
            successors: Successors(Zeroizing::new([9; 32])),
            holder: None,
        }
    }

    #[test]
    fn used_tokens_are_classified_by_when_they_were_rotated() {
        assert_eq!(classify_used(100, 100, 0), Presentation::Concurrent);
        assert_eq!(classify_used(99, 100, 0), Presentation::Concurrent);
        assert_eq!(classify_used(98, 100, 0), Presentation::Reuse);
        assert_eq!(classify_used(90, 100, 10), Presentation::WithinGrace);
        assert_eq!(classify_used(89, 100, 10), Presentation::Reuse);
    }

    /// A memory holding one grant (from a redeemed code) and its first
    /// refresh token, which is returned.
    fn memory_with_token() -> (Memory, String) {
        let memory = Memory::default();
        {
            let mut rows = memory.0.lock().unwrap();
            rows.active_users.insert("u1".into());
            rows.codes.insert(digest("c1"), code("c1", "u1"));
        }
        let exchange = CodeExchange {
            code: "c1",
            redirect_uri: "https://app.example/cb",
            verifier: None,
            holder: None,
        };
        let redeemed = redeem(&memory, &client(), &exchange, LIFETIMES, NOW - 10)
            .unwrap()
            .unwrap();
        (memory, redeemed.refresh_token.unwrap())
    }

    fn rotated(step: Step) -> String {
        match step {
            Step::Rotated(_, _, token) => token,
            other => panic!("expected a rotation, got {other:?}"),
        }
    }

    #[test]
    fn each_use_rotates_the_token_in_one_step() {
        let (memory, token) = memory_with_token();
        let next = rotated(rotate(&memory, &client(), &token, None, &[], policy(), NOW).unwrap());
        let rows = memory.rows();
        assert_eq!(rows.refresh_tokens[&digest(&token)].rotated_at, Some(NOW));
        assert_eq!(rows.refresh_tokens[&digest(&next)].expires_at, NOW + 3_600);
        rotated(rotate(&memory, &client(), &next, None, &[], policy(), NOW + 5).unwrap());
    }

    #[test]
    fn a_reused_token_revokes_its_grant() {
        let (memory, token) = memory_with_token();
        rotated(rotate(&memory, &client(), &token, None, &[], policy(), NOW).unwrap());
        let same_second = rotate(&memory, &client(), &token, None, &[], policy(), NOW + 1).unwrap();
        assert!(matches!(same_second, Step::Refused(_)), "{same_second:?}");
        let later = rotate(&memory, &client(), &token, None, &[], policy(), NOW + 2).unwrap();
        let Step::Reused(grant) = later else {
            panic!("expected reuse, got {later:?}");
        };
        assert_eq!(memory.rows().grants[&grant.id].revoked_at, Some(NOW + 2));
    }

    fn with_grace() -> RotationPolicy {
        RotationPolicy {
            grace: 10,
            ..policy()
        }
    }

    #[test]
    fn the_grace_window_answers_a_rotated_token_once() {
        let (memory, token) = memory_with_token();
        rotated(rotate(&memory, &client(), &token, None, &[], with_grace(), NOW).unwrap());
        rotated(rotate(&memory, &client(), &token, None, &[], with_grace(), NOW + 5).unwrap());
        let third = rotate(&memory, &client(), &token, None, &[], with_grace(), NOW + 6).unwrap();
        assert!(matches!(third, Step::Reused(_)), "{third:?}");
    }

    /// Regression: the grace window minted a second live successor, so the
    /// family forked and a replay of either branch went unnoticed.
    #[test]
    fn the_grace_window_returns_the_same_successor() {
        let (memory, token) = memory_with_token();
        let first =
            rotated(rotate(&memory, &client(), &token, None, &[], with_grace(), NOW).unwrap());
        let again =
            rotated(rotate(&memory, &client(), &token, None, &[], with_grace(), NOW + 5).unwrap());
        assert_eq!(first, again);
        let live = memory
            .rows()
            .refresh_tokens
            .values()
            .filter(|row| row.rotated_at.is_none())
            .count();
        assert_eq!(live, 1, "one live token in the family");
        // The family goes on from that successor, and the old token, once
        // its successor is used, is a replay.
        let (memory, token) = memory_with_token();
        let child =
            rotated(rotate(&memory, &client(), &token, None, &[], with_grace(), NOW).unwrap());
        rotated(rotate(&memory, &client(), &child, None, &[], with_grace(), NOW + 2).unwrap());
        let replay = rotate(&memory, &client(), &token, None, &[], with_grace(), NOW + 4).unwrap();
        assert!(matches!(replay, Step::Reused(_)), "{replay:?}");
    }

    #[test]
    fn successors_depend_on_the_token_and_the_key() {
        let key = policy().successors;
        assert_eq!(key.of("frt_a"), key.of("frt_a"));
        assert_ne!(key.of("frt_a"), key.of("frt_b"));
        assert!(key.of("frt_a").starts_with("frt_"));
        let other = Successors(Zeroizing::new([8; 32]));
        assert_ne!(key.of("frt_a"), other.of("frt_a"));
    }

    #[test]
    fn tokens_that_cannot_be_used_are_refused_without_rotation() {
        let (memory, token) = memory_with_token();
        let mut other = client();
        other.client_id = "other".into();
        let refusals: Vec<(&str, Step)> = vec![
            (
                "unknown",
                rotate(&memory, &client(), "frt_nope", None, &[], policy(), NOW).unwrap(),
            ),
            (
                "another client",
                rotate(&memory, &other, &token, None, &[], policy(), NOW).unwrap(),
            ),
            (
                "expired",
                rotate(&memory, &client(), &token, None, &[], policy(), NOW + 3_600).unwrap(),
            ),
        ];
        for (case, step) in refusals {
            assert!(matches!(step, Step::Refused(_)), "{case}: {step:?}");
        }
        let wider = rotate(
            &memory,
            &client(),
            &token,
            Some(vec!["email".into()]),
            &[],
            policy(),
            NOW,
        )
        .unwrap();
        assert!(
            matches!(wider, Step::WiderScope(ref scope) if scope == "email"),
            "{wider:?}"
        );
        assert_eq!(
            memory.rows().refresh_tokens[&digest(&token)].rotated_at,
            None
        );
        let narrower = rotate(
            &memory,
            &client(),
            &token,
            Some(vec!["openid".into()]),
            &[],
            policy(),
            NOW,
        )
        .unwrap();
        assert!(matches!(narrower, Step::Rotated(_, ref scope, _) if scope == &["openid"]));
    }

    #[test]
    fn a_resource_the_grant_does_not_cover_spends_nothing() {
        let (memory, token) = memory_with_token();
        let elsewhere = ["https://elsewhere.example".to_owned()];
        let step = rotate(&memory, &client(), &token, None, &elsewhere, policy(), NOW).unwrap();
        assert!(
            matches!(step, Step::WrongTarget(ref error) if error.error == ErrorCode::InvalidTarget),
            "{step:?}"
        );
        assert_eq!(
            memory.rows().refresh_tokens[&digest(&token)].rotated_at,
            None
        );
    }

    #[test]
    fn a_revoked_grant_or_a_disabled_user_ends_the_family() {
        let (memory, token) = memory_with_token();
        memory.0.lock().unwrap().active_users.clear();
        let step = rotate(&memory, &client(), &token, None, &[], policy(), NOW).unwrap();
        assert!(
            matches!(step, Step::Refused("the user is no longer active")),
            "{step:?}"
        );

        let (memory, token) = memory_with_token();
        for grant in memory.0.lock().unwrap().grants.values_mut() {
            grant.revoked_at = Some(NOW - 1);
        }
        let step = rotate(&memory, &client(), &token, None, &[], policy(), NOW).unwrap();
        assert!(matches!(
            step,
            Step::Refused("the refresh token has been revoked")
        ));
    }

    #[test]
    fn a_failed_step_keeps_the_presented_token_live() {
        let (memory, token) = memory_with_token();
        memory.0.lock().unwrap().fail_next_write = true;
        assert!(rotate(&memory, &client(), &token, None, &[], policy(), NOW).is_err());
        assert_eq!(
            memory.rows().refresh_tokens[&digest(&token)].rotated_at,
            None
        );
        rotated(rotate(&memory, &client(), &token, None, &[], policy(), NOW + 5).unwrap());
    }

    /// Regression: marking the token used and storing its successor were
    /// separate statements, so a node killed between them left a used
    /// token without a successor and the client's next refresh revoked
    /// the grant as reuse. On the real store a step that fails after the
    /// rotation now rolls it back.
    #[test]
    fn the_store_rotates_and_stores_the_successor_in_one_transaction() {
        struct FailOnInsert<'t, 'c>(&'t mut Transaction<'c>);
        impl RefreshTx for FailOnInsert<'_, '_> {
            fn find_refresh_token(
                &mut self,
                digest: &str,
            ) -> StoreResult<Option<(RefreshToken, Grant)>> {
                RefreshTx::find_refresh_token(self.0, digest)
            }
            fn rotate_refresh_token(&mut self, digest: &str, now: i64) -> StoreResult<bool> {
                RefreshTx::rotate_refresh_token(self.0, digest, now)
            }
            fn use_refresh_grace(&mut self, digest: &str) -> StoreResult<bool> {
                RefreshTx::use_refresh_grace(self.0, digest)
            }
            fn revoke_grant(&mut self, grant_id: &str, now: i64) -> StoreResult<bool> {
                RefreshTx::revoke_grant(self.0, grant_id, now)
            }
            fn is_user_active(&mut self, user_id: &str) -> StoreResult<bool> {
                RefreshTx::is_user_active(self.0, user_id)
            }
            fn insert_refresh_token(&mut self, _: &RefreshToken) -> StoreResult<()> {
                Err(StoreError::Corrupt("the node died here".into()))
            }
        }
        struct Crashing<'s>(&'s Store);
        impl RefreshStorage for Crashing<'_> {
            fn in_transaction<T>(
                &self,
                step: impl FnOnce(&mut dyn RefreshTx) -> StoreResult<T>,
            ) -> StoreResult<T> {
                self.0
                    .write_transaction(|transaction| step(&mut FailOnInsert(transaction)))
            }
        }

        let (store, user_id, _folder) = fixtures::sqlite();
        store
            .insert_authorization_code(&code("c1", &user_id))
            .unwrap();
        let exchange = CodeExchange {
            code: "c1",
            redirect_uri: "https://app.example/cb",
            verifier: None,
            holder: None,
        };
        let token = redeem(&store, &client(), &exchange, LIFETIMES, NOW - 10)
            .unwrap()
            .unwrap()
            .refresh_token
            .unwrap();
        assert!(rotate(
            &Crashing(&store),
            &client(),
            &token,
            None,
            &[],
            policy(),
            NOW
        )
        .is_err());
        // Seconds later, as the client retries: a rotation, not reuse.
        let next =
            rotated(rotate(&store, &client(), &token, None, &[], policy(), NOW + 5).unwrap());
        rotated(rotate(&store, &client(), &next, None, &[], policy(), NOW + 10).unwrap());
    }
}
