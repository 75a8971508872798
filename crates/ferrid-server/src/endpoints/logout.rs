//! RP-Initiated Logout 1.0: `GET|POST /logout` (the end-session endpoint)
//! and `POST /logout/confirm`.
//!
//! A request with a valid `id_token_hint` for this browser's own session
//! signs the user out at once and, if its `post_logout_redirect_uri` is
//! registered for the client (exact string match, query included), returns
//! there with `state`. Anything less trusted gets a confirmation page and
//! then a "signed out" page, never a redirect.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use url::Url;

use crate::error::{Internal, PageError};
use crate::http::{html_response, is_form, see_other, Params};
use crate::state::AppState;
use crate::{forms, hint, session};

/// `GET /logout`.
pub async fn get(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, PageError> {
    logout(&state, &http, http.query_string().as_bytes()).await
}

/// `POST /logout` (form-encoded, RP-Initiated Logout §2).
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if !is_form(&http) {
        return Err(PageError::bad_request(
            "Invalid sign-out request",
            "A POST to the logout endpoint must be application/x-www-form-urlencoded.",
        ));
    }
    logout(&state, &http, &body).await
}

async fn logout(
    state: &AppState,
    http: &HttpRequest,
    encoded: &[u8],
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(encoded)
        .map_err(|error| PageError::bad_request("Invalid sign-out request", error.to_string()))?;
    let claims = params
        .get("id_token_hint")
        .and_then(|raw| hint::verify(state, raw, params.get("client_id")));
    let client_id = params
        .get("client_id")
        .map(str::to_owned)
        .or_else(|| claims.as_ref().map(|claims| claims.aud.clone()));
    let client = match client_id {
        Some(client_id) => state.db(move |store| store.find_client(&client_id)).await?,
        None => None,
    };
    let redirect = match (params.get("post_logout_redirect_uri"), &client) {
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Some(uri.to_owned())
        }
        (Some(uri), _) => {
            tracing::warn!(rejected = uri, client_id = ?client.as_ref().map(|c| &c.client_id),
                "post_logout_redirect_uri not registered; no redirect");
            return confirmation(state, http, client.as_ref().map(|c| c.name.as_str()));
        }
        (None, _) => None,
    };
    // A valid hint signs out without asking only if it is this
    // browser's own session; anything else could be a third party's
    // token used to sign the user out (RP-Initiated Logout §2).
    let current = session::current(state, http).await?;
    let matches = match (&claims, &current) {
        // The hint names the user as its client knows them (maybe pairwise).
        (Some(claims), Some((session, user))) => client.as_ref().is_some_and(|client| {
            client.client_id == claims.aud
                && claims.sid == state.subjects.session_for(client, &session.sid)
                && claims.sub == state.subjects.for_client(client, &user.id)
        }),
        _ => false,
    };
    if !matches {
        return confirmation(state, http, client.as_ref().map(|c| c.name.as_str()));
    }
    session::end(state, http, session::Ending::ThisBrowser, "logout").await?;
    let mut response = match redirect {
        Some(uri) => {
            let mut url = Url::parse(&uri).map_err(Internal::log)?;
            if let Some(client_state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", client_state);
            }
            see_other(url.as_str())
        }
        None => html_response(StatusCode::OK, &ferrid_pages::SignedOutPage),
    };
    session::clear_cookie(state, &mut response)?;
    Ok(response)
}

fn confirmation(
    state: &AppState,
    http: &HttpRequest,
    client_name: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::LogoutConfirmPage {
        client_name,
        csrf_token: &token.value,
    };
    token.respond(StatusCode::OK, &page)
}

/// `POST /logout/confirm`: the user confirmed; sign out, no redirect.
pub async fn confirm(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    forms::posted(&state, &http, &body)?;
    session::end(&state, &http, session::Ending::ThisBrowser, "logout").await?;
    let mut response = html_response(StatusCode::OK, &ferrid_pages::SignedOutPage);
    session::clear_cookie(&state, &mut response)?;
    Ok(response)
}
