//! `GET /health`: for load balancers. Healthy means the database answers.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// 200 when the database answers, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (mut response, status) = match state.db(|store| store.ping()).await {
        Ok(()) => (HttpResponse::Ok(), "ok"),
        Err(_) => (HttpResponse::ServiceUnavailable(), "unavailable"),
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": status }))
}
