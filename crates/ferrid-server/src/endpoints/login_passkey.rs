//! `POST /login/passkey/options` and `POST /login/passkey`: signing in
//! with a passkey, alone (a discoverable credential names its user; user
//! verification is required, so the passkey is both factors) or as the
//! second factor after the password (`step=second_factor`). The options
//! hold a challenge bound to the pending sign-in; the answer must come
//! back with the same pending sign-in, on any node, once.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_store::User;
use ferrid_tokens::webauthn;

use crate::audit::RecordForRequest;
use crate::authorize::flow::{self, Pending};
use crate::error::{failed_attempt, PageError};
use crate::forms;
use crate::http::Params;
use crate::login_flow;
use crate::passkeys::{self, Ceremony};
use crate::state::AppState;

/// Whether the form is the second-factor step, and for whom: `None` for
/// a passkey alone; `Some(None)` when the second factor is asked but no
/// one owes it (the sign-in starts again).
async fn second_factor(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    params: &Params,
) -> Result<Option<Option<User>>, PageError> {
    if params.get("step") != Some("second_factor") {
        return Ok(None);
    }
    Ok(Some(login_flow::waiting_user(state, http, pending).await?))
}

/// `POST /login/passkey/options`: the WebAuthn request options, with a
/// new challenge. For the second factor they name the user's passkeys;
/// alone, none (the browser offers the passkeys it has for ferrid).
pub async fn options(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let (ceremony, user_id, allowed) = match second_factor(&state, &http, &pending, &params).await?
    {
        None => (Ceremony::SignIn, None, Vec::new()),
        Some(None) => return Err(PageError::expired_request()),
        Some(Some(user)) => {
            let user_id = user.id.clone();
            let passkeys = state.db(move |store| store.user_passkeys(&user_id)).await?;
            let allowed = passkeys
                .into_iter()
                .map(|passkey| passkey.credential_id)
                .collect();
            (Ceremony::SecondFactor, Some(user.id), allowed)
        }
    };
    let challenge = passkeys::begin(&state, ceremony, &pending.id, user_id).await?;
    let rp = passkeys::this_relying_party(&state)?;
    Ok(passkeys::options_response(&webauthn::request_options(
        &rp, &challenge, &allowed,
    )))
}

/// `POST /login/passkey`: checks the passkey's answer and finishes the
/// login.
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let pending = flow::load(&state, params.get("request_id")).await?;
    let waiting = second_factor(&state, &http, &pending, &params).await?;
    let (ceremony, expected) = match &waiting {
        None => (Ceremony::SignIn, None),
        Some(None) => return Ok(flow::to_login(&pending)),
        Some(Some(user)) => (Ceremony::SecondFactor, Some(user.id.as_str())),
    };
    let credential = params.get("credential").unwrap_or_default();
    let client_id = pending.request.client_id.clone();
    match passkeys::verify_assertion(&state, ceremony, &pending.id, credential, expected).await? {
        Ok(used) => {
            Event::new(EventKind::PasskeyUse, Outcome::Success)
                .actor(&used.user.id)
                .subject(&used.user.id)
                .client(&client_id)
                .detail(format!(
                    "passkey {} ({}), counter {}",
                    used.passkey.id, used.passkey.name, used.passkey.sign_count
                ))
                .record(&state, &http)
                .await;
            let after_password = ceremony == Ceremony::SecondFactor;
            let amr = crate::acr::amr_with_passkey(used.passkey.backup_eligible, after_password);
            let how = if after_password {
                "password and passkey"
            } else {
                "passkey"
            };
            login_flow::complete(&state, &http, &pending, &used.user, amr, how).await
        }
        Err(refused) => {
            Event::new(EventKind::PasskeyUse, Outcome::Failure)
                .maybe_subject(refused.user_id.as_deref())
                .client(&client_id)
                .detail(refused.reason)
                .record(&state, &http)
                .await;
            let page = match &waiting {
                Some(Some(user)) => {
                    login_flow::second_factor_page(
                        &state,
                        &http,
                        &pending,
                        user,
                        Some(passkeys::PASSKEY_FAILED),
                    )
                    .await
                }
                _ => {
                    let hint = pending.request.login_hint.clone().unwrap_or_default();
                    login_flow::login_page(
                        &state,
                        &http,
                        &pending,
                        &hint,
                        Some(passkeys::PASSKEY_FAILED),
                    )
                    .await
                }
            };
            page.map(failed_attempt)
        }
    }
}
