//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2) and
//! `GET /authorize/continue`, where the browser comes back after logging in.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authorize::flow;
use crate::authorize::request::{self, Rejection};
use crate::error::{OAuthError, PageError};
use crate::hint;
use crate::http::{is_form, Params};
use crate::state::AppState;

/// `GET /authorize`: parameters in the query string.
pub async fn get(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    authorize(&state, &http, http.query_string().as_bytes()).await
}

/// `POST /authorize`: parameters in a form body (OIDC Core §3.1.2.1).
pub async fn post(state: web::Data<AppState>, http: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !is_form(&http) {
        return PageError::bad_request(
            "Invalid sign-in request",
            "A POST to the authorization endpoint must be application/x-www-form-urlencoded.",
        )
        .response();
    }
    authorize(&state, &http, &body).await
}

async fn authorize(state: &AppState, http: &HttpRequest, encoded: &[u8]) -> HttpResponse {
    let params = match Params::parse(encoded) {
        Ok(params) => params,
        Err(error) => {
            return PageError::bad_request("Invalid sign-in request", error.to_string()).response()
        }
    };
    let client = match params.get("client_id").map(str::to_owned) {
        Some(client_id) => match state.db(move |store| store.find_client(&client_id)).await {
            Ok(client) => client,
            Err(internal) => return PageError::from(internal).response(),
        },
        None => None,
    };
    match request::validate(&params, client.as_ref()) {
        Ok(mut request) => {
            if let Some(raw) = params.get("id_token_hint") {
                match hint::verify(state, raw, Some(&request.client_id)) {
                    Some(claims) => request.expected_subject = Some(claims.sub),
                    None => return flow::redirect_error(
                        state,
                        &request.redirect_uri,
                        request.state.as_deref(),
                        &OAuthError::invalid_request(
                            "id_token_hint is not an ID token this server issued to this client",
                        ),
                    ),
                }
            }
            proceed_new(state, http, request).await
        }
        Err(Rejection::Page(page)) => page.response(),
        Err(Rejection::Redirect {
            redirect_uri,
            state: client_state,
            error,
        }) => flow::redirect_error(state, &redirect_uri, client_state.as_deref(), &error),
    }
}

/// Stores a new validated request and takes it as far as it can go.
async fn proceed_new(
    state: &AppState,
    http: &HttpRequest,
    request: request::AuthorizationRequest,
) -> HttpResponse {
    match flow::store(state, request).await {
        Ok(pending) => flow::proceed(state, http, pending).await,
        Err(internal) => PageError::from(internal).response(),
    }
}

/// `GET /authorize/continue?request_id=…`: resumes a pending request.
pub async fn resume(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    match flow::load(&state, params.get("request_id")).await {
        Ok(pending) => flow::proceed(&state, &http, pending).await,
        Err(page) => page.response(),
    }
}
