//! Pages reached without a session, through e-mailed links:
//! `GET|POST /password/forgot`, `GET|POST /password/reset` and
//! `GET|POST /verify-email`. Tokens are single-use, short-lived and
//! stored as digests. Asking for a reset answers the same whether or not
//! the address has an account, and takes the same time (the message is
//! sent in the background).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_store::EmailToken;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::http::{html_response, Params};
use crate::lockout;
use crate::mail;
use crate::paths;
use crate::state::AppState;

/// The answer to every reset request.
pub const RESET_SENT: &str =
    "If an account uses this address, we sent it a link to choose a new password. The link works once and expires soon.";

/// `GET /password/forgot`
pub async fn forgot_form(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    render_forgot(&state, &http, None).unwrap_or_else(|page| page.response())
}

fn render_forgot(
    state: &AppState,
    http: &HttpRequest,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasswordForgotPage {
        csrf_token: &token.value,
        notice,
    };
    token.respond(StatusCode::OK, &page)
}

/// `POST /password/forgot`
pub async fn forgot(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let params = forms::posted(&state, &http, &body)?;
        let email = params
            .get("email")
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        if email.is_empty() || email.len() > 254 {
            return Err(PageError::bad_request(
                "Invalid form",
                "Enter the e-mail address of your account.",
            ));
        }
        let lookup = email.clone();
        let user = state
            .db(move |store| {
                // Only an exact address match, never a username.
                Ok(store
                    .find_user_by_login(&lookup)?
                    .filter(|user| user.email == lookup && !user.disabled))
            })
            .await?;
        if let Some(user) = user {
            // Everything that differs for a real address (the token, the
            // message) happens after the answer, so the answer takes the
            // same time either way.
            send_reset_link(&state, user.clone());
            Event::new(EventKind::PasswordResetRequested, Outcome::Success)
                .subject(&user.id)
                .record(&state, &http)
                .await;
        } else {
            Event::new(EventKind::PasswordResetRequested, Outcome::Refused)
                .detail("no enabled account has this address")
                .record(&state, &http)
                .await;
        }
        render_forgot(&state, &http, Some(RESET_SENT))
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// At most one reset e-mail per account in this many seconds, so the
/// form cannot be used to flood someone's mailbox.
pub const RESET_COOLDOWN: i64 = 60;

/// Issues a reset token for `user` and mails the link, in the background,
/// unless one was sent within [`RESET_COOLDOWN`].
fn send_reset_link(state: &AppState, user: ferrid_store::User) {
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let (now, ttl) = (state.now(), state.settings.security.email.reset_ttl);
        let user_id = user.id.clone();
        let issued = state
            .db(move |store| {
                let recent = store
                    .last_email_token_at(&user.id, mail::PASSWORD_RESET)?
                    .is_some_and(|at| now - at < RESET_COOLDOWN);
                if recent {
                    return Ok(None);
                }
                mail::issue_token(store, &user, mail::PASSWORD_RESET, now, ttl)
                    .map(|token| Some((user, token)))
            })
            .await;
        let Ok(Some((user, token))) = issued else {
            tracing::info!(%user_id, "no reset e-mail: one was sent within the last minute, or the database failed");
            return;
        };
        let link = format!(
            "{}?token={token}",
            state.settings.endpoint(paths::PASSWORD_RESET)
        );
        mail::send_in_background(
            &state.mailer,
            user.email.clone(),
            "Reset your password".into(),
            format!(
                "Hello {},\n\nSomeone asked to reset the password of your account. To choose a new password, open this link within {} minutes:\n\n{link}\n\nIf it was not you, ignore this message: your password stays as it is.\n",
                user.username,
                ttl / 60
            ),
        );
    });
}

fn invalid_link() -> PageError {
    PageError::bad_request(
        "Link expired",
        "This link is invalid, was already used, or has expired.",
    )
    .with_hint("Ask for a new one.")
}

async fn valid_token(
    state: &AppState,
    token: &str,
    purpose: &'static str,
) -> Result<EmailToken, PageError> {
    let (token_digest, now) = (digest(token), state.now());
    state
        .db(move |store| store.find_email_token(&token_digest, purpose, now))
        .await?
        .ok_or_else(invalid_link)
}

/// `GET /password/reset?token=…`
pub async fn reset_form(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let result = async {
        let token = params.get("token").unwrap_or_default().to_owned();
        valid_token(&state, &token, mail::PASSWORD_RESET).await?;
        render_reset(&state, &http, &token, None)
    };
    result.await.unwrap_or_else(|page| page.response())
}

