//! `GET|POST /userinfo` (OIDC Core §5.3): claims about the user, by the
//! scopes of the bearer access token (RFC 6750).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::bearer::{verify_access_token, Verified};
use crate::error::{BearerError, ErrorCode, OAuthError};
use crate::http::{is_form, Params};
use crate::state::AppState;
use crate::user_claims;
use ferrid_service::scopes::{self, Scope};

/// `GET /userinfo`.
pub async fn get(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, BearerError> {
    respond(&state, bearer_from_header(&http)).await
}

/// `POST /userinfo`: the token in the header or, as a form, in the body
/// (RFC 6750 §2.2), but not both.
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, BearerError> {
    let in_header = bearer_from_header(&http);
    let in_body = if is_form(&http) {
        match Params::parse(&body) {
            Ok(params) => params.get("access_token").map(str::to_owned),
            Err(error) => return Err(OAuthError::invalid_request(error.to_string()).into()),
        }
    } else {
        None
    };
    let token = match (in_header, in_body) {
        (Ok(Some(_)), Some(_)) => {
            return Err(
                OAuthError::invalid_request("send the access token in one place only").into(),
            )
        }
        (Ok(None), Some(token)) => Ok(Some(token)),
        (header_token, _) => header_token,
    };
    respond(&state, token).await
}

/// The bearer token of the `Authorization` header, if any.
fn bearer_from_header(http: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let Some(value) = http.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match value.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::invalid_request(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

async fn respond(
    state: &AppState,
    token: Result<Option<String>, OAuthError>,
) -> Result<HttpResponse, BearerError> {
    let Some(token) = token? else {
        // RFC 6750 §3.1: no error code when the request had no token.
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"ferrid\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    };
    let claims = claims_for(state, &token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims))
}

async fn claims_for(state: &AppState, token: &str) -> Result<Map<String, Value>, OAuthError> {
    let invalid = |description: &'static str| OAuthError::new(ErrorCode::InvalidToken, description);
    // One signature check (cached across requests), then one trip to the
    // database for revocation, the user and their groups together.
    let access = match verify_access_token(state, token) {
        Verified::Current(claims) => claims,
        Verified::Expired => return Err(invalid("the access token has expired")),
        Verified::Invalid => return Err(invalid("the access token is invalid")),
    };
    // A token for an API is not also for UserInfo unless it names this
    // server too (RFC 9068 §4: audience restriction).
    if !access.aud.contains(&state.settings.issuer) {
        return Err(invalid("the access token is not for this server"));
    }
    let granted = scopes::split(&access.scope);
    if !granted.iter().any(|scope| scope == scopes::OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ));
    }
    let wants_groups = scopes::contains(&granted, scopes::GROUPS);
    let (jti, gid, user_id) = (access.jti.clone(), access.gid.clone(), access.sub.clone());
    let (user, groups) = state
        .db(move |store| {
            if store.is_access_token_revoked(&jti, gid.as_deref())? {
                return Ok(None);
            }
            let Some(user) = store.find_user(&user_id)?.filter(|user| !user.disabled) else {
                return Ok(None);
            };
            let groups = if wants_groups {
                Some(store.groups_of_user(&user.id)?)
            } else {
                None
            };
            Ok(Some((user, groups)))
        })
        .await?
        .ok_or_else(|| invalid("the access token is invalid"))?;

    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    for scope in [Scope::Profile, Scope::Email] {
        if scopes::contains(&granted, scope.as_str()) {
            claims.extend(user_claims::of_user(&user, user_claims::of_scope(scope)));
        }
    }
    if let Some(groups) = groups {
        claims.insert("groups".into(), json!(groups));
    }
    Ok(claims)
}
