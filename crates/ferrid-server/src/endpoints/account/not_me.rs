//! `GET|POST /account/not-me`: the "this was not me" link of the e-mail
//! sent when a second factor (TOTP or a passkey) is added. Whoever holds a
//! stolen session (and perhaps the password) could add their own; the
//! owner, proving their mailbox with the link, removes every factor, ends
//! every session, and sets a new password (a passwordless account: creates
//! a new passkey), without an administrator. The `GET` page only asks;
//! the `POST` acts.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::{digest, random_token};

use ferrid_service::audit::{Event, EventKind, Outcome};

use crate::audit::RecordForRequest;
use crate::email_link::{invalid_link, link_user, password_reset_form};
use crate::error::PageError;
use crate::forms;
use crate::http::Params;
use crate::lockout;
use crate::mail;
use crate::state::AppState;

/// How long the password-reset link that follows works: the user is on
/// the page already.
const RESET_TTL: i64 = 3600;

/// `GET /account/not-me?token=…`: asks before doing anything.
pub async fn confirm_page(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or_default().to_owned();
    let user = link_user(&state, &token, mail::MFA_REVERT).await?;
    let form = forms::FormToken::for_browser(&state, &http);
    let page = ferrid_pages::NotMePage {
        username: &user.username,
        token: &token,
        csrf_token: &form.value,
    };
    form.respond_form(None, &page)
}

/// `POST /account/not-me`: spends the link, removes the second factors
/// (TOTP, recovery codes, passkeys), ends every session and revokes every
/// grant, replaces the password with a random one nobody knows, and
/// answers with the form to set a new password, or for a passwordless
/// account to create a passkey (the link proved the mailbox, as a reset
/// link does; the new link's token stays in the form, out of the URL).
pub async fn revert(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let token = params.get("token").unwrap_or_default().to_owned();
    let user = link_user(&state, &token, mail::MFA_REVERT).await?;
    let reverted = {
        let (store, passwords) = (state.store.clone(), state.passwords.clone());
        let (user, now) = (user.clone(), state.now());
        let token_digest = digest(&token);
        state
            .password_pool
            .run_store(move || -> ferrid_store::StoreResult<Option<String>> {
                // Spent first: the link works once.
                if store
                    .consume_email_token(&token_digest, mail::MFA_REVERT, now)?
                    .is_none()
                {
                    return Ok(None);
                }
                store.reset_mfa(&user.id, now)?;
                store.clear_login_failures(&[lockout::mfa_subject(&user.id)])?;
                if user.passwordless {
                    let setup =
                        mail::issue_token(&store, &user, mail::PASSKEY_SETUP, now, RESET_TTL)?;
                    return Ok(Some(setup));
                }
                // Whoever planted the factor may know the password too.
                let unknowable = passwords.hash(&random_token(32))?;
                store.change_password(&user.id, &unknowable, None, now)?;
                let reset = mail::issue_token(&store, &user, mail::PASSWORD_RESET, now, RESET_TTL)?;
                Ok(Some(reset))
            })
            .await
    };
    let reset = match reverted {
        Ok(Some(reset)) => reset,
        Ok(None) => return Err(invalid_link()),
        Err(refused) => return refused.respond(),
    };
    Event::new(EventKind::MfaRevert, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .detail(if user.passwordless {
            "second factors and passkeys removed, sessions ended, a new passkey must be created"
        } else {
            "second factors and passkeys removed, sessions ended, password must be reset"
        })
        .record(&state, &http)
        .await;
    state.deliver_logouts_soon();
    if user.passwordless {
        return super::passkey_setup_page(&state, &http, &user, &reset, None);
    }
    password_reset_form(&state, &http, &reset, None)
}
