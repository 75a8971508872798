//! `GET /.well-known/openid-configuration` and `GET /jwks`, served from
//! memory: no database query and no allocation but the response itself.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

/// The discovery document.
pub async fn discovery(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    state.published().metadata.discovery.respond(&http)
}

/// The JSON Web Key Set.
pub async fn jwks(state: web::Data<AppState>, http: HttpRequest) -> HttpResponse {
    state.published().metadata.jwks.respond(&http)
}
