//! Validation of an authorization request (RFC 6749 §4.1.1, OIDC Core
//! §3.1.2.1, RFC 7636). Until the client and redirect URI are known good,
//! failures are pages; afterwards they are redirects to the client.

use ferrid_store::Client;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, OAuthError, PageError};
use crate::http::Params;
use crate::pkce;
use crate::resources::{self, Apis};
pub use crate::response_mode::ResponseMode;
use crate::user_claims;
use ferrid_service::scopes;

/// Longest accepted `state`: no spec limits it, and some client libraries
/// (ASP.NET Core's, for one) put an encrypted blob of several hundred
/// characters in it; it must still be short enough to echo back.
pub const MAX_STATE: usize = 1024;
/// Longest accepted `nonce`: a random value; 255 leaves room for the
/// timestamped nonces some libraries send.
pub const MAX_NONCE: usize = 255;
/// Longest accepted `login_hint`: the longest e-mail address (RFC 5321
/// §4.5.3.1.3 path limit).
pub const MAX_LOGIN_HINT: usize = 254;
/// Longest accepted `acr_values`: a few space-separated names.
pub const MAX_ACR_VALUES: usize = 128;
/// Longest accepted `ui_locales` or `claims_locales`: a few language tags.
pub const MAX_LOCALES: usize = 128;

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: no interaction; fail if any would be needed.
    pub none: bool,
    /// `login`: re-authenticate even with a session.
    pub login: bool,
    /// `consent`: ask for consent even if remembered.
    pub consent: bool,
}

/// A validated authorization request, kept server-side while the user
/// logs in and consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI, registered for the client.
    pub redirect_uri: String,
    /// How the response is delivered to it.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// Requested scopes, all allowed for the client.
    pub scopes: Vec<String>,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// Nonce for the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Interaction requirements.
    pub prompt: Prompt,
    /// Maximum authentication age, seconds.
    pub max_age: Option<i64>,
    /// Suggested login name.
    pub login_hint: Option<String>,
    /// The subject of a verified `id_token_hint`: only that user's
    /// session may answer without a new login.
    #[serde(default)]
    pub expected_subject: Option<String>,
    /// Requested authentication context classes (`acr_values`), in order
    /// of preference; `2` asks for a second factor.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// The APIs the grant will cover (RFC 8707): those named by
    /// `resource` and those whose scopes were asked for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// User claims asked for in the ID token with the `claims` parameter
    /// (OIDC Core §5.5); their scopes are among `scopes`.
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// For a device's request (RFC 8628), the digest of its device code:
    /// the request ends by approving or denying the device, not with a
    /// redirect.
    #[serde(default)]
    pub device_code_digest: Option<String>,
    /// The languages the client asked the pages in (`ui_locales`), in
    /// order of preference.
    #[serde(default)]
    pub ui_locales: Option<String>,
}

