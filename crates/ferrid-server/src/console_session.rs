//! Admin console sessions. The console is a client of this server
//! ([`CONSOLE_CLIENT_ID`]): an admin signs in through the ordinary login
//! pages with the authorization code flow and PKCE, the client requires a
//! second factor, and the callback makes a console session that is
//! shorter-lived than a browser session, idles out, ends with the ferrid
//! session it came from, and is held in its own cookie (path `/admin`,
//! `SameSite=Strict`). Dangerous actions need the password or a fresh
//! code again ([`confirm`]).

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::HttpRequest;
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_service::clients::CONSOLE_CLIENT_ID;
use ferrid_service::users::AdminRole;
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{AdminSession, User};
use subtle::ConstantTimeEq;

use crate::audit::RecordForRequest;
use crate::error::Internal;
use crate::http::Params;
use crate::paths;
use crate::state::AppState;

const SESSION_COOKIE: &str = "ferrid_admin";
const SIGN_IN_COOKIE: &str = "ferrid_admin_sign_in";

/// Activity is written at most this often, seconds: the idle timeout is
/// minutes, so a write per request would buy nothing.
const TOUCH_INTERVAL: i64 = 30;

fn is_https(state: &AppState) -> bool {
    state.settings.console_base.starts_with("https://")
}

fn cookie(state: &AppState, name: &str, value: String, max_age: i64) -> Cookie<'static> {
    // On the main listener the console lives under the issuer's path.
    let prefix = if state.settings.admin_on_own_listener {
        ""
    } else {
        state.settings.base_path.as_str()
    };
    Cookie::build(name.to_owned(), value)
        .path(format!("{prefix}{}", paths::CONSOLE))
        .http_only(true)
        .secure(is_https(state))
        // The sign-in cookie must come back with the top-level redirect
        // from the login pages; the session cookie never leaves a
        // same-site navigation.
        .same_site(if name == SESSION_COOKIE {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .max_age(Duration::seconds(max_age))
        .finish()
}

fn read(http: &HttpRequest, name: &str) -> Option<String> {
    http.cookie(name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 512)
}

/// The console's redirect URI (registered on its client at start).
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}{}", state.settings.console_base, paths::CONSOLE_CALLBACK)
}

/// A signed-in admin, as a console request sees them.
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    /// The session.
    pub session: AdminSession,
    /// The admin.
    pub user: User,
    /// What they may do.
    pub role: AdminRole,
}

impl ConsoleAdmin {
    /// Whether they may change things (`admin`, not `auditor`).
    pub fn may_write(&self) -> bool {
        self.role.may_write()
    }

    /// Whether they confirmed it was them recently enough for a
    /// dangerous action.
    pub fn recently_confirmed(&self, state: &AppState) -> bool {
        state.now() - self.session.reauthenticated_at
            <= state.settings.admin_reauthentication_window
    }
}

/// The browser's console session, if it has a live one whose user still
/// holds an admin role.
pub async fn current(
    state: &AppState,
    http: &HttpRequest,
) -> Result<Option<ConsoleAdmin>, Internal> {
    let Some(value) = read(http, SESSION_COOKIE) else {
        return Ok(None);
    };
    let (id_digest, now) = (digest(&value), state.now());
    let idle_since = now - state.settings.admin_idle_timeout;
    let found = state
        .db(move |store| {
            let found = store.find_admin_session(&id_digest, now, idle_since)?;
            if let Some((session, _)) = &found {
                if now - session.last_seen_at >= TOUCH_INTERVAL {
                    store.touch_admin_session(&session.id_digest, now)?;
                }
            }
            Ok(found)
        })
        .await?;
    Ok(found.and_then(|(session, user)| {
        let role = user.admin_role.as_deref().and_then(AdminRole::parse)?;
        Some(ConsoleAdmin {
            session,
            user,
            role,
        })
    }))
}

/// A sign-in in progress: what the callback checks the answer against.
pub struct SignIn {
    /// The URL of the authorization request.
    pub authorization_url: String,
    /// The cookie carrying `state`, the PKCE verifier and where to return.
    pub cookie: Cookie<'static>,
}

