//! `GET|POST /password/forgot`: asks for a reset link by e-mail.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::mail;
use crate::paths;
use crate::state::AppState;

/// The answer to every reset request.
pub const RESET_SENT: &str =
    "If an account uses this address, we sent it a link to choose a new password. The link works once and expires soon.";

/// `GET /password/forgot`
pub async fn forgot_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    render_forgot(&state, &http, None)
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
) -> Result<HttpResponse, PageError> {
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