fn render_reset(
    state: &AppState,
    http: &HttpRequest,
    reset_token: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::PasswordResetPage {
        token: reset_token,
        min_length: state.settings.security.passwords.min_length,
        csrf_token: &token.value,
        error,
    };
    token.respond_form(error, &page)
}

/// `POST /password/reset`: sets the new password, ends every session and
/// revokes every refresh token of the user, clears the account's failed
/// attempts, and marks the address verified (the link proved it).
pub async fn reset(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let params = forms::posted(&state, &http, &body)?;
        let reset_token = params.get("token").unwrap_or_default().to_owned();
        let email_token = valid_token(&state, &reset_token, mail::PASSWORD_RESET).await?;
        let user_id = email_token.user_id.clone();
        let user = state
            .db(move |store| store.find_user(&user_id))
            .await?
            // The link was for this address: one sent before the address
            // changed no longer resets the account.
            .filter(|user| !user.disabled && user.email == email_token.email)
            .ok_or_else(invalid_link)?;
        let new_password =
            match forms::new_password(&params, state.settings.security.passwords.min_length, &user)
            {
                Ok(password) => password,
                Err(message) => return render_reset(&state, &http, &reset_token, Some(&message)),
            };
        let changed = {
            let (store, passwords) = (state.store.clone(), state.passwords.clone());
            let (user, now) = (user.clone(), state.now());
            let token_digest = digest(&reset_token);
            state
                .password_pool
                .run_store(move || -> ferrid_store::StoreResult<Option<usize>> {
                    // Spent first: two submissions of one link change the
                    // password once.
                    let Some(spent) =
                        store.consume_email_token(&token_digest, mail::PASSWORD_RESET, now)?
                    else {
                        return Ok(None);
                    };
                    let hash = passwords.hash(&new_password)?;
                    let ended = store.change_password(&user.id, &hash, None, now)?;
                    // The password counters only: a reset proves the
                    // mailbox, not the second factor.
                    for subject in [
                        lockout::login_subject(&user.username),
                        lockout::login_subject(&user.email),
                    ] {
                        store.clear_login_failures(&subject)?;
                    }
                    store.mark_email_verified(&user.id, &spent.email, now)?;
                    Ok(Some(ended))
                })
                .await
        };
        let ended = match changed {
            Ok(Some(ended)) => ended,
            Ok(None) => return Err(invalid_link()),
            Err(refused) => return refused.respond(),
        };
        Event::new(EventKind::PasswordReset, Outcome::Success)
            .actor(&user.id)
            .subject(&user.id)
            .detail(format!("{ended} sessions ended"))
            .record(&state, &http)
            .await;
        state.deliver_logouts_soon();
        Ok(html_response(
            StatusCode::OK,
            &ferrid_pages::NoticePage {
                title: "Password changed",
                message: "Your new password is set, and every session was signed out. Sign in again from your application.",
                link: None,
                link_text: "",
            },
        ))
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// `GET /verify-email?token=…`: asks for confirmation (a POST), so that
/// a mail scanner following the link verifies nothing.
pub async fn verify_form(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let result = async {
        let token_value = params.get("token").unwrap_or_default().to_owned();
        let email_token = valid_token(&state, &token_value, mail::VERIFY_EMAIL).await?;
        let token = forms::FormToken::for_browser(&state, &http);
        let page = ferrid_pages::VerifyEmailPage {
            email: &email_token.email,
            token: &token_value,
            csrf_token: &token.value,
        };
        token.respond(StatusCode::OK, &page)
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// `POST /verify-email`: sets `email_verified` if the address is still
/// the one the link was sent to.
pub async fn verify(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let params = forms::posted(&state, &http, &body)?;
        let token_digest = digest(params.get("token").unwrap_or_default());
        let now = state.now();
        let verified = state
            .db(move |store| {
                let Some(token) =
                    store.consume_email_token(&token_digest, mail::VERIFY_EMAIL, now)?
                else {
                    return Ok(None);
                };
                let verified = store.mark_email_verified(&token.user_id, &token.email, now)?;
                Ok(verified.then_some(token.user_id))
            })
            .await?;
        let Some(user_id) = verified else {
            return Err(invalid_link());
        };
        Event::new(EventKind::EmailVerify, Outcome::Success)
            .actor(&user_id)
            .subject(&user_id)
            .record(&state, &http)
            .await;
        Ok(html_response(
            StatusCode::OK,
            &ferrid_pages::NoticePage {
                title: "Address verified",
                message: "Thank you: your e-mail address is verified.",
                link: Some(paths::ACCOUNT_SECURITY),
                link_text: "Account security",
            },
        ))
    };
    result.await.unwrap_or_else(|page| page.response())
}
