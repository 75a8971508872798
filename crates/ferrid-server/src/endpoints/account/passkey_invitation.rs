//! `GET|POST /account/passkey-invitation` and its options: where the
//! e-mailed link of a passwordless account lands (an administrator's
//! invitation, or a recovery the user asked for). The link's token stands
//! in for a session: the ceremony's challenge is bound to it, and the
//! token is spent when the passkey is stored.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::secret::digest;
use ferrid_store::User;

use super::passkey_setup_page;
use crate::audit::RecordForRequest;
use crate::email_link::{invalid_link, link_user};
use crate::error::PageError;
use crate::forms;
use crate::http::{html_response, Params};
use crate::mail;
use crate::passkeys::{self, Ceremony};
use crate::state::AppState;

/// The enabled passwordless user the link with `token` was sent to.
async fn invited_user(state: &AppState, token: &str) -> Result<User, PageError> {
    let user = link_user(state, token, mail::PASSKEY_SETUP).await?;
    if !user.passwordless {
        return Err(invalid_link());
    }
    Ok(user)
}

/// `GET /account/passkey-invitation?token=…`
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or_default().to_owned();
    let user = invited_user(&state, &token).await?;
    passkey_setup_page(&state, &http, &user, &token, None)
}

/// `POST /account/passkey-invitation/options`
pub async fn options(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let token = params.get("token").unwrap_or_default().to_owned();
    let user = invited_user(&state, &token).await?;
    Ok(passkeys::creation_options(&state, Ceremony::Invitation, &token, &user).await?)
}

/// `POST /account/passkey-invitation`: stores the passkey, spends the
/// link and marks the address verified (the link proved it).
pub async fn register(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let token = params.get("token").unwrap_or_default().to_owned();
    let user = invited_user(&state, &token).await?;
    let name = match passkeys::name_for(
        params.get("name"),
        usize::try_from(user.passkeys).unwrap_or(0),
    ) {
        Ok(name) => name,
        Err(message) => return passkey_setup_page(&state, &http, &user, &token, Some(message)),
    };
    let credential = params.get("credential").unwrap_or_default();
    let new = match passkeys::verify_registration(&state, Ceremony::Invitation, &token, credential)
        .await?
    {
        Ok((new, Some(for_user))) if for_user == user.id => new,
        Ok(_) => return Err(invalid_link()),
        Err(refused) => {
            Event::new(EventKind::PasskeyRegister, Outcome::Failure)
                .actor(&user.id)
                .subject(&user.id)
                .detail(format!("from the e-mailed link: {}", refused.reason))
                .record(&state, &http)
                .await;
            let message = "The passkey could not be registered. Try again.";
            return passkey_setup_page(&state, &http, &user, &token, Some(message));
        }
    };
    // Spent first: two submissions of one link store one passkey.
    let (token_digest, now) = (digest(&token), state.now());
    let spent = state
        .db(move |store| store.consume_email_token(&token_digest, mail::PASSKEY_SETUP, now))
        .await?;
    let Some(spent) = spent else {
        return Err(invalid_link());
    };
    let passkey = passkeys::store_new(&state, new, &user.id, &name, None).await?;
    let (user_id, email) = (user.id.clone(), spent.email.clone());
    state
        .db(move |store| store.mark_email_verified(&user_id, &email, now))
        .await?;
    Event::new(EventKind::PasskeyRegister, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .detail(format!(
            "passkey {} ({}) from the e-mailed link",
            passkey.id, passkey.name
        ))
        .record(&state, &http)
        .await;
    state.deliver_logouts_soon();
    Ok(html_response(
        StatusCode::OK,
        &ferrid_pages::NoticePage {
            title: "Your passkey is ready",
            message: "Sign in to your application with it now.",
            link: None,
            link_text: "",
        },
    ))
}