/// Whether administrators must sign in with a passkey: the
/// configuration (`passkeys.required_for_admins`) forces it; otherwise an
/// administrator decides in the console (stored, so every node agrees).
pub async fn admin_passkeys_required(state: &AppState) -> Result<bool, Internal> {
    if state.settings.security.passkeys.required_for_admins {
        return Ok(true);
    }
    state.db(|store| store.admin_passkeys_required()).await
}

/// Records whether administrators must sign in with a passkey, as
/// `actor` decided (console or admin API), in the audit log too.
pub async fn set_admin_passkeys_required(
    state: &AppState,
    http: &HttpRequest,
    actor: &str,
    required: bool,
) -> Result<(), Internal> {
    state
        .db(move |store| store.set_admin_passkeys_required(required))
        .await?;
    Event::new(EventKind::AdminPasskeysPolicy, Outcome::Success)
        .actor(actor)
        .detail(if required {
            "administrators must sign in with a passkey"
        } else {
            "administrators may sign in with a password and a code"
        })
        .record(state, http)
        .await;
    Ok(())
}

/// What an administrator's console sign-in must reach: two factors, or
/// a passkey when administrators must use one.
pub async fn admin_assurance(state: &AppState) -> Result<crate::acr::Assurance, Internal> {
    Ok(if admin_passkeys_required(state).await? {
        crate::acr::Assurance::PhishingResistant
    } else {
        crate::acr::Assurance::MultiFactor
    })
}

/// Starts a sign-in that returns to `return_to` (a console path), asking
/// for `assurance`.
pub fn start_sign_in(
    state: &AppState,
    return_to: &str,
    assurance: crate::acr::Assurance,
) -> SignIn {
    let client_state = random_token(24);
    let verifier = random_token(48);
    let nonce = random_token(24);
    let challenge = crate::pkce::challenge_s256(&verifier);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CONSOLE_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", "openid")
        .append_pair("state", &client_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", crate::pkce::S256)
        .append_pair("acr_values", assurance.acr())
        .finish();
    // The path is percent-encoded: a cookie value cannot hold `;`, `,`,
    // quotes or spaces.
    let encoded: String =
        url::form_urlencoded::byte_serialize(safe_return(return_to).as_bytes()).collect();
    let value = format!("{client_state}.{verifier}.{encoded}");
    SignIn {
        authorization_url: format!("{}?{query}", state.settings.endpoint(paths::AUTHORIZE)),
        cookie: cookie(state, SIGN_IN_COOKIE, value, state.settings.login_ttl),
    }
}

/// `return_to` if it is a console page, else the dashboard: a sign-in
/// never sends the browser anywhere else.
pub fn safe_return(return_to: &str) -> &str {
    let console_page = return_to.starts_with(paths::CONSOLE)
        && !return_to.starts_with(paths::CONSOLE_CALLBACK)
        && !return_to.contains("//")
        && !return_to.contains('\\')
        && return_to.len() <= 512
        && !crate::http::has_control_character(return_to);
    if console_page {
        return_to
    } else {
        paths::CONSOLE
    }
}

/// What the sign-in cookie held, if it matches `client_state`.
pub struct PendingSignIn {
    /// The PKCE verifier.
    pub verifier: String,
    /// Where to go after signing in.
    pub return_to: String,
}

/// Checks the callback's `state` against the sign-in cookie.
pub fn pending_sign_in(http: &HttpRequest, client_state: &str) -> Option<PendingSignIn> {
    let value = read(http, SIGN_IN_COOKIE)?;
    let mut parts = value.splitn(3, '.');
    let (expected, verifier, return_to) = (parts.next()?, parts.next()?, parts.next()?);
    let return_to: String = url::form_urlencoded::parse(format!("r={return_to}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    bool::from(expected.as_bytes().ct_eq(client_state.as_bytes())).then(|| PendingSignIn {
        verifier: verifier.to_owned(),
        return_to: safe_return(&return_to).to_owned(),
    })
}

/// A cookie that removes the sign-in cookie.
pub fn sign_in_cookie_removal(state: &AppState) -> Cookie<'static> {
    cookie(state, SIGN_IN_COOKIE, String::new(), 0)
}

