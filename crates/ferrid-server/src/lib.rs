//! The ferrid authorization server: OAuth 2.0 and OpenID Connect endpoints
//! on actix-web.
//!
//! Protocol decisions live in plain functions (`authorize::request`,
//! `authorize::decide`, `client_auth`, `pkce`) that take their inputs and
//! the time; handlers in [`endpoints`] wire them to HTTP and the store.

pub mod accounts;
pub mod authorize;
pub mod backchannel;
pub mod caches;
pub mod client_assertion;
pub mod client_auth;
pub mod clock;
mod cookies;
pub mod endpoints;
pub mod error;
pub mod forms;
pub mod grants;
pub mod hint;
pub mod housekeeping;
pub mod http;
pub mod keys;
pub mod maintenance;
pub mod metadata;
pub mod password_pool;
pub mod pkce;
pub mod registration;
pub mod scopes;
pub mod session;
pub mod settings;
pub mod state;

use std::net::TcpListener;

use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};

pub use clock::{Clock, ManualClock, SystemClock};
pub use settings::Settings;
pub use state::AppState;

use crate::endpoints::{
    account, assets, authorize as authz, consent, health, introspect, login, logout,
    metadata as meta, revoke, token, userinfo,
};
use crate::metadata::paths;

/// Largest request body accepted (forms and token requests are small).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Content-Security-Policy of every response: no script at all, styles
/// only from this origin, and no framing (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(paths::DISCOVERY, web::get().to(meta::discovery))
        .route(paths::JWKS, web::get().to(meta::jwks))
        .route(paths::AUTHORIZE, web::get().to(authz::get))
        .route(paths::AUTHORIZE, web::post().to(authz::post))
        .route(paths::AUTHORIZE_CONTINUE, web::get().to(authz::resume))
        .route(paths::LOGIN, web::get().to(login::show))
        .route(paths::LOGIN, web::post().to(login::submit))
        .route(paths::CONSENT, web::post().to(consent::submit))
        .route(paths::LOGOUT, web::get().to(logout::get))
        .route(paths::LOGOUT, web::post().to(logout::post))
        .route(paths::LOGOUT_CONFIRM, web::post().to(logout::confirm))
        .route(paths::SESSIONS, web::get().to(account::sessions))
        .route(paths::SESSIONS_END, web::post().to(account::end))
        .route(paths::TOKEN, web::post().to(token::token))
        .route(paths::INTROSPECT, web::post().to(introspect::introspect))
        .route(paths::REVOKE, web::post().to(revoke::revoke))
        .route(paths::USERINFO, web::get().to(userinfo::get))
        .route(paths::USERINFO, web::post().to(userinfo::post))
        .route(paths::HEALTH, web::get().to(health::health))
        .route(
            ferrid_pages::STYLESHEET_PATH,
            web::get().to(assets::stylesheet),
        );
}

/// Builds the HTTP server on an already-bound listener.
pub fn http_server(
    state: AppState,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "no-referrer")),
            )
            // The path only: query strings can carry values that do not
            // belong in logs.
            .wrap(Logger::new("%a \"%U\" %s %b %Dms"))
            .configure(routes)
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}
