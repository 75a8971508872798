//! `GET|POST /password/reset`: where a reset link lands; sets a new
//! password.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::email_link::{invalid_link, link_user, password_reset_form, valid_token};
use crate::error::PageError;
use crate::forms;
use crate::http::{html_response, Params};
use crate::lockout;
use crate::mail;
use crate::state::AppState;

/// `GET /password/reset?token=…`
pub async fn reset_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or_default().to_owned();
    valid_token(&state, &token, mail::PASSWORD_RESET).await?;
    password_reset_form(&state, &http, &token, None)
}

/// `POST /password/reset`: sets the new password, ends every session and
/// revokes every refresh token of the user, clears the account's failed
/// attempts, and marks the address verified (the link proved it).
pub async fn reset(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let reset_token = params.get("token").unwrap_or_default().to_owned();
    let user = link_user(&state, &reset_token, mail::PASSWORD_RESET).await?;
    // A passwordless account never gets a password, whatever link it has.
    if user.passwordless {
        return Err(invalid_link());
    }
    let new_password =
        match forms::new_password(&params, state.settings.security.passwords.min_length, &user) {
            Ok(password) => password,
            Err(message) => {
                return password_reset_form(&state, &http, &reset_token, Some(&message))
            }
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
                store.clear_login_failures(&[
                    lockout::login_subject(&user.username),
                    lockout::login_subject(&user.email),
                ])?;
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
}