impl AuthorizationRequest {
    /// The level of assurance the client asked for: the strongest of the
    /// `acr_values` ferrid knows (`2` a second factor, `phr`/`phrh` a
    /// passkey), if any. Unknown values are ignored, as voluntary
    /// `acr_values` allow (OIDC Core §3.1.2.1).
    pub fn asked_assurance(&self) -> Option<crate::acr::Assurance> {
        self.acr_values
            .iter()
            .filter_map(|value| crate::acr::Assurance::of_acr(value))
            .max()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not safe to redirect: show a page.
    Page(PageError),
    /// Redirect the error to the verified redirect URI.
    Redirect {
        /// Verified redirect URI.
        redirect_uri: String,
        /// How to deliver the error to it.
        response_mode: ResponseMode,
        /// The request's state, echoed.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

/// Checks the client and redirect URI only. `client` is the looked-up
/// client for the request's `client_id`, if there is one.
pub fn verify_client_and_redirect<'a>(
    params: &'a Params,
    client: Option<&Client>,
) -> Result<&'a str, PageError> {
    let Some(client_id) = params.get("client_id") else {
        return Err(PageError::bad_request(
            "Invalid sign-in request",
            "The request has no client_id parameter.",
        ));
    };
    let Some(client) = client else {
        return Err(PageError::bad_request(
            "Unknown application",
            format!("No client is registered with the id \"{client_id}\"."),
        )
        .with_hint("Check the client_id configured in the application."));
    };
    let Some(redirect_uri) = params.get("redirect_uri") else {
        return Err(PageError::bad_request(
            "Invalid sign-in request",
            "The request has no redirect_uri parameter.",
        ));
    };
    if !client.has_redirect_uri(redirect_uri) {
        tracing::warn!(
            client_id,
            rejected = redirect_uri,
            registered = ?client.redirect_uris,
            "redirect_uri not registered for client"
        );
        return Err(PageError::bad_request(
            "Redirect URI not registered",
            format!(
                "The redirect_uri \"{redirect_uri}\" is not registered for client \"{client_id}\". \
                 Redirect URIs must match a registered one exactly."
            ),
        )
        .with_hint(
            "Register this exact URI for the client (ferrid client create --redirect-uri), or fix \
             the application's configuration. Behind a reverse proxy, check the scheme, host and \
             port the application builds its redirect URI from.",
        ));
    }
    Ok(redirect_uri)
}

/// Validates a whole authorization request for `client` (already looked up
/// by `client_id`, or `None` if unknown), on a server with `apis`.
pub fn validate(
    params: &Params,
    client: Option<&Client>,
    apis: &Apis,
) -> Result<AuthorizationRequest, Rejection> {
    let redirect_uri = verify_client_and_redirect(params, client).map_err(Rejection::Page)?;
    // verify_client_and_redirect has refused a missing client.
    let Some(client) = client else {
        return Err(Rejection::Page(PageError::internal()));
    };
    let state = params.get("state");
    if state.is_some_and(|state| state.len() > MAX_STATE) {
        // Too long to echo back safely, so no redirect.
        return Err(Rejection::Page(PageError::bad_request(
            "Invalid sign-in request",
            format!("The state parameter is longer than {MAX_STATE} characters."),
        )));
    }
    // Parsed first, so every later error is delivered the way the client
    // asked; an unsupported mode itself is answered in the query.
    let requested_mode = ResponseMode::parse(params.get("response_mode"));
    let reject = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        response_mode: requested_mode.unwrap_or_default(),
        state: state.map(str::to_owned),
        error,
    };
    let Some(response_mode) = requested_mode else {
        return Err(reject(OAuthError::invalid_request(
            "response_mode must be query or form_post",
        )));
    };
    // A browser posts forms only to web addresses; a native app's
    // private-use scheme gets its response in the query.
    if response_mode == ResponseMode::FormPost
        && !(redirect_uri.starts_with("https://") || redirect_uri.starts_with("http://"))
    {
        return Err(Rejection::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            response_mode: ResponseMode::Query,
            state: state.map(str::to_owned),
            error: OAuthError::invalid_request(
                "response_mode=form_post needs an http or https redirect_uri",
            ),
        });
    }
    validate_for_client(params, client, apis)
        .map(|checked| AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            response_mode,
            state: state.map(str::to_owned),
            ..checked
        })
        .map_err(reject)
}

