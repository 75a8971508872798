//! `GET|POST /login`: the password form. A failed attempt says only that
//! the username or password is wrong, and an unknown user costs the same
//! Argon2 work as a known one, so neither message nor timing tells which
//! accounts exist. Failures are throttled per account (see `lockout`).
//! A user with a second factor is sent on to `/login/mfa` without a
//! session: the password alone proves nothing yet.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_store::User;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::authorize::flow;
use crate::error::{failed_attempt, PageError};
use crate::forms;
use crate::http::{see_other, Params};
use crate::lockout::{self, Refusal};
use crate::login_flow;
use crate::password_pool::PoolError;
use crate::paths;
use crate::state::AppState;

/// The message for any failed login.
pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// `GET /login?request_id=…`: shows the form.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::load(&state, params.get("request_id")).await?;
    let hint = pending.request.login_hint.clone().unwrap_or_default();
    login_flow::login_page(&state, &http, &pending, &hint, None).await
}

/// What checking a password found.
enum PasswordCheck {
    /// Right password, enabled account.
    Valid(User),
    /// Wrong password, unknown or disabled account; the failure was
    /// counted and may have started a wait. The account's id, if there is
    /// one, and the reason are for the audit log only, never for the page.
    Invalid(Option<String>, &'static str, Option<Refusal>),
    /// Refused unchecked: a wait or lock is in force (the account's id,
    /// for the audit log, as above).
    Refused(Option<String>, Refusal),
}

/// `POST /login`: checks the CSRF token and the credentials, then starts
/// a new session (or asks for the second factor) and resumes the
/// authorization request.
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let username = params.get("username").unwrap_or_default().to_owned();
    let password = params.get("password").unwrap_or_default().to_owned();
    if username.is_empty() || password.is_empty() {
        return login_flow::login_page(
            &state,
            &http,
            &pending,
            &username,
            Some(INVALID_CREDENTIALS),
        )
        .await;
    }
    let client_id = pending.request.client_id.clone();
    let now = state.now();
    let policy = &state.settings.security.lockout;
    let user = match check_credentials(&state, username.clone(), password).await {
        Ok(PasswordCheck::Valid(user)) => user,
        Ok(PasswordCheck::Invalid(user_id, reason, refusal)) => {
            Event::new(EventKind::Login, Outcome::Failure)
                .repeats_for(&lockout::normalize_login(&username))
                .maybe_subject(user_id.as_deref())
                .client(&client_id)
                .detail(reason)
                .record(&state, &http)
                .await;
            let message = match refusal {
                Some(refusal) => {
                    login_flow::lock_event(user_id.as_deref(), &refusal)
                        .client(&client_id)
                        .record(&state, &http)
                        .await;
                    format!("{INVALID_CREDENTIALS} {}", refusal.message(now, policy))
                }
                None => INVALID_CREDENTIALS.to_owned(),
            };
            return login_flow::login_page(&state, &http, &pending, &username, Some(&message))
                .await
                .map(failed_attempt);
        }
        Ok(PasswordCheck::Refused(user_id, refusal)) => {
            Event::new(EventKind::Login, Outcome::Refused)
                .repeats_for(&lockout::normalize_login(&username))
                .maybe_subject(user_id.as_deref())
                .client(&client_id)
                .detail(refusal.describe())
                .record(&state, &http)
                .await;
            let message = refusal.message(now, policy);
            return login_flow::login_page(&state, &http, &pending, &username, Some(&message))
                .await;
        }
        Err(refused) => return refused.respond(),
    };
    if user.has_mfa() {
        // The password was right; the second factor decides. Nothing
        // is reset yet: a wrong code still counts against the account.
        let (pending_digest, user_id) = (digest(&pending.id), user.id.clone());
        state
            .db(move |store| store.record_pending_second_factor(&pending_digest, &user_id, false))
            .await?;
        return Ok(see_other(&format!(
            "{}?request_id={}",
            paths::LOGIN_MFA,
            pending.id
        )));
    }
    login_flow::complete(
        &state,
        &http,
        &pending,
        &user,
        crate::acr::AMR_PASSWORD.to_owned(),
        "password",
    )
    .await
}

/// Verifies credentials on the password pool (off the executor, at most
/// one Argon2 computation per core at a time). Unknown and disabled users
/// are refused after the same Argon2 work as a wrong password; a locked
/// name, known or not, is refused before any.
async fn check_credentials(
    state: &AppState,
    login: String,
    password: String,
) -> Result<PasswordCheck, PoolError> {
    let passwords = state.passwords.clone();
    let store = state.store.clone();
    let policy = state.settings.security.lockout.clone();
    let now = state.now();
    state
        .password_pool
        .run_store(move || -> ferrid_store::StoreResult<PasswordCheck> {
            let login = lockout::normalize_login(&login);
            let user = store.find_user_by_login(&login)?;
            let subject = lockout::login_subject(&login);
            let user_id = user.as_ref().map(|user| user.id.clone());
            if let Some(refusal) = lockout::refusal(&store, &policy, &subject, now)? {
                return Ok(PasswordCheck::Refused(user_id, refusal));
            }
            let verified = match &user {
                Some(user) => passwords.verify(&password, &user.password_hash),
                None => passwords.verify_unknown_user(&password),
            };
            // A disabled account fails like a wrong password, and counts
            // like one: otherwise the missing count would tell a guesser
            // which password was right. Only the audit log says why.
            let reason = match &user {
                Some(user) if verified && user.disabled => "account disabled",
                _ => "invalid username or password",
            };
            match user {
                // A passwordless account's hash is of a random password
                // nobody was told; refusing it here as well keeps it so
                // whatever happens to the hash.
                Some(user) if verified && !user.disabled && !user.passwordless => {
                    if passwords.needs_rehash(&user.password_hash) {
                        let upgraded = passwords.hash(&password)?;
                        store.upgrade_password_hash(&user.id, &user.password_hash, &upgraded)?;
                        tracing::info!(user_id = %user.id, "password hash upgraded to the configured parameters");
                    }
                    Ok(PasswordCheck::Valid(user))
                }
                _ => Ok(PasswordCheck::Invalid(
                    user_id,
                    reason,
                    lockout::record_failure(&store, &policy, &subject, now)?,
                )),
            }
        })
        .await
}
