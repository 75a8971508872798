//! `GET|POST /login`: the password form. A failed attempt says only that
//! the username or password is wrong, and an unknown user costs the same
//! Argon2 work as a known one, so neither message nor timing tells which
//! accounts exist.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_store::secret::digest;
use ferrid_store::User;

use crate::authorize::flow::{self, Pending};
use crate::error::{Internal, PageError};
use crate::forms;
use crate::http::{see_other, Params};
use crate::metadata::paths;
use crate::session;
use crate::state::AppState;

/// The message for any failed login.
pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// `GET /login?request_id=…`: shows the form.
pub async fn show(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    let params = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let result = async {
        let pending = flow::load(&state, params.get("request_id")).await?;
        let hint = pending.request.login_hint.clone().unwrap_or_default();
        render(&state, &http, &pending, &hint, None).await
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// `POST /login`: checks the CSRF token and the credentials, then starts
/// a new session and resumes the authorization request.
pub async fn submit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let params = forms::posted(&state, &http, &body)?;
        let pending = flow::load(&state, params.get("request_id")).await?;
        let username = params.get("username").unwrap_or_default().to_owned();
        let password = params.get("password").unwrap_or_default().to_owned();
        let user = match (username.is_empty(), password.is_empty()) {
            (false, false) => check_credentials(&state, username.clone(), password).await?,
            _ => None,
        };
        let Some(user) = user else {
            tracing::info!(client_id = %pending.request.client_id, "login failed");
            return render(
                &state,
                &http,
                &pending,
                &username,
                Some(INVALID_CREDENTIALS),
            )
            .await;
        };
        tracing::info!(user_id = %user.id, client_id = %pending.request.client_id, "login succeeded");
        let (cookie, sid) = session::start(&state, &http, user.id).await?;
        let pending_digest = digest(&pending.id);
        state
            .db(move |store| store.record_pending_login(&pending_digest, &sid))
            .await?;
        let mut response = see_other(&format!(
            "{}?request_id={}",
            paths::AUTHORIZE_CONTINUE,
            pending.id
        ));
        response.add_cookie(&cookie).map_err(Internal::log)?;
        Ok(response)
    };
    result.await.unwrap_or_else(|page| page.response())
}

/// Verifies credentials on the password pool (off the executor, at most
/// one Argon2 computation per core at a time). Unknown and disabled users
/// are refused after the same Argon2 work as a wrong password.
async fn check_credentials(
    state: &AppState,
    login: String,
    password: String,
) -> Result<Option<User>, Internal> {
    let passwords = state.passwords.clone();
    let store = state.store.clone();
    state
        .password_pool
        .run(move || {
            Ok::<_, ferrid_store::StoreError>(match store.find_user_by_login(&login)? {
                Some(user) => {
                    let valid = passwords.verify(&password, &user.password_hash);
                    (valid && !user.disabled).then_some(user)
                }
                None => {
                    passwords.verify_unknown_user(&password);
                    None
                }
            })
        })
        .await?
        .map_err(Internal::from)
}

async fn render(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    login_hint: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let client = pending.client(state).await?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::LoginPage {
        client_name: &client.name,
        request_id: &pending.id,
        csrf_token: &token.value,
        login_hint,
        error,
    };
    token.respond(StatusCode::OK, &page)
}
