//! `GET|POST /userinfo` (OIDC Core §5.3): claims about the user, by the
//! scopes of the bearer access token (RFC 6750).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::bearer::{verify_access_token, Verified};
use crate::dpop;
use crate::error::{BearerError, ErrorCode, OAuthError};
use crate::http::{is_form, Params};
use crate::paths;
use crate::state::AppState;
use crate::user_claims;
use ferrid_service::scopes::{self, Scope};

/// `GET /userinfo`.
pub async fn get(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, BearerError> {
    respond(&state, &http, token_from_header(&http)).await
}

/// `POST /userinfo`: the token in the header or, as a form, in the body
/// (RFC 6750 §2.2), but not both.
pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, BearerError> {
    let in_header = token_from_header(&http);
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
        (Ok(None), Some(token)) => Ok(Some(Presented {
            token,
            scheme: Scheme::Bearer,
        })),
        (header_token, _) => header_token,
    };
    respond(&state, &http, token).await
}

/// How the token was presented: as a bearer token (RFC 6750) or bound to
/// a key whose proof comes with it (RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// An access token as the request presented it.
struct Presented {
    token: String,
    scheme: Scheme,
}

/// The token of the `Authorization` header, if any.
fn token_from_header(http: &HttpRequest) -> Result<Option<Presented>, OAuthError> {
    let Some(value) = http.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or_default();
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(OAuthError::invalid_request(
            "the Authorization header must use the Bearer or DPoP scheme",
        ));
    };
    match token.trim() {
        "" => Err(OAuthError::invalid_request(
            "the Authorization header has no token",
        )),
        token => Ok(Some(Presented {
            token: token.to_owned(),
            scheme,
        })),
    }
}

async fn respond(
    state: &AppState,
    http: &HttpRequest,
    token: Result<Option<Presented>, OAuthError>,
) -> Result<HttpResponse, BearerError> {
    let Some(presented) = token? else {
        // RFC 6750 §3.1: no error code when the request had no token.
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"ferrid\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    };
    let claims = claims_for(state, http, &presented).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims))
}

async fn claims_for(
    state: &AppState,
    http: &HttpRequest,
    presented: &Presented,
) -> Result<Map<String, Value>, OAuthError> {
    let invalid = |description: &'static str| OAuthError::new(ErrorCode::InvalidToken, description);
    let token = presented.token.as_str();
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
    check_binding(state, http, presented, access.cnf.as_ref()).await?;
    let granted = scopes::split(&access.scope);
    if !granted.iter().any(|scope| scope == scopes::OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token lacks the openid scope",
        ));
    }
    let wants_groups = scopes::contains(&granted, scopes::GROUPS);
    let (jti, gid) = (access.jti.clone(), access.gid.clone());
    let (user, groups) = state
        .db(move |store| {
            if store.is_access_token_revoked(&jti, gid.as_deref())? {
                return Ok(None);
            }
            // The user is the grant's: `sub` may be pairwise. Only user
            // tokens have a grant (and openid).
            let Some(user) = gid
                .map(|gid| store.user_of_grant(&gid))
                .transpose()?
                .flatten()
                .filter(|user| !user.disabled)
            else {
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
    // The same `sub` as the client's ID tokens (OIDC Core §5.3.2).
    claims.insert("sub".into(), json!(access.sub));
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

/// A key-bound token needs the DPoP scheme and a proof made with its key
/// for this request; a bearer token must not claim the DPoP scheme
/// (RFC 9449 §7).
async fn check_binding(
    state: &AppState,
    http: &HttpRequest,
    presented: &Presented,
    cnf: Option<&Value>,
) -> Result<(), OAuthError> {
    let bound_to = cnf.and_then(|cnf| cnf.get("jkt")).and_then(Value::as_str);
    match (bound_to, presented.scheme) {
        (None, Scheme::Bearer) => Ok(()),
        (None, Scheme::Dpop) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is not bound to a key: use the Bearer scheme",
        )),
        (Some(_), Scheme::Bearer) => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is bound to a key: use the DPoP scheme with a proof",
        )),
        (Some(jkt), Scheme::Dpop) => {
            let url = state.settings.endpoint(paths::USERINFO);
            match dpop::check(state, http, &url, Some(&presented.token)).await? {
                Some(proven) if proven.jkt == jkt => Ok(()),
                Some(_) => Err(dpop::invalid_proof(
                    "the DPoP proof was made with another key than the token's",
                )),
                None => Err(dpop::invalid_proof("a DPoP-bound token needs a DPoP proof")),
            }
        }
    }
}
