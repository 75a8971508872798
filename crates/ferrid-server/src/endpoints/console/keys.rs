//! `/admin/keys`: each algorithm's keys on a timeline (next, current,
//! retired: when each signs and when it leaves the key set), scheduled
//! and emergency rotation, and revocation (which needs a recent
//! confirmation). The same operations as the CLI and the admin API,
//! under the same lease.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::chart::{self, Span};
use ferrid_pages::console::{AlgorithmKeys, FieldErrors, KeyRow, KeysPage};
use ferrid_service::clock::timestamp;
use ferrid_service::keys::KeyError;
use ferrid_tokens::{KeyState, SigningAlgorithm, StoredKey};

use crate::console_session::{confirm, Confirmation, ConsoleAdmin};
use crate::endpoints::console::{done, field, signed_in, writer_form, ConsoleError, Page};
use crate::error::{Internal, PageError};
use crate::state::{AppState, StateError};

const DAY: i64 = 86_400;

/// When a key leaves the key set and (for the signing key) stops signing.
fn ends(key: &StoredKey, state: &AppState) -> (Option<i64>, Option<i64>) {
    let policy = &state.key_policy;
    match key.state {
        KeyState::Next => (None, None),
        KeyState::Current => {
            let retires = key.activates_at + policy.rotation_interval;
            (Some(retires), Some(retires + policy.retention))
        }
        KeyState::Retired => (
            key.retired_at,
            key.retired_at.map(|at| at + policy.retention),
        ),
        KeyState::Revoked => (key.retired_at, key.retired_at),
    }
}

async fn page_with(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let stored = state.db(|store| store.list_signing_keys()).await?;
    let now = state.now();
    let (start, end) = (now - 45 * DAY, now + 45 * DAY);
    let algorithms = state
        .key_policy
        .algorithms
        .iter()
        .map(|alg| {
            let mut keys: Vec<&StoredKey> = stored.iter().filter(|key| key.alg == *alg).collect();
            keys.sort_by_key(|key| std::cmp::Reverse(key.activates_at));
            let spans: Vec<Span> = keys
                .iter()
                .map(|key| {
                    let (retires, deleted) = ends(key, state);
                    Span {
                        label: key.kid.chars().take(12).collect(),
                        title: format!(
                            "{} {}: signs from {}{}",
                            key.kid,
                            key.state.as_str(),
                            timestamp(key.activates_at),
                            deleted.map_or_else(String::new, |at| format!(
                                ", leaves the key set {}",
                                timestamp(at)
                            ))
                        ),
                        from: key.created_at,
                        until: deleted.or(retires).unwrap_or(end),
                        class: match key.state {
                            KeyState::Next => "key-next",
                            KeyState::Current => "key-current",
                            KeyState::Retired => "key-retired",
                            KeyState::Revoked => "key-revoked",
                        },
                    }
                })
                .collect();
            AlgorithmKeys {
                alg: alg.as_str().to_owned(),
                timeline: chart::timeline(
                    &format!("keys-{}", alg.as_str()),
                    &format!("{} keys, 45 days back and ahead", alg.as_str()),
                    &spans,
                    start,
                    end,
                    now,
                ),
                keys: keys
                    .iter()
                    .map(|key| {
                        let (retires, deleted) = ends(key, state);
                        KeyRow {
                            kid: key.kid.clone(),
                            state: key.state.as_str().to_owned(),
                            created: timestamp(key.created_at),
                            activates: timestamp(key.activates_at),
                            retires: retires.map_or_else(|| "—".to_owned(), timestamp),
                            deleted: deleted.map_or_else(|| "—".to_owned(), timestamp),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let page = Page::new(state, http, admin);
    let view = KeysPage {
        frame: page.frame("keys"),
        algorithms,
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/keys`.
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    page_with(&state, &http, &admin, FieldErrors::none()).await
}

/// Runs blocking key work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<Result<T, StateError>, ConsoleError> {
    web::block(work)
        .await
        .map_err(|error| ConsoleError::from(Internal::log(error)))
}

/// `POST /admin/keys/rotate`: one algorithm or all, scheduled or at once.
pub async fn rotate(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let configured = state.key_policy.algorithms.clone();
    let algorithms = match params.get("alg").unwrap_or_default() {
        "" => configured,
        name => vec![SigningAlgorithm::parse(name)
            .filter(|alg| configured.contains(alg))
            .ok_or_else(|| {
                PageError::bad_request("Unknown algorithm", "Choose one of the listed algorithms.")
            })?],
    };
    let immediately = params.get("immediately") == Some("true");
    let (keys_state, actor) = (state.clone().into_inner(), admin.user.id.clone());
    match blocking(move || keys_state.rotate_keys(&algorithms, immediately, &actor)).await? {
        Ok(_) => Ok(done("/admin/keys", "keys-rotated")),
        Err(StateError::Keys(KeyError::Busy)) => {
            let errors = FieldErrors::one("kid", "Another node is rotating keys; try again.");
            page_with(&state, &http, &admin, errors).await
        }
        Err(other) => Err(Internal::log(other).into()),
    }
}

/// `POST /admin/keys/revoke`: needs a recent confirmation.
pub async fn revoke(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let kid = field(&params, "kid");
    if kid.is_empty() {
        let errors = FieldErrors::one("kid", "Enter the ID of the key to revoke.");
        return page_with(&state, &http, &admin, errors).await;
    }
    if let Confirmation::Refused(message) = confirm(&state, &http, &admin, &params).await? {
        let errors = FieldErrors::one("confirm-revoke", message);
        return page_with(&state, &http, &admin, errors).await;
    }
    let (keys_state, actor, revoked_kid) = (
        state.clone().into_inner(),
        admin.user.id.clone(),
        kid.clone(),
    );
    match blocking(move || keys_state.revoke_key(&revoked_kid, &actor)).await? {
        Ok(_) => Ok(done("/admin/keys", "key-revoked")),
        Err(StateError::Keys(KeyError::NotFound(_))) => {
            let errors = FieldErrors::one("kid", format!("No active key has the ID {kid}."));
            page_with(&state, &http, &admin, errors).await
        }
        Err(StateError::Keys(KeyError::Busy)) => {
            let errors = FieldErrors::one("kid", "Another node is rotating keys; try again.");
            page_with(&state, &http, &admin, errors).await
        }
        Err(other) => Err(Internal::log(other).into()),
    }
}
