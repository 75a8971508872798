//! `GET /admin/api/v1/openapi.json`: the admin API described in OpenAPI
//! 3.1, generated from the handlers' annotations, so the document cannot
//! drift from the routes. A snapshot test keeps every change to it a
//! visible diff (`docs/admin-openapi.json`).

use actix_web::http::header;
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::endpoints::admin::{apis, audit, clients, groups, keys, policies, users};

/// Declares the bearer scheme the paths refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token ferrid issued for the admin API (aud ISSUER/admin/api/v1) with ferrid:admin.read or ferrid:admin.write",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrid admin API",
        version = "1",
        description = "Everything an administrator does, over HTTP. Errors are RFC 9457 problem details (application/problem+json); changes to a resource need its ETag in If-Match; lists are paged by key."
    ),
    paths(
        clients::list, clients::create, clients::show, clients::update, clients::delete,
        clients::rotate_secret,
        apis::list, apis::create, apis::show, apis::update, apis::delete,
        groups::list, groups::create, groups::delete, groups::add_member, groups::remove_member,
        groups::grants, groups::grant, groups::revoke,
        users::list, users::create, users::show, users::update, users::unlock, users::reset_mfa,
        users::sessions, users::end_sessions, users::passkeys, users::remove_passkey,
        keys::list, keys::rotate, keys::revoke,
        audit::list,
        policies::show, policies::set,
    ),
    modifiers(&BearerScheme)
)]
pub struct AdminApiDoc;

/// The document, as served.
pub fn document() -> String {
    AdminApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /admin/api/v1/openapi.json` (no token needed: it describes the
/// API, it holds no data).
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(document())
}
