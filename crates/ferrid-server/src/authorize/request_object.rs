//! Request objects (RFC 9101, OIDC Core §6.1): an authorization request
//! whose parameters travel as a JWT the client signed with its registered
//! keys, by value in `request` (at the authorization endpoint, or pushed
//! to the PAR endpoint). Only the signed parameters count: whatever else
//! the browser's URL carries is ignored (RFC 9101 §5).
//!
//! Rules: an algorithm the client's keys support (never `none`); `iss` is
//! the client id; `aud` names this issuer; `exp` is required and in the
//! future, at most [`MAX_LIFETIME`] away, and `nbf`, if present, has
//! passed (both with [`CLOCK_SKEW`] of leeway); a `client_id` claim must be
//! the client's; a request object cannot hold another one.

use ferrid_store::Client;
use ferrid_tokens::CLOCK_SKEW;
use serde_json::{Map, Value};

use crate::client_assertion::Unverified;
use crate::error::{ErrorCode, OAuthError};
use crate::http::Params;
use crate::state::AppState;

/// Longest a request object may still be valid for, seconds: it is made
/// for one redirect, not kept.
pub const MAX_LIFETIME: i64 = 3600;

/// Largest request object fetched from a `request_uri`.
const MAX_FETCHED_BYTES: usize = 16 * 1024;
/// Longest `request_uri` fetched (RFC 9101 §5.2: 512 ASCII characters).
const MAX_REQUEST_URI: usize = 512;

/// Claims that describe the JWT, not the authorization request.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// The authorization request `params` make: themselves, or, when they
/// carry a `request`, the parameters it signs (with the `client_id`).
pub async fn unpack(
    state: &AppState,
    client: &Client,
    params: Params,
) -> Result<Params, OAuthError> {
    let Some(token) = params.get("request") else {
        return Ok(params);
    };
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request and request_uri cannot be sent together",
        ));
    }
    let now = state.now();
    let claims: Map<String, Value> = state
        .client_assertions
        .verify_signed(client, token, now)
        .await
        .map_err(|unverified| match unverified {
            Unverified::NoKeys => invalid(
                "this client has no registered keys to sign request objects with (use private_key_jwt or client_secret_jwt)",
            ),
            Unverified::Signature => invalid("the request object's signature is invalid"),
            Unverified::KeysUnavailable => invalid("the client's jwks_uri could not be fetched"),
            Unverified::Internal(internal) => internal.into(),
        })?;
    check(&claims, &client.client_id, &state.settings.issuer, now)?;
    parameters(&claims, &client.client_id)
}

/// Fetches the request object a client's own `request_uri` refers to
/// (RFC 9101 §5.2), as its jwks_uri would be fetched: time- and
/// size-limited, no redirects, public addresses only. It is then unpacked
/// like one sent by value, so it must be signed by the client.
pub async fn fetch(state: &AppState, request_uri: &str) -> Result<String, OAuthError> {
    let unusable = || {
        OAuthError::new(
            ErrorCode::InvalidRequestUri,
            "the request_uri could not be fetched",
        )
    };
    if request_uri.len() > MAX_REQUEST_URI {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequestUri,
            "the request_uri is longer than 512 characters",
        ));
    }
    let text = state
        .outbound
        .fetch_text(request_uri, MAX_FETCHED_BYTES)
        .await
        .map_err(|detail| {
            tracing::warn!(request_uri, %detail, "cannot fetch a request_uri");
            unusable()
        })?;
    Ok(text.trim().to_owned())
}

