//! Client authentication at the token endpoint (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, and `none` for public
//! clients. A client must use the method it registered, except that a
//! client with a secret may send it either way (RFC 6749 §2.3.1 lets the
//! server support both, as Keycloak and node-oidc-provider do); secrets are
//! compared by digest in constant time.

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ferrid_store::secret::matches_digest;
use ferrid_store::{Client, ClientAuthMethod};

use crate::client_assertion::JWT_BEARER;
use crate::client_metadata;
use crate::error::{ErrorCode, OAuthError};
use crate::http::{has_control_character, is_form, Params};
use crate::state::AppState;

/// What the client presented to prove who it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    /// A secret (`client_secret_basic`, `client_secret_post`), or nothing
    /// (`none`), with the method it corresponds to.
    Secret(Option<String>, ClientAuthMethod),
    /// A signed JWT (`client_secret_jwt`, `private_key_jwt`).
    Assertion(String),
}

/// Credentials as the client presented them.
#[derive(Debug, PartialEq, Eq)]
pub struct Presented {
    /// The claimed client id.
    pub client_id: String,
    /// The proof.
    pub credential: Credential,
}

fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

/// Reads the credentials from the `Authorization` header or the body.
pub fn presented(http: &HttpRequest, params: &Params) -> Result<Presented, OAuthError> {
    let basic = match http.headers().get(header::AUTHORIZATION) {
        Some(value) => Some(parse_basic(value.to_str().unwrap_or_default())?),
        None => None,
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion = match (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) {
        (None, None) => None,
        (Some(JWT_BEARER), Some(assertion)) => Some(assertion),
        (Some(JWT_BEARER), None) => {
            return Err(OAuthError::invalid_request("client_assertion is required"))
        }
        (Some(_), _) => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER}"
            )))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is required",
            ))
        }
    };
    let methods = usize::from(basic.is_some())
        + usize::from(body_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use one client authentication method only",
        ));
    }
    if let Some(assertion) = assertion {
        // The client is named by the assertion's issuer (checked against
        // the signature later); a client_id parameter must agree.
        let issuer = unverified_issuer(assertion)
            .ok_or_else(|| invalid_client("the client assertion is not a JWT with an iss claim"))?;
        if body_id.is_some_and(|body_id| body_id != issuer) {
            return Err(invalid_client(
                "client_id differs from the client assertion's issuer",
            ));
        }
        return Ok(Presented {
            client_id: issuer,
            credential: Credential::Assertion(assertion.to_owned()),
        });
    }
    match basic {
        Some((client_id, secret)) => {
            if body_id.is_some_and(|body_id| body_id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            Ok(Presented {
                client_id,
                credential: Credential::Secret(Some(secret), ClientAuthMethod::ClientSecretBasic),
            })
        }
        None => {
            let client_id = body_id
                .ok_or_else(|| invalid_client("client authentication is required"))?
                .to_owned();
            let credential = match body_secret {
                Some(secret) => {
                    Credential::Secret(Some(secret.to_owned()), ClientAuthMethod::ClientSecretPost)
                }
                None => Credential::Secret(None, ClientAuthMethod::None),
            };
            Ok(Presented {
                client_id,
                credential,
            })
        }
    }
}

/// The `iss` of a JWT, read without verifying it (only to find the client
/// whose keys then verify it).
fn unverified_issuer(jwt: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// Parses `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str) -> Result<(String, String), OAuthError> {
    let malformed = || invalid_client("malformed Basic authorization header");
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            "unsupported authorization scheme; use Basic",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id).ok_or_else(malformed)?;
    let secret = form_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

