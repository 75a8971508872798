//! Address verification: `POST /account/verify-email` mails a link,
//! `GET|POST /verify-email` is where the link lands.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::secret::digest;

use super::{overview, signed_in};
use crate::audit::RecordForRequest;
use crate::email_link::{invalid_link, valid_token};
use crate::error::PageError;
use crate::forms;
use crate::http::{html_response, Params};
use crate::mail;
use crate::paths;
use crate::state::AppState;

/// `POST /account/verify-email`: e-mails a verification link.
pub async fn send_verification(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    forms::posted(&state, &http, &body)?;
    let (session, user) = signed_in(&state, &http).await?;
    if user.email_verified {
        return overview(
            &state,
            &http,
            &session,
            &user,
            Some("Your address is already verified."),
            None,
        )
        .await;
    }
    let (store_user, now, ttl) = (
        user.clone(),
        state.now(),
        state.settings.security.email.verify_ttl,
    );
    let token = state
        .db(move |store| mail::issue_token(store, &store_user, mail::VERIFY_EMAIL, now, ttl))
        .await?;
    let link = format!(
        "{}?token={token}",
        state.settings.endpoint(paths::VERIFY_EMAIL)
    );
    mail::send_in_background(
        &state.mailer,
        user.email.clone(),
        "Verify your e-mail address".into(),
        format!(
            "Hello {},\n\nTo confirm that this is your address, open this link within {} hours:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n",
            user.username,
            ttl / 3600
        ),
    );
    Event::new(EventKind::EmailVerificationSent, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .record(&state, &http)
        .await;
    overview(
        &state,
        &http,
        &session,
        &user,
        Some("We sent you a verification link."),
        None,
    )
    .await
}

/// `GET /verify-email?token=…`: asks for confirmation (a POST), so that
/// a mail scanner following the link verifies nothing.
pub async fn verify_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let token_value = params.get("token").unwrap_or_default().to_owned();
    let email_token = valid_token(&state, &token_value, mail::VERIFY_EMAIL).await?;
    let token = forms::FormToken::for_browser(&state, &http);
    let page = ferrid_pages::VerifyEmailPage {
        email: &email_token.email,
        token: &token_value,
        csrf_token: &token.value,
    };
    token.respond(StatusCode::OK, &page)
}

/// `POST /verify-email`: sets `email_verified` if the address is still
/// the one the link was sent to.
pub async fn verify(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let token_digest = digest(params.get("token").unwrap_or_default());
    let now = state.now();
    let verified = state
        .db(move |store| {
            let Some(token) = store.consume_email_token(&token_digest, mail::VERIFY_EMAIL, now)?
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
}
