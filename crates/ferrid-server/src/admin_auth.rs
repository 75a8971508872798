//! Who may call the admin API: the bearer of an access token ferrid
//! issued for it (`aud` is the admin API's URL), with
//! `ferrid:admin.read` to read and `ferrid:admin.write` to change. A
//! token from a service client (client credentials) is enough as it is;
//! a token on behalf of a user also needs that user to hold the `admin`
//! role (or `auditor`, to read), checked on every request so a role taken
//! away takes effect at once.

use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use ferrid_service::scopes;
use ferrid_service::users::AdminRole;

use crate::bearer::active_access_token;
use crate::paths;
use crate::problem::Problem;
use crate::state::AppState;

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads.
    Read,
    /// Changes something.
    Write,
}

/// The caller, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The user's id, or `client:ID` for a service client.
    pub actor: String,
}

fn unauthorized(detail: &str) -> Problem {
    Problem {
        challenge: Some(format!(
            "Bearer error=\"invalid_token\", error_description=\"{detail}\""
        )),
        ..Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }
}

fn forbidden(scope: &str, detail: &str) -> Problem {
    Problem {
        challenge: Some(format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
        )),
        ..Problem::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }
}

/// Checks the request's bearer token for `access`.
pub async fn authorize(
    state: &AppState,
    http: &HttpRequest,
    access: Access,
) -> Result<Admin, Problem> {
    let authorization = http
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let (token, dpop_scheme) = match authorization {
        Some(value) if value.starts_with("Bearer ") => (value.strip_prefix("Bearer "), false),
        Some(value) if value.starts_with("DPoP ") => (value.strip_prefix("DPoP "), true),
        _ => (None, false),
    };
    let Some(token) = token else {
        return Err(Problem {
            challenge: Some("Bearer".to_owned()),
            ..Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "an access token for the admin API is required",
            )
        });
    };
    let token = token.trim();
    let claims = active_access_token(state, token)
        .await?
        .ok_or_else(|| unauthorized("the access token is invalid or expired"))?;
    // A token bound to a key (RFC 9449) works only with a proof made with
    // that key for this request; a bearer token never claims the DPoP scheme.
    let bound_to = claims
        .cnf
        .as_ref()
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(serde_json::Value::as_str);
    match (bound_to, dpop_scheme) {
        (None, false) => {}
        (None, true) => return Err(unauthorized("the access token is not bound to a key")),
        (Some(_), false) => {
            return Err(unauthorized(
                "the access token is bound to a key: use the DPoP scheme with a proof",
            ))
        }
        (Some(jkt), true) => {
            let url = format!("{}{}", state.settings.issuer, http.path());
            let proven = crate::dpop::check(state, http, &url, Some(token))
                .await
                .map_err(|error| Problem {
                    challenge: Some(format!("DPoP error=\"{}\"", error.error.as_str())),
                    dpop_nonce: error.dpop_nonce.clone(),
                    ..Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        error.error_description,
                    )
                })?;
            if proven.is_none_or(|proven| proven.jkt != jkt) {
                return Err(unauthorized(
                    "the DPoP proof is missing or made with another key",
                ));
            }
        }
    }
    if !claims
        .aud
        .contains(&state.settings.endpoint(paths::ADMIN_API))
    {
        return Err(unauthorized("the access token is not for the admin API"));
    }
    let needed = match access {
        Access::Read => scopes::ADMIN_READ,
        Access::Write => scopes::ADMIN_WRITE,
    };
    let granted = scopes::split(&claims.scope);
    // Write access includes reading.
    let allowed = scopes::contains(&granted, needed)
        || (access == Access::Read && scopes::contains(&granted, scopes::ADMIN_WRITE));
    if !allowed {
        return Err(forbidden(
            needed,
            "the access token lacks the scope this needs",
        ));
    }
    // A user's token: the user must still hold a role that allows it.
    if let Some(gid) = claims.gid.clone() {
        // The grant's user: `sub` may be pairwise.
        let user = state
            .db(move |store| store.user_of_grant(&gid))
            .await?
            .filter(|user| !user.disabled)
            .ok_or_else(|| unauthorized("the user is no longer active"))?;
        let role = user.admin_role.as_deref().and_then(AdminRole::parse);
        let permitted = match (role, access) {
            (Some(role), Access::Write) => role.may_write(),
            (Some(_), Access::Read) => true,
            (None, _) => false,
        };
        if !permitted {
            return Err(forbidden(
                needed,
                "this user may not do this in ferrid's administration",
            ));
        }
        return Ok(Admin { actor: user.id });
    }
    Ok(Admin {
        actor: format!("client:{}", claims.client_id),
    })
}