fn form_decode(value: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The parameters and authenticated client of a form a client posts to
/// an endpoint it authenticates at (`what` names the request in the
/// error for another media type).
pub async fn authenticated_form(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
    what: &'static str,
) -> Result<(Params, Client), OAuthError> {
    if !is_form(http) {
        return Err(OAuthError::invalid_request(format!(
            "{what} must be application/x-www-form-urlencoded"
        )));
    }
    let params =
        Params::parse(body).map_err(|error| OAuthError::invalid_request(error.to_string()))?;
    let client = authenticate(state, http, &params).await?;
    Ok((params, client))
}

/// Authenticates the client of a token, introspection or revocation request.
pub async fn authenticate(
    state: &AppState,
    http: &HttpRequest,
    params: &Params,
) -> Result<Client, OAuthError> {
    let presented = presented(http, params)?;
    if has_control_character(&presented.client_id) {
        return Err(invalid_client("the client_id contains a control character"));
    }
    let client = match state.recent_clients.get(&presented.client_id) {
        Some(client) => client,
        None => {
            let client = std::sync::Arc::new(
                client_metadata::find(state, &presented.client_id)
                    .await?
                    .ok_or_else(|| invalid_client("client authentication failed"))?,
            );
            state.recent_clients.put(client.clone());
            client
        }
    };
    match &presented.credential {
        Credential::Assertion(assertion) => {
            state
                .client_assertions
                .check(&client, assertion, state.now())
                .await?
        }
        Credential::Secret(secret, method) => verify(&client, *method, secret.as_deref())?,
    }
    if client.disabled {
        return Err(invalid_client("this client is disabled"));
    }
    // Authenticated: from here on the client, not its address, is limited.
    let own_limit = client
        .rate_limit_per_minute
        .and_then(|limit| u32::try_from(limit).ok());
    if let Err(wait) = state
        .rate_limiter
        .check_client(&client.client_id, own_limit)
    {
        let seconds = crate::rate_limit::retry_after_seconds(wait);
        tracing::warn!(client_id = %client.client_id, "client over its request limit");
        let mut error = OAuthError::new(
            ErrorCode::RateLimited,
            format!("too many requests from this client; try again in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        return Err(error);
    }
    Ok(std::sync::Arc::unwrap_or_clone(client))
}

/// Checks a presented secret against a registered client.
pub fn verify(
    client: &Client,
    method: ClientAuthMethod,
    secret: Option<&str>,
) -> Result<(), OAuthError> {
    if !accepts(client.auth_method, method) {
        return Err(invalid_client(
            "the client must authenticate with its registered token_endpoint_auth_method",
        ));
    }
    match (&client.secret_digest, secret) {
        (None, None) => Ok(()),
        (Some(digest), Some(secret)) if matches_digest(secret, digest) => Ok(()),
        _ => Err(invalid_client("client authentication failed")),
    }
}

/// Whether a client registered with `registered` may authenticate with
/// `presented`: the same method, or the other way of sending a secret.
fn accepts(registered: ClientAuthMethod, presented: ClientAuthMethod) -> bool {
    use ClientAuthMethod::{ClientSecretBasic, ClientSecretPost};
    registered == presented
        || matches!(
            (registered, presented),
            (ClientSecretBasic, ClientSecretPost) | (ClientSecretPost, ClientSecretBasic)
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrid_store::secret::digest;

    fn client(method: ClientAuthMethod, secret: Option<&str>) -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            secret_digest: secret.map(digest),
            auth_method: method,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            created_at: 0,
            id_token_signed_response_alg: "RS256".into(),
            ..Default::default()
        }
    }

    #[test]
    fn basic_header_is_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Ac+r"));
        assert_eq!(
            parse_basic(&header).unwrap(),
            ("my app".to_owned(), "s:c r".to_owned())
        );
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
        assert!(parse_basic("Basic").is_err());
    }

    fn request(authorization: Option<&str>) -> HttpRequest {
        let request = actix_web::test::TestRequest::default();
        match authorization {
            Some(value) => request.insert_header((header::AUTHORIZATION, value)),
            None => request,
        }
        .to_http_request()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    /// An unsigned JWT naming `iss` (presented() reads, not verifies, it).
    fn assertion(claims: &str) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn presented_with(authorization: Option<&str>, body: &str) -> Result<Presented, OAuthError> {
        presented(
            &request(authorization),
            &Params::parse(body.as_bytes()).unwrap(),
        )
    }

    fn refusal(result: Result<Presented, OAuthError>) -> (ErrorCode, String) {
        let error = result.expect_err("expected a refusal");
        (error.error, error.error_description.into_owned())
    }

    #[test]
    fn each_way_of_presenting_names_its_method() {
        let header = basic("app", "s3cret");
        assert_eq!(
            presented_with(Some(&header), "grant_type=x").unwrap(),
            Presented {
                client_id: "app".into(),
                credential: Credential::Secret(
                    Some("s3cret".into()),
                    ClientAuthMethod::ClientSecretBasic
                ),
            }
        );
        // A body client_id that agrees with the header is fine.
        assert!(presented_with(Some(&header), "client_id=app").is_ok());
        assert_eq!(
            presented_with(None, "client_id=app&client_secret=s3cret").unwrap(),
            Presented {
                client_id: "app".into(),
                credential: Credential::Secret(
                    Some("s3cret".into()),
                    ClientAuthMethod::ClientSecretPost
                ),
            }
        );
        assert_eq!(
            presented_with(None, "client_id=app").unwrap(),
            Presented {
                client_id: "app".into(),
                credential: Credential::Secret(None, ClientAuthMethod::None),
            }
        );
        let jwt = assertion(r#"{"iss":"app","sub":"app"}"#);
        let body = format!("client_assertion_type={JWT_BEARER}&client_assertion={jwt}");
        assert_eq!(
            presented_with(None, &body).unwrap(),
            Presented {
                client_id: "app".into(),
                credential: Credential::Assertion(jwt.clone()),
            }
        );
        assert!(presented_with(None, &format!("{body}&client_id=app")).is_ok());
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let header = basic("app", "s3cret");
        let jwt = assertion(r#"{"iss":"app"}"#);
        let with_assertion = format!("client_assertion_type={JWT_BEARER}&client_assertion={jwt}");
        let one_only = (
            ErrorCode::InvalidRequest,
            "use one client authentication method only".to_owned(),
        );
        assert_eq!(
            refusal(presented_with(Some(&header), "client_secret=s3cret")),
            one_only
        );
        assert_eq!(
            refusal(presented_with(Some(&header), &with_assertion)),
            one_only
        );
        assert_eq!(
            refusal(presented_with(
                None,
                &format!("client_id=app&client_secret=s3cret&{with_assertion}")
            )),
            one_only
        );
    }

    #[test]
    fn the_client_id_must_agree_everywhere() {
        let header = basic("app", "s3cret");
        assert_eq!(
            refusal(presented_with(Some(&header), "client_id=other")).0,
            ErrorCode::InvalidRequest
        );
        let jwt = assertion(r#"{"iss":"app"}"#);
        assert_eq!(
            refusal(presented_with(
                None,
                &format!(
                    "client_id=other&client_assertion_type={JWT_BEARER}&client_assertion={jwt}"
                )
            )),
            (
                ErrorCode::InvalidClient,
                "client_id differs from the client assertion's issuer".to_owned()
            )
        );
        assert_eq!(
            refusal(presented_with(None, "grant_type=x")).0,
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn assertions_must_be_jwts_with_an_issuer_and_the_right_type() {
        for not_a_jwt in [
            "abc".to_owned(),
            "a.!!!.c".to_owned(),
            assertion("not json"),
            assertion(r#"{"sub":"app"}"#),
            assertion(r#"{"iss":7}"#),
        ] {
            assert_eq!(
                refusal(presented_with(
                    None,
                    &format!("client_assertion_type={JWT_BEARER}&client_assertion={not_a_jwt}")
                ))
                .0,
                ErrorCode::InvalidClient,
                "{not_a_jwt}"
            );
        }
        assert_eq!(
            unverified_issuer(&assertion(r#"{"iss":"a"}"#)).as_deref(),
            Some("a")
        );
        let jwt = assertion(r#"{"iss":"app"}"#);
        for body in [
            format!("client_assertion_type={JWT_BEARER}"),
            format!("client_assertion={jwt}"),
            format!("client_assertion_type=saml&client_assertion={jwt}"),
        ] {
            assert_eq!(
                refusal(presented_with(None, &body)).0,
                ErrorCode::InvalidRequest,
                "{body}"
            );
        }
    }

    #[test]
    fn registered_method_and_secret_must_match() {
        let basic = client(ClientAuthMethod::ClientSecretBasic, Some("s3cret"));
        use ClientAuthMethod::{ClientSecretBasic, ClientSecretPost, None as Public};
        assert!(verify(&basic, ClientSecretBasic, Some("s3cret")).is_ok());
        assert!(verify(&basic, ClientSecretBasic, Some("wrong")).is_err());
        assert!(verify(&basic, ClientSecretPost, Some("s3cret")).is_ok());
        assert!(verify(&basic, ClientSecretPost, Some("wrong")).is_err());
        assert!(verify(&basic, Public, None).is_err());
        let post = client(ClientSecretPost, Some("s3cret"));
        assert!(verify(&post, ClientSecretBasic, Some("s3cret")).is_ok());
        assert!(verify(&post, Public, None).is_err());
        let jwt = client(ClientAuthMethod::ClientSecretJwt, None);
        assert!(verify(&jwt, ClientSecretBasic, Some("s3cret")).is_err());
        assert!(verify(&jwt, Public, None).is_err());
        let public = client(Public, None);
        assert!(verify(&public, Public, None).is_ok());
        assert!(verify(&public, ClientSecretPost, Some("x")).is_err());
    }
}
