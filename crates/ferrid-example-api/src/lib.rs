//! An example API (resource server) protected by ferrid access tokens:
//! the orders API of a shop. `GET /orders` needs the `orders:read` scope;
//! `POST /orders` needs `orders:write` and the `clerk` role;
//! `POST /orders/refunds` moves money, so it also needs a user who signed
//! in with a passkey (`acr` `phr` or `phrh`). Tokens are
//! checked locally against ferrid's published keys ([`token`], [`keys`]);
//! no call to ferrid per request. See `docs/resource-servers.md`.
//!
//! Run it beside ferrid with `cargo run -p ferrid-example-api`
//! (`ISSUER`, `API_IDENTIFIER` and `BIND` in the environment).

pub mod dpop;
pub mod keys;
pub mod token;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;

use crate::token::{Claims, Validator};

/// What a route needs of the caller.
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    /// A scope that must have been granted.
    pub scope: &'static str,
    /// A role the subject must hold, if any.
    pub role: Option<&'static str>,
    /// Whether the user must have signed in with a passkey (phishing-
    /// resistant: `acr` `phr` or `phrh`).
    pub phishing_resistant: bool,
}

/// `GET /orders`.
pub const READ_ORDERS: Requirement = Requirement {
    scope: "orders:read",
    role: None,
    phishing_resistant: false,
};
/// `POST /orders`.
pub const WRITE_ORDERS: Requirement = Requirement {
    scope: "orders:write",
    role: Some("clerk"),
    phishing_resistant: false,
};
/// `POST /orders/refunds`.
pub const REFUND_ORDERS: Requirement = Requirement {
    scope: "orders:write",
    role: Some("clerk"),
    phishing_resistant: true,
};

/// The claims of the request's access token if it meets `requirement`,
/// or the RFC 6750 §3 (or RFC 9449 §7.1) error response. A token bound to
/// a key (DPoP) must come with the `DPoP` scheme and a proof.
pub async fn authorize(
    validator: &Validator,
    request: &HttpRequest,
    requirement: Requirement,
) -> Result<Claims, HttpResponse> {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (scheme, token) = if let Some(token) = authorization.strip_prefix("Bearer ") {
        ("Bearer", token.trim())
    } else if let Some(token) = authorization.strip_prefix("DPoP ") {
        ("DPoP", token.trim())
    } else {
        // No token: a challenge without an error code (RFC 6750 §3.1).
        return Err(challenge(StatusCode::UNAUTHORIZED, "Bearer".into()));
    };
    let refuse = |scheme: &str, error: &str, why: &str| {
        challenge(
            StatusCode::UNAUTHORIZED,
            format!(
                "{scheme} error=\"{error}\", error_description=\"{}\"",
                why.replace(['"', '\\'], "'")
            ),
        )
    };
    let claims = validator
        .validate(token)
        .await
        .map_err(|invalid| refuse(scheme, "invalid_token", &invalid.0))?;
    match (&claims.cnf, scheme) {
        (None, "Bearer") => {}
        (None, _) => {
            return Err(refuse(
                "Bearer",
                "invalid_token",
                "the token is not DPoP-bound",
            ))
        }
        (Some(_), "Bearer") => {
            return Err(refuse(
                "DPoP",
                "invalid_token",
                "the token is DPoP-bound: use the DPoP scheme",
            ))
        }
        (Some(cnf), _) => {
            let proof = request
                .headers()
                .get("DPoP")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            // The URL the client called, as this service is reached.
            let url = format!("{}{}", validator.public_url, request.path());
            validator
                .proofs
                .check(proof, request.method().as_str(), &url, token, &cnf.jkt)
                .map_err(|why| refuse("DPoP", "invalid_dpop_proof", &why))?;
        }
    }
    let has_role = requirement.role.is_none_or(|role| claims.has_role(role));
    if !claims.has_scope(requirement.scope) || !has_role {
        return Err(challenge(
            StatusCode::FORBIDDEN,
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                requirement.scope
            ),
        ));
    }
    // RFC 9470: the client sends the user back to sign in as asked.
    let passkey = matches!(claims.acr.as_deref(), Some("phr" | "phrh"));
    if requirement.phishing_resistant && !passkey {
        return Err(challenge(
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"insufficient_user_authentication\", error_description=\"sign in with a passkey\", acr_values=\"phr\"".into(),
        ));
    }
    Ok(claims)
}

fn challenge(status: StatusCode, value: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.insert_header((header::WWW_AUTHENTICATE, value));
    }
    response.finish()
}

async fn list_orders(validator: web::Data<Validator>, request: HttpRequest) -> HttpResponse {
    match authorize(&validator, &request, READ_ORDERS).await {
        Ok(claims) => HttpResponse::Ok().json(json!({
            "orders": [{"id": 1, "item": "tea"}],
            "for": claims.sub,
            "client_id": claims.client_id,
        })),
        Err(refusal) => refusal,
    }
}

async fn create_order(validator: web::Data<Validator>, request: HttpRequest) -> HttpResponse {
    match authorize(&validator, &request, WRITE_ORDERS).await {
        Ok(claims) => HttpResponse::Created().json(json!({ "id": 2, "by": claims.sub })),
        Err(refusal) => refusal,
    }
}

async fn refund_order(validator: web::Data<Validator>, request: HttpRequest) -> HttpResponse {
    match authorize(&validator, &request, REFUND_ORDERS).await {
        Ok(claims) => HttpResponse::Created().json(json!({ "refund": 1, "by": claims.sub })),
        Err(refusal) => refusal,
    }
}

/// The API's routes, for `validator`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/orders", web::get().to(list_orders));
    config.route("/orders", web::post().to(create_order));
    config.route("/orders/refunds", web::post().to(refund_order));
}

/// Serves the API on `listener`.
pub fn serve(listener: TcpListener, validator: Validator) -> std::io::Result<Server> {
    let validator = web::Data::new(validator);
    Ok(
        HttpServer::new(move || App::new().app_data(validator.clone()).configure(routes))
            .workers(1)
            .listen(listener)?
            .run(),
    )
}

/// The `jwks_uri` of ferrid at `issuer`, from its discovery document.
pub async fn jwks_uri(http: &reqwest::Client, issuer: &str) -> anyhow::Result<String> {
    let discovery: serde_json::Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if discovery["issuer"] != issuer {
        anyhow::bail!("the discovery document names another issuer");
    }
    discovery["jwks_uri"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the discovery document has no jwks_uri"))
}