/// Checks the claims about the JWT itself.
fn check(
    claims: &Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<(), OAuthError> {
    if claims.get("iss").and_then(Value::as_str) != Some(client_id) {
        return Err(invalid("the request object's iss must be the client id"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(one)) => one == issuer,
        Some(Value::Array(many)) => many.iter().any(|aud| aud.as_str() == Some(issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("the request object's aud must name this issuer"));
    }
    if claims
        .get("client_id")
        .is_some_and(|claimed| claimed.as_str() != Some(client_id))
    {
        return Err(invalid(
            "the request object's client_id differs from the request's",
        ));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the request object has no exp"))?;
    if exp.saturating_add(CLOCK_SKEW) <= now {
        return Err(invalid("the request object has expired"));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(invalid("the request object's exp is too far ahead"));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_i64()
            .ok_or_else(|| invalid("the request object's nbf is not a number"))?;
        if nbf > now.saturating_add(CLOCK_SKEW) {
            return Err(invalid("the request object is not valid yet"));
        }
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(invalid(
            "a request object cannot hold request or request_uri",
        ));
    }
    Ok(())
}

/// The request's parameters from the claims, form-encoded and parsed
/// again, so the limits on every parameter apply to them too. Strings
/// are taken as they are, numbers and booleans as their text, objects
/// (`claims`) as JSON.
fn parameters(claims: &Map<String, Value>, client_id: &str) -> Result<Params, OAuthError> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("client_id", client_id);
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) || name == "client_id" {
            continue;
        }
        match value {
            Value::String(text) => form.append_pair(name, text),
            Value::Number(number) => form.append_pair(name, &number.to_string()),
            Value::Bool(flag) => form.append_pair(name, if *flag { "true" } else { "false" }),
            Value::Object(_) => form.append_pair(name, &value.to_string()),
            // `resource` may repeat (RFC 8707): one value per item.
            Value::Array(items) if name == "resource" => {
                for item in items {
                    let item = item
                        .as_str()
                        .ok_or_else(|| invalid("each resource must be a string"))?;
                    form.append_pair(name, item);
                }
                &mut form
            }
            Value::Array(_) | Value::Null => {
                return Err(invalid(format!(
                    "the request object's {name} must be a string"
                )))
            }
        };
    }
    Params::parse(form.finish().as_bytes())
        .map_err(|error| invalid(format!("the request object's parameters: {error}")))
}

fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://id.example";
    const NOW: i64 = 1_000_000;

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims = json!({
            "iss": "app", "aud": ISSUER, "exp": NOW + 60,
            "response_type": "code", "scope": "openid", "max_age": 300,
            "claims": {"userinfo": {"email": null}},
            "resource": ["https://api.example", "https://other.example"],
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut claims, extra) {
            base.extend(extra);
        }
        match claims {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn refused(extra: Value) -> String {
        let error = check(&claims(extra), "app", ISSUER, NOW).expect_err("refused");
        assert_eq!(error.error, ErrorCode::InvalidRequestObject);
        error.error_description.into_owned()
    }

    #[test]
    fn the_jwt_claims_are_checked() {
        assert!(check(&claims(json!({})), "app", ISSUER, NOW).is_ok());
        assert!(check(&claims(json!({"aud": [ISSUER, "x"]})), "app", ISSUER, NOW).is_ok());
        assert!(refused(json!({"iss": "other"})).contains("iss"));
        assert!(refused(json!({"aud": "https://elsewhere.example"})).contains("aud"));
        assert!(refused(json!({"client_id": "other"})).contains("client_id"));
        assert!(refused(json!({"exp": NOW - 3600})).contains("expired"));
        assert!(refused(json!({"exp": NOW + 2 * MAX_LIFETIME})).contains("too far"));
        assert!(refused(json!({"nbf": NOW + 3600})).contains("not valid yet"));
        assert!(refused(json!({"request_uri": "urn:x"})).contains("cannot hold"));
        let mut no_exp = claims(json!({}));
        no_exp.remove("exp");
        assert!(check(&no_exp, "app", ISSUER, NOW).is_err());
    }

    #[test]
    fn claims_become_parameters() {
        let params = parameters(&claims(json!({"client_id": "app"})), "app").unwrap();
        assert_eq!(params.get("client_id"), Some("app"));
        assert_eq!(params.get("scope"), Some("openid"));
        assert_eq!(params.get("max_age"), Some("300"));
        assert_eq!(params.get("iss"), None);
        assert_eq!(params.get("exp"), None);
        assert_eq!(params.get("claims"), Some(r#"{"userinfo":{"email":null}}"#));
        assert_eq!(params.all("resource").len(), 2);
        assert!(parameters(&claims(json!({"scope": ["openid"]})), "app").is_err());
        assert!(parameters(&claims(json!({"state": "x".repeat(5000)})), "app").is_err());
    }
}
