//! The refresh token grant (RFC 6749 §6) with rotation on every use and
//! reuse detection (RFC 9700 §4.14.2).

use actix_web::HttpRequest;
use ferrid_store::secret::digest;
use ferrid_store::{Client, Grant, Store, StoreResult};

use crate::audit::{Event, Outcome};
use crate::error::{ErrorCode, OAuthError};
use crate::grants::invalid_grant;
use crate::grants::issue::{self, Subject, TokenResponse};
use crate::http::Params;
use crate::scopes;
use crate::state::AppState;

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

/// The outcome of the database part of a refresh.
enum Step {
    /// Refused with `invalid_grant`.
    Refused(&'static str),
    /// A rotated token presented again: its grant was revoked.
    Reused(Box<Grant>),
    /// A wider scope than granted was asked for.
    WiderScope(String),
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
) -> Result<TokenResponse, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?
        .to_owned();
    let requested = params.get("scope").map(scopes::split);
    let (worker, caller) = (state.clone(), client.clone());
    let step = state
        .db(move |store| refresh_in_store(&worker, store, &caller, &presented, requested))
        .await?;
    match step {
        Step::Refused(reason) => Err(invalid_grant(reason)),
        Step::Reused(grant) => {
            Event::new("grant.revoke", Outcome::Success)
                .actor("system")
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
        Step::Rotated(grant, scope, refresh_token) => {
            let mut response = issue::tokens(
                state,
                client,
                Subject::User {
                    grant: &grant,
                    nonce: None,
                },
                &scope,
            )?;
            response.refresh_token = Some(refresh_token);
            Ok(response)
        }
    }
}

fn refresh_in_store(
    state: &AppState,
    store: &Store,
    client: &Client,
    presented: &str,
    requested: Option<Vec<String>>,
) -> StoreResult<Step> {
    let token_digest = digest(presented);
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
    let now = state.now();
    if token.expires_at <= now {
        return Ok(Step::Refused("the refresh token has expired"));
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
    let rotated = store.rotate_refresh_token(&token_digest, now)?;
    let presentation = match (rotated, token.rotated_at) {
        (true, _) => Presentation::Rotates,
        (false, Some(rotated_at)) => {
            classify_used(rotated_at, now, state.settings.refresh_reuse_grace)
        }
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
    if store
        .find_user(&grant.user_id)?
        .is_none_or(|user| user.disabled)
    {
        return Ok(Step::Refused("the user is no longer active"));
    }
    // The new refresh token keeps the original scope (RFC 6749 §6).
    let (refresh_token, row) = issue::new_refresh_token(state, client, &grant, &token.scope);
    store.insert_refresh_token(&row)?;
    Ok(Step::Rotated(Box::new(grant), scope, refresh_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_tokens_are_classified_by_when_they_were_rotated() {
        assert_eq!(classify_used(100, 100, 0), Presentation::Concurrent);
        assert_eq!(classify_used(99, 100, 0), Presentation::Concurrent);
        assert_eq!(classify_used(98, 100, 0), Presentation::Reuse);
        assert_eq!(classify_used(90, 100, 10), Presentation::WithinGrace);
        assert_eq!(classify_used(89, 100, 10), Presentation::Reuse);
    }
}