/// The checks whose failures may be redirected to the client.
fn validate_for_client(
    params: &Params,
    client: &Client,
    apis: &Apis,
) -> Result<AuthorizationRequest, OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant(ferrid_store::GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }

    let mut scopes = scopes::split(params.get("scope").unwrap_or_default());
    let asked = ClaimsRequest::parse(params.get("claims"))?;
    // A claim is released under its scope: asking for it asks for the
    // scope (which the consent page then shows). Claims this server does
    // not have, or whose scope the client may not request, are ignored
    // (OIDC Core §5.5: "not available").
    let id_token_claims: Vec<String> = asked
        .id_token
        .iter()
        .filter(|claim| {
            user_claims::scope_of(claim).is_some_and(|scope| client.allows_scope(scope.as_str()))
        })
        .cloned()
        .collect();
    for claim in asked.id_token.iter().chain(&asked.userinfo) {
        if let Some(scope) = user_claims::scope_of(claim).map(|scope| scope.as_str()) {
            if client.allows_scope(scope) && !scopes.iter().any(|held| held == scope) {
                scopes.push(scope.to_owned());
            }
        }
    }
    if !scopes.iter().any(|scope| scope == scopes::OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the scope parameter must include openid",
        ));
    }
    check_scopes(apis, client, &scopes)?;

    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(challenge), Some(pkce::S256)) => {
            if !pkce::is_well_formed(challenge) {
                return Err(OAuthError::invalid_request(
                    "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), None) | (_, Some("plain")) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not accepted",
            ))
        }
        (None, Some(pkce::S256)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge is required with code_challenge_method",
            ))
        }
        (_, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "unsupported code_challenge_method; use S256",
            ))
        }
    };
    if code_challenge.is_none() && (!client.auth_method.is_confidential() || client.require_pkce) {
        return Err(OAuthError::invalid_request(
            "PKCE with code_challenge_method=S256 is required for this client",
        ));
    }

    let prompt = parse_prompt(params.get("prompt"))?;
    let max_age = params
        .get("max_age")
        .map(|value| {
            value
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()?;
    let nonce = bounded(params, "nonce", MAX_NONCE)?;
    let login_hint = bounded(params, "login_hint", MAX_LOGIN_HINT)?;
    let ui_locales = bounded(params, "ui_locales", MAX_LOCALES)?;
    // The user claims this server holds have one language each, so
    // `claims_locales` changes nothing; it is only checked.
    bounded(params, "claims_locales", MAX_LOCALES)?;
    let mut acr_values: Vec<String> = bounded(params, "acr_values", MAX_ACR_VALUES)?
        .map(|values| {
            values
                .split(' ')
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // An `acr` asked for in the claims parameter counts as acr_values.
    for value in asked.acr {
        if !acr_values.contains(&value) {
            acr_values.push(value);
        }
    }

    let resources = resources::requested_resources(apis, client, params.all("resource"), &scopes)?;

    Ok(AuthorizationRequest {
        client_id: String::new(),
        redirect_uri: String::new(),
        response_mode: ResponseMode::Query,
        resources,
        scopes,
        state: None,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        expected_subject: None,
        acr_values,
        id_token_claims,
        device_code_digest: None,
        ui_locales,
    })
}

/// Checks that every one of `scopes` is known here and allowed to
/// `client`: `invalid_scope` naming the first that is not.
pub fn check_scopes(apis: &Apis, client: &Client, scopes: &[String]) -> Result<(), OAuthError> {
    match scopes
        .iter()
        .find(|scope| !apis.is_known_scope(scope) || !client.allows_scope(scope))
    {
        Some(refused) => Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "scope \"{}\" is not allowed for this client",
                truncate(refused)
            ),
        )),
        None => Ok(()),
    }
}

/// What a `claims` parameter (OIDC Core §5.5) asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct ClaimsRequest {
    /// Claims asked for in the ID token.
    id_token: Vec<String>,
    /// Claims asked for from UserInfo.
    userinfo: Vec<String>,
    /// Authentication context classes asked for (`acr`'s `value` or
    /// `values`, in either member).
    acr: Vec<String>,
}

impl ClaimsRequest {
    /// Parses the parameter: a JSON object whose `id_token` and
    /// `userinfo` members, if present, map claim names to `null` or to an
    /// object of `essential`, `value` and `values`. Anything else is
    /// `invalid_request`.
    fn parse(value: Option<&str>) -> Result<ClaimsRequest, OAuthError> {
        let Some(text) = value else {
            return Ok(ClaimsRequest::default());
        };
        let malformed = |why: &str| {
            OAuthError::invalid_request(format!("the claims parameter is malformed: {why}"))
        };
        let document: serde_json::Value =
            serde_json::from_str(text).map_err(|_| malformed("not JSON"))?;
        let object = document
            .as_object()
            .ok_or_else(|| malformed("not a JSON object"))?;
        let mut asked = ClaimsRequest::default();
        for (member, list) in [
            ("id_token", &mut asked.id_token),
            ("userinfo", &mut asked.userinfo),
        ] {
            let Some(requested) = object.get(member) else {
                continue;
            };
            let requested = requested
                .as_object()
                .ok_or_else(|| malformed("id_token and userinfo must be objects"))?;
            for (claim, request) in requested {
                let values = match request {
                    serde_json::Value::Null => Vec::new(),
                    serde_json::Value::Object(details) => {
                        claim_values(details).ok_or_else(|| {
                            malformed("essential, value or values has the wrong type")
                        })?
                    }
                    _ => return Err(malformed("each claim must be null or an object")),
                };
                if claim == "acr" {
                    asked.acr.extend(values);
                } else {
                    list.push(claim.clone());
                }
            }
        }
        Ok(asked)
    }
}

