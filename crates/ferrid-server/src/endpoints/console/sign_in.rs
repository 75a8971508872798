//! `GET /admin/sign-in`, `GET /admin/callback` and `POST /admin/sign-out`:
//! the console signs admins in as a client of this server (authorization
//! code flow with PKCE, `acr_values=2`, a client that requires a second
//! factor) and redeems the code in-process, keeping no token: it needs
//! only to know who signed in, how, and in which ferrid session.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_service::audit::{Event, EventKind, Outcome};
use ferrid_service::clients::CONSOLE_CLIENT_ID;
use ferrid_service::users::AdminRole;

use crate::acr;
use crate::audit::RecordForRequest;
use crate::console_session;
use crate::endpoints::console::{signed_in, ConsoleError};
use crate::error::{Internal, PageError};
use crate::forms;
use crate::grants::authorization_code::{redeem, CodeExchange};
use crate::grants::issue::Lifetimes;
use crate::http::{html_response, see_other, Params};
use crate::session;
use crate::state::AppState;

fn refused(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html_response(
        status,
        &ferrid_pages::console::RefusedPage { title, message },
    )
}

/// Starts a sign-in: to ferrid's authorization endpoint, as the console's
/// client, returning to `?return=` (a console page) afterwards.
pub async fn start(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let query = Params::parse(http.query_string().as_bytes())
        .map_err(|error| PageError::bad_request("Invalid sign-in request", error.to_string()))?;
    let assurance = console_session::admin_assurance(&state).await?;
    let sign_in =
        console_session::start_sign_in(&state, query.get("return").unwrap_or_default(), assurance);
    let mut response = see_other(&sign_in.authorization_url);
    response
        .add_cookie(&sign_in.cookie)
        .map_err(Internal::log)?;
    Ok(response)
}

/// The console's redirect URI: checks `state` and `iss`, redeems the code
/// with the PKCE verifier, and starts a console session for an admin who
/// used a second factor.
pub async fn callback(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let query = Params::parse(http.query_string().as_bytes())
        .map_err(|error| PageError::bad_request("Invalid sign-in response", error.to_string()))?;
    if let Some(error) = query.get("error") {
        let message = format!(
            "The sign-in did not complete ({error}{}).",
            query
                .get("error_description")
                .map(|description| format!(": {description}"))
                .unwrap_or_default()
        );
        return Ok(refused(StatusCode::BAD_REQUEST, "Sign-in failed", &message));
    }
    let Some(pending) = query
        .get("state")
        .and_then(|client_state| console_session::pending_sign_in(&http, client_state))
    else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in was not started in this browser, or it has expired.",
        ));
    };
    if query.get("iss") != Some(state.settings.issuer.as_str()) {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The answer did not come from this server (iss).",
        ));
    }
    let code = query.get("code").unwrap_or_default().to_owned();
    let (redirect_uri, now) = (console_session::redirect_uri(&state), state.now());
    let settings = state.settings.clone();
    let redeemed = state
        .db(move |store| {
            let Some(client) = store.find_client(CONSOLE_CLIENT_ID)? else {
                return Ok(None);
            };
            let exchange = CodeExchange {
                code: &code,
                redirect_uri: &redirect_uri,
                verifier: Some(&pending.verifier),
                holder: None,
            };
            let outcome = redeem(
                store,
                &client,
                &exchange,
                Lifetimes::of(&settings, &client),
                now,
            )?;
            let Ok(redeemed) = outcome else {
                return Ok(None);
            };
            // The console keeps no token: the grant ends now.
            store.revoke_grant(&redeemed.grant.id, now)?;
            let user = store.find_user(&redeemed.grant.user_id)?;
            Ok(user.map(|user| (redeemed.grant, user, pending.return_to)))
        })
        .await?;
    let Some((grant, user, return_to)) = redeemed else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The authorization code is invalid, expired or already used.",
        ));
    };
    let role = user.admin_role.as_deref().and_then(AdminRole::parse);
    // Checked here too, not only asked for with acr_values: the policy
    // holds whatever the authorization request said.
    let strong_enough =
        acr::assurance(&grant.amr) >= console_session::admin_assurance(&state).await?;
    if role.is_none() || !strong_enough || user.disabled {
        Event::new(EventKind::ConsoleSignIn, Outcome::Refused)
            .actor(&user.id)
            .subject(&user.id)
            .client(CONSOLE_CLIENT_ID)
            .detail(if role.is_none() {
                "not an administrator"
            } else {
                "no second factor, or no passkey where one is required"
            })
            .record(&state, &http)
            .await;
        let mut response = refused(
            StatusCode::FORBIDDEN,
            "Not an administrator",
            "You are signed in to ferrid, but your account may not use the console.",
        );
        response
            .add_cookie(&console_session::sign_in_cookie_removal(&state))
            .map_err(Internal::log)?;
        return Ok(response);
    }
    let cookie = console_session::start(&state, &http, &user, grant.sid).await?;
    let mut response = see_other(&return_to);
    response.add_cookie(&cookie).map_err(Internal::log)?;
    response
        .add_cookie(&console_session::sign_in_cookie_removal(&state))
        .map_err(Internal::log)?;
    Ok(response)
}

/// Signs out of the console and of ferrid in this browser.
pub async fn sign_out(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    forms::posted(&state, &http, &body)?;
    let removal = console_session::end(&state, &admin).await?;
    Event::new(EventKind::ConsoleSignOut, Outcome::Success)
        .actor(&admin.user.id)
        .subject(&admin.user.id)
        .client(CONSOLE_CLIENT_ID)
        .record(&state, &http)
        .await;
    session::end(
        &state,
        &http,
        session::Ending::Sid(admin.session.sid.clone()),
        "signed out of the console",
    )
    .await?;
    let mut response = html_response(StatusCode::OK, &ferrid_pages::SignedOutPage);
    response.add_cookie(&removal).map_err(Internal::log)?;
    session::clear_cookie(&state, &mut response)?;
    Ok(response)
}
