//! `GET /.well-known/openid-configuration` and `GET /jwks`, served from
//! memory.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

/// The discovery document.
pub async fn discovery(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    state.metadata.discovery.respond(&http)
}

/// The JSON Web Key Set.
pub async fn jwks(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    state.metadata.jwks.respond(&http)
}
