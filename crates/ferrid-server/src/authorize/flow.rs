//! Moving a pending authorization request forward: store it while the
//! user logs in, decide the next step, and finish with a code or an error
//! redirected to the verified redirect URI.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_store::secret::{digest, random_token};
use ferrid_store::{AuthorizationCode, Client, PendingAuthorization, Session, User};
use url::Url;

use crate::acr::Assurance;
use crate::authorize::decide::{decide, Authentication, Next};
use crate::authorize::device;
use crate::authorize::request::{AuthorizationRequest, ResponseMode};
use crate::error::{ErrorCode, Internal, OAuthError, PageError};
use crate::http::{allow_form_post_to, allow_form_redirect_to, html_response, see_other};
use crate::paths;
use crate::state::AppState;
use crate::{forms, session};

/// A validated request kept server-side under a random id.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The id the browser carries (only its digest is stored).
    pub id: String,
    /// The request.
    pub request: AuthorizationRequest,
    /// The session a login made for this request started, if any.
    pub login_sid: Option<String>,
    /// The user who owes a second factor for this request.
    pub mfa_user_id: Option<String>,
    /// Whether that is a step-up of their live session (no password was
    /// given for this request).
    pub mfa_step_up: bool,
}

impl Pending {
    /// How `session` authenticated, as far as this request (from
    /// `client`) is concerned.
    pub async fn authentication(
        &self,
        state: &AppState,
        client: &Client,
        session: &Session,
        user: &User,
    ) -> Result<Authentication, Internal> {
        Ok(Authentication {
            auth_time: session.auth_time,
            for_this_request: self.login_sid.as_deref() == Some(session.sid.as_str()),
            // As the client knows the user: an id_token_hint names them so.
            subject: state.subjects.for_client(client, &session.user_id),
            assurance: crate::acr::assurance(&session.amr),
            reachable: crate::passkeys::reachable_assurance(state, user).await?,
        })
    }

    /// The level of assurance this request needs: a second factor when
    /// the client requires one, the request asked for it (`acr_values=2`)
    /// or every user must; a passkey when the request asked for
    /// phishing-resistant authentication (`acr_values=phr`).
    pub fn required_assurance(&self, state: &AppState, client: &Client) -> Assurance {
        let policy = if client.require_mfa || state.settings.security.mfa.required_for_all {
            Assurance::MultiFactor
        } else {
            Assurance::SingleFactor
        };
        self.request
            .asked_assurance()
            .map_or(policy, |asked| asked.max(policy))
    }

    /// The requesting client; gone only if it was deleted meanwhile.
    pub async fn client(&self, state: &AppState) -> Result<Client, PageError> {
        let client_id = self.request.client_id.clone();
        state
            .db(move |store| store.find_client(&client_id))
            .await?
            // Disabled meanwhile: the request cannot finish.
            .filter(|client| !client.disabled)
            .ok_or_else(PageError::expired_request)
    }
}

/// Pending requests one browser keeps: enough for a few tabs signing in
/// to several applications at once.
pub const MAX_PENDING_PER_BROWSER: i64 = 10;

/// Stores a validated request made by the browser holding anti-forgery
/// token `browser`, and returns it with its new id.
pub async fn store(
    state: &AppState,
    request: AuthorizationRequest,
    browser: &str,
) -> Result<Pending, Internal> {
    crate::locale::prefer(request.ui_locales.as_deref());
    let id = random_token(32);
    let now = state.now();
    let row = PendingAuthorization {
        id_digest: digest(&id),
        client_id: request.client_id.clone(),
        parameters: serde_json::to_string(&request).map_err(Internal::log)?,
        login_sid: None,
        created_at: now,
        expires_at: now + state.settings.login_ttl,
        mfa_user_id: None,
        mfa_step_up: false,
        browser_digest: Some(digest(&format!("browser:{browser}"))),
    };
    state
        .db(move |store| store.create_pending_authorization(&row, MAX_PENDING_PER_BROWSER))
        .await?;
    Ok(Pending {
        id,
        request,
        login_sid: None,
        mfa_user_id: None,
        mfa_step_up: false,
    })
}

/// Loads a pending request by the id the browser presented; a missing,
/// expired or malformed id is a page error.
pub async fn load(state: &AppState, id: Option<&str>) -> Result<Pending, PageError> {
    let Some(id) = id.map(str::to_owned) else {
        return Err(PageError::expired_request());
    };
    let now = state.now();
    let id_digest = digest(&id);
    let Some(row) = state
        .db(move |store| store.find_pending_authorization(&id_digest, now))
        .await?
    else {
        return Err(PageError::expired_request());
    };
    let request: AuthorizationRequest =
        serde_json::from_str(&row.parameters).map_err(Internal::log)?;
    // The pages of this request speak the language it asked for.
    crate::locale::prefer(request.ui_locales.as_deref());
    Ok(Pending {
        id,
        request,
        login_sid: row.login_sid,
        mfa_user_id: row.mfa_user_id,
        mfa_step_up: row.mfa_step_up,
    })
}