/// The `value` and `values` of one requested claim, as strings; `None` if
/// a member has the wrong type.
fn claim_values(details: &serde_json::Map<String, serde_json::Value>) -> Option<Vec<String>> {
    if details
        .get("essential")
        .is_some_and(|essential| !essential.is_boolean())
    {
        return None;
    }
    let mut values = Vec::new();
    if let Some(value) = details.get("value") {
        values.push(value.as_str()?.to_owned());
    }
    if let Some(list) = details.get("values") {
        for value in list.as_array()? {
            values.push(value.as_str()?.to_owned());
        }
    }
    Some(values)
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for token in value
        .unwrap_or_default()
        .split(' ')
        .filter(|token| !token.is_empty())
    {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported prompt value \"{}\"",
                    truncate(other)
                )))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn bounded(params: &Params, name: &'static str, max: usize) -> Result<Option<String>, OAuthError> {
    match params.get(name) {
        Some(value) if value.len() > max => Err(OAuthError::invalid_request(format!(
            "{name} is longer than {max} characters"
        ))),
        value => Ok(value.map(str::to_owned)),
    }
}

/// Caps attacker-chosen text echoed in an error description.
fn truncate(value: &str) -> String {
    value.chars().take(64).filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use ferrid_store::ClientAuthMethod;

    use super::*;

    fn client(auth_method: ClientAuthMethod) -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            secret_digest: None,
            auth_method,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![ferrid_store::GrantType::AuthorizationCode],
            scopes: vec!["openid".into(), "profile".into()],
            created_at: 0,
            id_token_signed_response_alg: "RS256".into(),
            ..Default::default()
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params(extra: &str) -> Params {
        Params::parse(
            format!("client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&state=s{extra}")
                .as_bytes(),
        )
        .unwrap()
    }

    fn redirected_error(result: Result<AuthorizationRequest, Rejection>) -> ErrorCode {
        match result {
            Err(Rejection::Redirect { error, state, .. }) => {
                assert_eq!(state.as_deref(), Some("s"));
                error.error
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_good_request() {
        let confidential = client(ClientAuthMethod::ClientSecretBasic);
        let request = validate(
            &params("&nonce=n&prompt=login&max_age=60"),
            Some(&confidential),
            &Apis::default(),
        )
        .unwrap();
        assert_eq!(request.client_id, "app");
        assert_eq!(request.scopes, vec!["openid"]);
        assert!(request.prompt.login);
        assert_eq!(request.max_age, Some(60));
        assert_eq!(request.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn every_field_is_carried_into_the_stored_request() {
        let public = client(ClientAuthMethod::None);
        let request = validate(
            &params(&format!(
                "&code_challenge={CHALLENGE}&code_challenge_method=S256&login_hint=alice%40example.com&acr_values=2%20%201&prompt=consent"
            )),
            Some(&public),
            &Apis::default(),
        )
        .unwrap();
        assert_eq!(request.redirect_uri, "https://app.example/cb");
        assert_eq!(request.state.as_deref(), Some("s"));
        assert_eq!(request.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(request.login_hint.as_deref(), Some("alice@example.com"));
        assert_eq!(request.acr_values, vec!["2", "1"]);
        assert!(request.prompt.consent && !request.prompt.login && !request.prompt.none);
        assert_eq!(
            request.asked_assurance(),
            Some(crate::acr::Assurance::MultiFactor)
        );
        let mut single = request.clone();
        single.acr_values = vec!["1".into()];
        assert_eq!(
            single.asked_assurance(),
            Some(crate::acr::Assurance::SingleFactor)
        );
        single.acr_values = vec!["silver".into(), "phr".into()];
        assert_eq!(
            single.asked_assurance(),
            Some(crate::acr::Assurance::PhishingResistant)
        );
    }

    #[test]
    fn free_text_is_capped_at_its_documented_length() {
        let confidential = client(ClientAuthMethod::ClientSecretBasic);
        for (name, max) in [
            ("nonce", MAX_NONCE),
            ("login_hint", MAX_LOGIN_HINT),
            ("acr_values", MAX_ACR_VALUES),
        ] {
            let longest = params(&format!("&{name}={}", "a".repeat(max)));
            assert!(
                validate(&longest, Some(&confidential), &Apis::default()).is_ok(),
                "{name}"
            );
            let too_long = params(&format!("&{name}={}", "a".repeat(max + 1)));
            assert_eq!(
                redirected_error(validate(&too_long, Some(&confidential), &Apis::default())),
                ErrorCode::InvalidRequest,
                "{name}"
            );
        }
        let state = |length: usize| {
            Params::parse(
                format!(
                    "client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid&state={}",
                    "s".repeat(length)
                )
                .as_bytes(),
            )
            .unwrap()
        };
        assert!(validate(&state(MAX_STATE), Some(&confidential), &Apis::default()).is_ok());
        // Too long to echo: a page, not a redirect.
        assert!(matches!(
            validate(&state(MAX_STATE + 1), Some(&confidential), &Apis::default()),
            Err(Rejection::Page(_))
        ));
    }

    #[test]
    fn echoed_values_are_short_and_printable() {
        assert_eq!(truncate(&"x".repeat(100)), "x".repeat(64));
        assert_eq!(truncate("a\u{7}b"), "ab");
        let confidential = client(ClientAuthMethod::ClientSecretBasic);
        let long_scope = Params::parse(
            format!(
                "client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&state=s&scope=openid%20{}",
                "z".repeat(100)
            )
            .as_bytes(),
        )
        .unwrap();
        match validate(&long_scope, Some(&confidential), &Apis::default()) {
            Err(Rejection::Redirect { error, .. }) => assert_eq!(
                error.error_description,
                format!(
                    "scope \"{}\" is not allowed for this client",
                    "z".repeat(64)
                )
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resources_are_checked_and_recorded() {
        let mut confidential = client(ClientAuthMethod::ClientSecretBasic);
        confidential.scopes.push("orders:read".into());
        let apis = Apis::new(vec![ferrid_store::Api {
            identifier: "https://orders.example".into(),
            scopes: vec![ferrid_store::ApiScope {
                name: "orders:read".into(),
                description: "Read orders".into(),
            }],
            ..Default::default()
        }]);
        let by_scope = Params::parse(b"client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid%20orders%3Aread&state=s").unwrap();
        assert_eq!(
            validate(&by_scope, Some(&confidential), &apis)
                .unwrap()
                .resources,
            vec!["https://orders.example"]
        );
        assert_eq!(
            validate(
                &params("&resource=https%3A%2F%2Forders.example"),
                Some(&confidential),
                &apis
            )
            .unwrap()
            .resources,
            vec!["https://orders.example"]
        );
        // An API scope the server no longer defines is refused.
        assert_eq!(
            redirected_error(validate(&by_scope, Some(&confidential), &Apis::default())),
            ErrorCode::InvalidScope
        );
        for unknown in ["https%3A%2F%2Fother.example", "relative"] {
            assert_eq!(
                redirected_error(validate(
                    &params(&format!("&resource={unknown}")),
                    Some(&confidential),
                    &apis
                )),
                ErrorCode::InvalidTarget
            );
        }
    }

    #[test]
    fn unknown_client_and_unregistered_redirect_are_pages() {
        let confidential = client(ClientAuthMethod::ClientSecretBasic);
        assert!(matches!(
            validate(&params(""), None, &Apis::default()),
            Err(Rejection::Page(_))
        ));
        let other_uri = Params::parse(b"client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F&response_type=code&scope=openid").unwrap();
        match validate(&other_uri, Some(&confidential), &Apis::default()) {
            Err(Rejection::Page(page)) => assert!(page.message.contains("https://app.example/cb/")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn protocol_errors_redirect() {
        let confidential = client(ClientAuthMethod::ClientSecretBasic);
        let public = client(ClientAuthMethod::None);
        let check = |extra: &str, client: &Client| {
            redirected_error(validate(&params(extra), Some(client), &Apis::default()))
        };
        assert_eq!(check("", &public), ErrorCode::InvalidRequest);
        assert_eq!(
            check(
                &format!("&code_challenge={CHALLENGE}&code_challenge_method=plain"),
                &public
            ),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            check(&format!("&code_challenge={CHALLENGE}"), &public),
            ErrorCode::InvalidRequest
        );
        assert!(validate(
            &params(&format!(
                "&code_challenge={CHALLENGE}&code_challenge_method=S256"
            )),
            Some(&public),
            &Apis::default()
        )
        .is_ok());
        assert_eq!(
            check("&prompt=none%20login", &confidential),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            check("&response_mode=fragment", &confidential),
            ErrorCode::InvalidRequest
        );
        assert!(validate(
            &params("&response_mode=query"),
            Some(&confidential),
            &Apis::default()
        )
        .is_ok());
        let form_post = validate(
            &params("&response_mode=form_post"),
            Some(&confidential),
            &Apis::default(),
        );
        assert!(
            matches!(&form_post, Ok(request) if request.response_mode == ResponseMode::FormPost),
            "{form_post:?}"
        );
        // A native app's private-use scheme cannot receive a form.
        let mut native = confidential.clone();
        native.redirect_uris = vec!["com.example.app:/cb".into()];
        let native_params = Params::parse(
            b"client_id=app&redirect_uri=com.example.app%3A%2Fcb&response_type=code&scope=openid&state=s&response_mode=form_post",
        )
        .unwrap();
        assert!(matches!(
            validate(&native_params, Some(&native), &Apis::default()),
            Err(Rejection::Redirect {
                response_mode: ResponseMode::Query,
                error: OAuthError {
                    error: ErrorCode::InvalidRequest,
                    ..
                },
                ..
            })
        ));
        // Later errors go back the way the client asked for.
        assert!(matches!(
            validate(
                &params("&response_mode=form_post&prompt=bogus"),
                Some(&confidential),
                &Apis::default()
            ),
            Err(Rejection::Redirect {
                response_mode: ResponseMode::FormPost,
                ..
            })
        ));
        assert_eq!(
            check("&prompt=select_account", &confidential),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            check("&max_age=-1", &confidential),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            check("&request=x", &confidential),
            ErrorCode::RequestNotSupported
        );
        let no_openid = Params::parse(b"client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=profile&state=s").unwrap();
        assert_eq!(
            redirected_error(validate(&no_openid, Some(&confidential), &Apis::default())),
            ErrorCode::InvalidScope
        );
        let token = Params::parse(b"client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=token&scope=openid&state=s").unwrap();
        assert_eq!(
            redirected_error(validate(&token, Some(&confidential), &Apis::default())),
            ErrorCode::UnsupportedResponseType
        );
        let email = Params::parse(b"client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid%20email&state=s").unwrap();
        assert_eq!(
            redirected_error(validate(&email, Some(&confidential), &Apis::default())),
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn the_claims_parameter_is_parsed_strictly() {
        let asked = ClaimsRequest::parse(Some(
            r#"{"id_token":{"email":{"essential":true},"name":null,"acr":{"values":["2"]}},"userinfo":{"email_verified":null,"unknown":{"value":"x"}}}"#,
        ))
        .unwrap();
        assert_eq!(asked.id_token, ["email", "name"]);
        assert_eq!(asked.userinfo, ["email_verified", "unknown"]);
        assert_eq!(asked.acr, ["2"]);
        assert_eq!(
            ClaimsRequest::parse(None).unwrap(),
            ClaimsRequest::default()
        );
        for bad in [
            "not json",
            "[]",
            r#"{"id_token":[]}"#,
            r#"{"id_token":{"email":true}}"#,
            r#"{"id_token":{"email":{"essential":"yes"}}}"#,
            r#"{"id_token":{"acr":{"values":[2]}}}"#,
        ] {
            let error = ClaimsRequest::parse(Some(bad)).expect_err(bad);
            assert_eq!(error.error, ErrorCode::InvalidRequest, "{bad}");
        }
    }
}
