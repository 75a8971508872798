//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2) and
//! `GET /authorize/continue`, where the browser comes back after logging in.

use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_store::Client;

use crate::authorize::request::{self, AuthorizationRequest, Rejection};
use crate::authorize::{flow, pushed, request_object};
use crate::client_metadata;
use crate::error::{OAuthError, PageError};
use crate::forms;
use crate::hint;
use crate::http::{is_form, Params};
use crate::response_mode::ResponseMode;
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
        Some(client_id) => client_metadata::find(state, &client_id).await?,
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
    // A request_uri of this server's refers to a pushed request; any
    // other is a URL to fetch a request object from, when the server
    // allows that (else validation answers that it is not supported).
    let request_uri = params.get("request_uri").map(str::to_owned);
    let request = match (request_uri, client.as_ref()) {
        (Some(uri), _) if uri.starts_with(pushed::REQUEST_URI_PREFIX) => {
            pushed_request(state, client.as_ref(), &uri).await?
        }
        (Some(uri), Some(client)) if state.settings.external_request_uris => {
            let params = match request_object::fetch(state, &uri).await {
                Ok(jwt) => params.without("request_uri").with("request", &jwt),
                Err(error) => return refuse_request_object(state, &params, client, &error),
            };
            match validated(state, params, Some(client)).await? {
                Ok(request) => request,
                Err(redirected_error) => return Ok(redirected_error),
            }
        }
        _ => match validated(state, params, client.as_ref()).await? {
            Ok(request) => request,
            Err(redirected_error) => return Ok(redirected_error),
        },
    };
    // The browser is known by its anti-forgery cookie, set now if new
    // (the login form needs it next anyway).
    let browser = forms::FormToken::for_browser(state, http);
    let pending = flow::store(state, request, &browser.value).await?;
    let mut response = flow::proceed(state, http, pending).await?;
    browser.set_cookie(&mut response)?;
    Ok(response)
}

/// The request a client pushed earlier (RFC 9126 §4), named by the
/// `request_uri` the browser brought with the `client_id` that pushed it.
/// The other parameters are ignored: the pushed ones were validated and
/// authenticated. No redirect URI is known yet, so failures are pages.
async fn pushed_request(
    state: &AppState,
    client: Option<&Client>,
    request_uri: &str,
) -> Result<AuthorizationRequest, PageError> {
    let Some(client) = client else {
        return Err(PageError::bad_request(
            "Invalid sign-in request",
            "A request_uri needs the client_id of the application that pushed it.",
        ));
    };
    pushed::take(state, &client.client_id, request_uri)
        .await?
        .ok_or_else(|| {
            PageError::bad_request(
                "Sign-in request expired",
                "The request_uri is unknown, has expired or was used already.",
            )
            .with_hint("Return to the application and sign in again.")
        })
}

/// Validates a request sent to the authorization endpoint itself (its
/// parameters, or those of its signed request object): the request, or
/// the error response to send the verified redirect URI.
async fn validated(
    state: &AppState,
    params: Params,
    client: Option<&Client>,
) -> Result<Result<AuthorizationRequest, HttpResponse>, PageError> {
    let params = match client {
        Some(client) if params.get("request").is_some() => {
            match request_object::unpack(state, client, params.clone()).await {
                Ok(signed) => signed,
                Err(error) => {
                    return refuse_request_object(state, &params, client, &error).map(Err)
                }
            }
        }
        _ => params,
    };
    let params = &params;
    let apis = state.apis().await?;
    let refuse = |request: &AuthorizationRequest, error: OAuthError| {
        flow::redirect_error(
            state,
            &request.redirect_uri,
            request.response_mode,
            request.state.as_deref(),
            &error,
        )
    };
    match request::validate(params, client, &apis) {
        Ok(mut request) => {
            if client.is_some_and(|client| pushed::required(state, client)) {
                return Ok(Err(refuse(
                    &request,
                    OAuthError::invalid_request(
                        "this client must push its authorization requests to the pushed authorization request endpoint first",
                    ),
                )));
            }
            if let Err(error) = hint::apply(state, params, &mut request) {
                return Ok(Err(refuse(&request, error)));
            }
            Ok(Ok(request))
        }
        Err(Rejection::Page(page)) => Err(page),
        Err(Rejection::Redirect {
            redirect_uri,
            response_mode,
            state: client_state,
            error,
        }) => Ok(Err(flow::redirect_error(
            state,
            &redirect_uri,
            response_mode,
            client_state.as_deref(),
            &error,
        ))),
    }
}

/// A request object that could not be fetched or failed: told to the
/// redirect URI of the unsigned parameters if that one is registered,
/// else shown on a page (nothing signed says where to send it).
fn refuse_request_object(
    state: &AppState,
    params: &Params,
    client: &Client,
    error: &OAuthError,
) -> Result<HttpResponse, PageError> {
    match request::verify_client_and_redirect(params, Some(client)) {
        Ok(redirect_uri) => Ok(flow::redirect_error(
            state,
            redirect_uri,
            ResponseMode::parse(params.get("response_mode")).unwrap_or_default(),
            params.get("state"),
            error,
        )),
        Err(_) => Err(PageError::bad_request(
            "Invalid sign-in request",
            error.error_description.clone(),
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