/// Starts a console session for `user` signed in with ferrid session
/// `sid`; returns its cookie.
pub async fn start(
    state: &AppState,
    http: &HttpRequest,
    user: &User,
    sid: String,
) -> Result<Cookie<'static>, Internal> {
    let value = random_token(32);
    let now = state.now();
    let session = AdminSession {
        id_digest: digest(&value),
        user_id: user.id.clone(),
        sid,
        created_at: now,
        last_seen_at: now,
        expires_at: now + state.settings.admin_session_ttl,
        // Signing in with both factors just now is a confirmation.
        reauthenticated_at: now,
    };
    state
        .db(move |store| store.create_admin_session(&session))
        .await?;
    Event::new(EventKind::ConsoleSignIn, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .client(CONSOLE_CLIENT_ID)
        .record(state, http)
        .await;
    Ok(cookie(
        state,
        SESSION_COOKIE,
        value,
        state.settings.admin_session_ttl,
    ))
}

/// Ends the console session; returns the cookie that removes it.
pub async fn end(state: &AppState, admin: &ConsoleAdmin) -> Result<Cookie<'static>, Internal> {
    let id_digest = admin.session.id_digest.clone();
    state
        .db(move |store| store.delete_admin_session(&id_digest))
        .await?;
    Ok(cookie(state, SESSION_COOKIE, String::new(), 0))
}

/// What asking "is it really you?" came to.
pub enum Confirmation {
    /// Confirmed (now, or recently enough).
    Confirmed,
    /// Not confirmed; the message says why, for beside the field.
    Refused(String),
}

const NOT_CONFIRMED: &str = "That is neither your password nor a current code.";

/// Field of a dangerous action's form holding the password or a code.
pub const CONFIRM_FIELD: &str = "confirm";

/// Confirms a dangerous action: the admin confirmed recently, or the
/// form's [`CONFIRM_FIELD`] holds their password or a fresh code from
/// their authenticator. Both count toward the lock, as at login.
pub async fn confirm(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    params: &Params,
) -> Result<Confirmation, Internal> {
    if admin.recently_confirmed(state) {
        return Ok(Confirmation::Confirmed);
    }
    let given = params
        .get(CONFIRM_FIELD)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if given.is_empty() {
        return Ok(Confirmation::Refused(
            "Enter your password or a code from your authenticator app to confirm.".into(),
        ));
    }
    let now = state.now();
    let policy = &state.settings.security.lockout;
    let code = crate::mfa::normalize_code(&given);
    let refusal = if code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()) {
        use crate::login_flow::{check_code, CodeCheck};
        match check_code(state, &admin.user, code, now).await? {
            CodeCheck::Totp => None,
            CodeCheck::Refused(refusal) | CodeCheck::Invalid(Some(refusal)) => {
                Some(refusal.message(now, policy))
            }
            CodeCheck::RecoveryCode | CodeCheck::Invalid(None) => Some(NOT_CONFIRMED.to_owned()),
        }
    } else {
        use crate::lockout::{check_current_password, PasswordCheck};
        let (store, passwords) = (state.store.clone(), state.passwords.clone());
        let (checked_policy, user) = (policy.clone(), admin.user.clone());
        let check = state
            .password_pool
            .run_store(move || {
                check_current_password(&store, &passwords, &checked_policy, &user, &given, now)
            })
            .await
            .map_err(|error| match error {
                crate::password_pool::PoolError::Internal(internal) => internal,
                crate::password_pool::PoolError::Full => {
                    Internal::log("password pool full during a console confirmation")
                }
            })?;
        match check {
            PasswordCheck::Correct => None,
            PasswordCheck::Refused(refusal) | PasswordCheck::Wrong(Some(refusal)) => {
                Some(refusal.message(now, policy))
            }
            PasswordCheck::Wrong(None) => Some(NOT_CONFIRMED.to_owned()),
        }
    };
    let outcome = match refusal {
        None => Outcome::Success,
        Some(_) => Outcome::Failure,
    };
    Event::new(EventKind::Reauthenticate, outcome)
        .actor(&admin.user.id)
        .subject(&admin.user.id)
        .client(CONSOLE_CLIENT_ID)
        .record(state, http)
        .await;
    if let Some(message) = refusal {
        return Ok(Confirmation::Refused(message));
    }
    let id_digest = admin.session.id_digest.clone();
    state
        .db(move |store| store.reauthenticate_admin_session(&id_digest, now))
        .await?;
    Ok(Confirmation::Confirmed)
}