/// Decides and performs the next step for a pending request.
pub async fn proceed(
    state: &AppState,
    http: &HttpRequest,
    pending: Pending,
) -> Result<HttpResponse, PageError> {
    let current = session::current(state, http).await?;
    let next = plan(state, &pending, current.as_ref()).await?;
    perform(state, http, pending, next, current).await
}

/// Moves a pending request on right after a login made for it, which
/// started (or raised) `session`. A request that can be answered now
/// (a code, or an error) is answered at once, saving the browser a round
/// trip and the database the write that would remember the login; any
/// other step (a consent page, say) is recorded and reached by a redirect,
/// so that reloading its page never resubmits the password.
pub async fn proceed_after_login(
    state: &AppState,
    http: &HttpRequest,
    mut pending: Pending,
    session: Session,
    user: User,
) -> Result<HttpResponse, PageError> {
    let (pending_digest, sid) = (digest(&pending.id), session.sid.clone());
    pending.login_sid = Some(sid.clone());
    let current = Some((session, user));
    let next = plan(state, &pending, current.as_ref()).await?;
    if matches!(next, Next::IssueCode | Next::Fail(_)) {
        return perform(state, http, pending, next, current).await;
    }
    state
        .db(move |store| store.record_pending_login(&pending_digest, &sid))
        .await?;
    Ok(see_other(&format!(
        "{}?request_id={}",
        paths::AUTHORIZE_CONTINUE,
        pending.id
    )))
}

/// The next step for `pending`, given the browser's session.
async fn plan(
    state: &AppState,
    pending: &Pending,
    current: Option<&(Session, User)>,
) -> Result<Next, PageError> {
    let consented = match current {
        // The console is part of ferrid: signing in to it asks no consent.
        Some(_) if pending.request.client_id == ferrid_service::clients::CONSOLE_CLIENT_ID => {
            Some(pending.request.scopes.clone())
        }
        Some((_, user)) => {
            let (user_id, client_id) = (user.id.clone(), pending.request.client_id.clone());
            state
                .db(move |store| store.find_consent(&user_id, &client_id))
                .await?
        }
        None => None,
    };
    let client = pending.client(state).await?;
    let authentication = match current {
        Some((session, user)) => Some(
            pending
                .authentication(state, &client, session, user)
                .await?,
        ),
        None => None,
    };
    Ok(decide(
        &pending.request,
        authentication,
        consented.as_deref(),
        pending.required_assurance(state, &client),
        state.now(),
    ))
}

/// Performs step `next` of `pending`.
async fn perform(
    state: &AppState,
    http: &HttpRequest,
    pending: Pending,
    next: Next,
    current: Option<(Session, User)>,
) -> Result<HttpResponse, PageError> {
    match (next, current) {
        (Next::SecondFactor, Some((_, user))) => {
            let (pending_digest, user_id) = (digest(&pending.id), user.id.clone());
            state
                .db(move |store| {
                    store.record_pending_second_factor(&pending_digest, &user_id, true)
                })
                .await?;
            Ok(see_other(&format!(
                "{}?request_id={}",
                paths::LOGIN_MFA,
                pending.id
            )))
        }
        (Next::EnrolSecondFactor, Some(_)) => Ok(see_other(&format!(
            "{}?request_id={}",
            paths::ACCOUNT_TOTP,
            pending.id
        ))),
        (Next::RegisterPasskey, Some(_)) => Err(crate::passkeys::passkey_needed()),
        (Next::Fail(code), _) => fail(state, &pending, interaction_error(code)).await,
        (Next::Consent, Some((_, user))) => consent_page(state, http, &pending, &user).await,
        (Next::IssueCode, Some((session, user))) => {
            issue_code(state, &pending, &session, &user).await
        }
        // Login, or (never, as decide() asks for a login without a
        // session) consent or a code without a session.
        (
            Next::Login
            | Next::Consent
            | Next::IssueCode
            | Next::SecondFactor
            | Next::EnrolSecondFactor
            | Next::RegisterPasskey,
            _,
        ) => Ok(to_login(&pending)),
    }
}

/// The error for an interaction `prompt=none` forbids.
pub fn interaction_error(code: ErrorCode) -> OAuthError {
    match code {
        ErrorCode::LoginRequired => OAuthError::new(code, "the user must sign in"),
        ErrorCode::ConsentRequired => OAuthError::new(code, "the user must consent"),
        ErrorCode::InteractionRequired => OAuthError::new(
            code,
            "the user must pass a second factor, which needs interaction",
        ),
        _ => OAuthError::new(code, "the request cannot be completed"),
    }
}

/// Sends the browser to the login page for a pending request.
pub fn to_login(pending: &Pending) -> HttpResponse {
    see_other(&format!("{}?request_id={}", paths::LOGIN, pending.id))
}

/// Answers a pending request with an error redirect (or, for a device's
/// request, refuses the device) and forgets it.
pub async fn fail(
    state: &AppState,
    pending: &Pending,
    error: OAuthError,
) -> Result<HttpResponse, PageError> {
    if let Some(device_code_digest) = &pending.request.device_code_digest {
        return device::deny(state, &pending.id, device_code_digest, &error).await;
    }
    forget(state, pending).await?;
    Ok(redirect_error(
        state,
        &pending.request.redirect_uri,
        pending.request.response_mode,
        pending.request.state.as_deref(),
        &error,
    ))
}

