//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2) and
//! `GET /authorize/continue`, where the browser comes back after logging in.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::authorize::flow;
use crate::authorize::request::{self, Rejection};
use crate::error::{OAuthError, PageError};
use crate::forms;
use crate::hint;
use crate::http::{is_form, Params};
use crate::state::AppState;

/// `GET /authorize`: parameters in the query string.
pub async fn get(state: web::Data<AppState>, http: HttpRequest) -> Result<HttpResponse, PageError> {
    authorize(&state, &http, http.query_string().as_bytes()).await
}

/// `POST /authorize`: parameters in a form body (OIDC Core §3.1.2.1).
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if !is_form(&http) {
        return Err(PageError::bad_request(
            "Invalid sign-in request",
            "A POST to the authorization endpoint must be application/x-www-form-urlencoded.",
        ));
    }
    authorize(&state, &http, &body).await
}

/// Errors are pages until the client and its redirect URI are verified,
/// and redirects to that URI after.
async fn authorize(
    state: &AppState,
    http: &HttpRequest,
    encoded: &[u8],
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(encoded)
        .map_err(|error| PageError::bad_request("Invalid sign-in request", error.to_string()))?;
    let client = match params.get("client_id").map(str::to_owned) {
        Some(client_id) => state.db(move |store| store.find_client(&client_id)).await?,
        None => None,
    };
    if client.as_ref().is_some_and(|client| client.disabled) {
        return Err(PageError {
            status: actix_web::http::StatusCode::FORBIDDEN,
            title: "Application disabled".into(),
            message: "An administrator has disabled this application's sign-in.".into(),
            hint: Some("Contact the application's administrator.".into()),
        });
    }
    let apis = state.apis().await?;
    match request::validate(&params, client.as_ref(), &apis) {
        Ok(mut request) => {
            if let Some(raw) = params.get("id_token_hint") {
                match hint::verify(state, raw, Some(&request.client_id)) {
                    Some(claims) => request.expected_subject = Some(claims.sub),
                    None => return Ok(flow::redirect_error(
                        state,
                        &request.redirect_uri,
                        request.response_mode,
                        request.state.as_deref(),
                        &OAuthError::invalid_request(
                            "id_token_hint is not an ID token this server issued to this client",
                        ),
                    )),
                }
            }
            // The browser is known by its anti-forgery cookie, set now if
            // new (the login form needs it next anyway).
            let browser = forms::FormToken::for_browser(state, http);
            let pending = flow::store(state, request, &browser.value).await?;
            let mut response = flow::proceed(state, http, pending).await?;
            browser.set_cookie(&mut response)?;
            Ok(response)
        }
        Err(Rejection::Page(page)) => Err(page),
        Err(Rejection::Redirect {
            redirect_uri,
            response_mode,
            state: client_state,
            error,
        }) => Ok(flow::redirect_error(
            state,
            &redirect_uri,
            response_mode,
            client_state.as_deref(),
            &error,
        )),
    }
}

/// `GET /authorize/continue?request_id=…`: resumes a pending request.
pub async fn resume(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::load(&state, params.get("request_id")).await?;
    flow::proceed(&state, &http, pending).await
}