async fn forget(state: &AppState, pending: &Pending) -> Result<(), Internal> {
    let id_digest = digest(&pending.id);
    state
        .db(move |store| store.claim_pending_authorization(&id_digest))
        .await
        .map(drop)
}

/// Issues an authorization code for the session's user and redirects it
/// to the client (or, for a device's request, approves the device). The
/// pending request is consumed.
pub async fn issue_code(
    state: &AppState,
    pending: &Pending,
    session: &Session,
    user: &User,
) -> Result<HttpResponse, PageError> {
    if let Some(device_code_digest) = &pending.request.device_code_digest {
        return device::approve(
            state,
            &pending.id,
            &pending.request,
            device_code_digest,
            session,
            user,
        )
        .await;
    }
    let code = random_token(32);
    let now = state.now();
    let request = &pending.request;
    let row = AuthorizationCode {
        code_digest: digest(&code),
        client_id: request.client_id.clone(),
        user_id: user.id.clone(),
        sid: session.sid.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scopes.join(" "),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        created_at: now,
        expires_at: now + state.settings.authorization_code_ttl,
        redeemed_at: None,
        grant_id: None,
        amr: session.amr.clone(),
        resources: pending.request.resources.join(" "),
        id_token_claims: pending.request.id_token_claims.join(" "),
    };
    let pending_digest = digest(&pending.id);
    // Claiming (deleting) the pending request first means two concurrent
    // answers to one request (a double-submitted form) get one code.
    let claimed = state
        .db(move |store| {
            let claimed = store.claim_pending_authorization(&pending_digest)?;
            if claimed {
                store.insert_authorization_code(&row)?;
            }
            Ok(claimed)
        })
        .await?;
    if !claimed {
        return Err(PageError::expired_request());
    }
    let mut response = vec![("code", code.as_str())];
    if let Some(client_state) = &request.state {
        response.push(("state", client_state));
    }
    response.push(("iss", &state.settings.issuer));
    Ok(respond_to_client(
        &request.redirect_uri,
        request.response_mode,
        &response,
    ))
}

/// Sends an error to a verified redirect URI (RFC 6749 §4.1.2.1) with
/// `state` and `iss` (RFC 9207), in `mode`.
pub fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    client_state: Option<&str>,
    error: &OAuthError,
) -> HttpResponse {
    let mut response = vec![
        ("error", error.error.as_str()),
        ("error_description", error.error_description.as_ref()),
    ];
    if let Some(client_state) = client_state {
        response.push(("state", client_state));
    }
    response.push(("iss", &state.settings.issuer));
    respond_to_client(redirect_uri, mode, &response)
}

/// Delivers `parameters` to a verified redirect URI in `mode`.
fn respond_to_client(
    redirect_uri: &str,
    mode: ResponseMode,
    parameters: &[(&str, &str)],
) -> HttpResponse {
    match mode {
        ResponseMode::Query => redirect_to_client(redirect_uri, parameters),
        ResponseMode::FormPost => form_post(redirect_uri, parameters),
    }
}

/// The form-post page: a `200` whose form, posted by the page's script,
/// carries the response. Its policy allows that one script from this
/// origin and a form posted to the client's origin.
fn form_post(redirect_uri: &str, parameters: &[(&str, &str)]) -> HttpResponse {
    let page = ferrid_pages::FormPostPage {
        action: redirect_uri,
        fields: parameters,
    };
    let mut response = html_response(StatusCode::OK, &page);
    allow_form_post_to(&mut response, redirect_uri);
    response
}

fn redirect_to_client(redirect_uri: &str, parameters: &[(&str, &str)]) -> HttpResponse {
    // Registered redirect URIs are validated as absolute URLs at
    // registration, so this parse only fails on a corrupted row.
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(parameters);
            see_other(url.as_str())
        }
        Err(error) => PageError::from(Internal::log(format!(
            "stored redirect URI unparsable: {error}"
        )))
        .response(),
    }
}

/// Renders the consent page.
async fn consent_page(
    state: &AppState,
    http: &HttpRequest,
    pending: &Pending,
    user: &User,
) -> Result<HttpResponse, PageError> {
    let client = pending.client(state).await?;
    let apis = state.apis().await?;
    let token = forms::FormToken::for_browser(state, http);
    let page = ferrid_pages::ConsentPage {
        client_name: &client.name,
        username: &user.username,
        scopes: pending
            .request
            .scopes
            .iter()
            .map(|scope| ferrid_pages::ScopeView {
                name: scope,
                description: apis.describe(scope),
            })
            .collect(),
        request_id: &pending.id,
        csrf_token: &token.value,
        for_device: pending.request.device_code_digest.is_some(),
    };
    let mut response = token.respond(StatusCode::OK, &page)?;
    allow_form_redirect_to(&mut response, &pending.request.redirect_uri);
    Ok(response)
}
