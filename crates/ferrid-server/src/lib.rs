//! The ferrid authorization server: OAuth 2.0 and OpenID Connect endpoints
//! on actix-web.
//!
//! Protocol decisions live in plain functions (`authorize::request`,
//! `authorize::decide`, `client_auth`, `pkce`) that take their inputs and
//! the time; handlers in [`endpoints`] wire them to HTTP and the store.

pub mod access_log;
pub mod acr;
pub mod admin_auth;
pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod base_path;
pub mod bearer;
pub mod blocking;
pub mod branding;
pub mod caches;
pub mod client_assertion;
pub mod client_auth;
pub mod client_ip;
pub mod client_metadata;
pub mod console_session;
mod cookies;
pub mod dpop;
pub mod email_link;
pub mod endpoints;
pub mod error;
pub mod forms;
pub mod grants;
pub mod hint;
pub mod housekeeping;
pub mod http;
pub mod locale;
pub mod lockout;
pub mod login_flow;
pub mod mail;
pub mod maintenance;
pub mod metadata;
pub mod metrics;
pub mod mfa;
pub mod outbound;
pub mod passkeys;
pub mod password_pool;
pub mod paths;
pub mod pkce;
pub mod problem;
pub mod rate_limit;
pub mod request_id;
pub mod resources;
pub mod response_mode;
pub mod security;
pub mod session;
pub mod settings;
pub mod state;
pub mod subjects;
pub mod tls;
pub mod token_counter;
pub mod user_accounts;
pub mod user_claims;

use std::net::TcpListener;

use actix_web::middleware::{from_fn, DefaultHeaders};

use crate::base_path::BasePath;
use actix_web::{web, App, HttpServer};

pub use ferrid_service::{Clock, ManualClock, SystemClock};
pub use settings::Settings;
pub use state::AppState;

use crate::endpoints::{
    account, admin, authorize as authz, consent, console, health, introspect, login, login_mfa,
    login_passkey, logout, metadata as meta, password, revoke, token, userinfo,
};

/// Largest request body accepted (forms and token requests are small).
const MAX_BODY_BYTES: usize = 64 * 1024;

pub use http::CONTENT_SECURITY_POLICY;

/// Registers every route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route(paths::DISCOVERY, web::get().to(meta::discovery))
        .route(paths::DISCOVERY, web::head().to(meta::discovery))
        .route(paths::JWKS, web::get().to(meta::jwks))
        .route(paths::JWKS, web::head().to(meta::jwks))
        .route(paths::AUTHORIZE, web::get().to(authz::get))
        .route(paths::AUTHORIZE, web::post().to(authz::post))
        .route(paths::AUTHORIZE_CONTINUE, web::get().to(authz::resume))
        .route(paths::LOGIN, web::get().to(login::show))
        .route(paths::LOGIN, web::post().to(login::submit))
        .route(paths::LOGIN_MFA, web::get().to(login_mfa::show))
        .route(paths::LOGIN_MFA, web::post().to(login_mfa::submit))
        .route(
            paths::LOGIN_PASSKEY_OPTIONS,
            web::post().to(login_passkey::options),
        )
        .route(paths::LOGIN_PASSKEY, web::post().to(login_passkey::submit))
        .route(
            paths::ACCOUNT_PASSKEYS_OPTIONS,
            web::post().to(account::passkeys::options),
        )
        .route(
            paths::ACCOUNT_PASSKEYS,
            web::post().to(account::passkeys::register),
        )
        .route(
            paths::ACCOUNT_PASSKEYS_REMOVE,
            web::post().to(account::passkeys::remove),
        )
        .route(
            paths::PASSKEY_INVITATION,
            web::get().to(account::passkey_invitation::show),
        )
        .route(
            paths::PASSKEY_INVITATION,
            web::post().to(account::passkey_invitation::register),
        )
        .route(
            paths::PASSKEY_INVITATION_OPTIONS,
            web::post().to(account::passkey_invitation::options),
        )
        .route(paths::CONSENT, web::post().to(consent::submit))
        .route(paths::LOGOUT, web::get().to(logout::get))
        .route(paths::LOGOUT, web::post().to(logout::post))
        .route(paths::LOGOUT_CONFIRM, web::post().to(logout::confirm))
        .route(paths::SESSIONS, web::get().to(account::sessions::sessions))
        .route(paths::SESSIONS_END, web::post().to(account::sessions::end))
        .route(
            paths::ACCOUNT_SECURITY,
            web::get().to(account::security::show),
        )
        .route(
            paths::ACCOUNT_NOT_ME,
            web::get().to(account::not_me::confirm_page),
        )
        .route(
            paths::ACCOUNT_NOT_ME,
            web::post().to(account::not_me::revert),
        )
        .route(paths::ACCOUNT_TOTP, web::get().to(account::totp::enrol))
        .route(paths::ACCOUNT_TOTP, web::post().to(account::totp::confirm))
        .route(
            paths::ACCOUNT_RECOVERY_CODES,
            web::post().to(account::recovery_codes::regenerate_recovery_codes),
        )
        .route(
            paths::ACCOUNT_PASSWORD,
            web::post().to(account::password::change_password),
        )
        .route(
            paths::ACCOUNT_VERIFY_EMAIL,
            web::post().to(account::verify_email::send_verification),
        )
        .route(
            paths::PASSWORD_FORGOT,
            web::get().to(password::forgot::forgot_form),
        )
        .route(
            paths::PASSWORD_FORGOT,
            web::post().to(password::forgot::forgot),
        )
        .route(
            paths::PASSWORD_RESET,
            web::get().to(password::reset::reset_form),
        )
        .route(
            paths::PASSWORD_RESET,
            web::post().to(password::reset::reset),
        )
        .route(
            paths::VERIFY_EMAIL,
            web::get().to(account::verify_email::verify_form),
        )
        .route(
            paths::VERIFY_EMAIL,
            web::post().to(account::verify_email::verify),
        )
        .route(paths::TOKEN, web::post().to(token::token))
        .route(paths::PAR, web::post().to(endpoints::par::push))
        .route(
            paths::DEVICE_AUTHORIZATION,
            web::post().to(endpoints::device_authorization::start),
        )
        .route(paths::DEVICE, web::get().to(endpoints::device::show))
        .route(paths::DEVICE, web::post().to(endpoints::device::submit))
        .route(
            paths::REGISTER,
            web::post().to(endpoints::register::register),
        )
        .route(
            "/register/{client_id}",
            web::get().to(endpoints::register::read),
        )
        .route(
            "/register/{client_id}",
            web::put().to(endpoints::register::replace),
        )
        .route(
            "/register/{client_id}",
            web::delete().to(endpoints::register::delete),
        )
        .route(paths::INTROSPECT, web::post().to(introspect::introspect))
        .route(paths::REVOKE, web::post().to(revoke::revoke))
        .route(paths::USERINFO, web::get().to(userinfo::get))
        .route(paths::USERINFO, web::post().to(userinfo::post))
        .route(paths::HEALTH, web::get().to(health::health))
        .route(paths::HEALTH_LIVE, web::get().to(health::live))
        .route(paths::HEALTH_READY, web::get().to(health::ready));
    page_assets(config);
}

/// The styles, logo and script the pages load.
fn page_assets(config: &mut web::ServiceConfig) {
    use endpoints::{assets, console};
    config
        .route(
            ferrid_pages::STYLESHEET_PATH,
            web::get().to(assets::stylesheet),
        )
        .route(
            ferrid_pages::FORM_POST_SCRIPT_PATH,
            web::get().to(assets::form_post_script),
        )
        .route(
            ferrid_pages::PASSKEYS_SCRIPT_PATH,
            web::get().to(assets::passkeys_script),
        )
        .route(
            paths::BRANDING_STYLESHEET,
            web::get().to(console::branding::stylesheet),
        )
        .route(paths::BRANDING_LOGO, web::get().to(console::branding::logo));
}

/// The admin console's pages, under [`paths::CONSOLE`].
pub fn console_routes(config: &mut web::ServiceConfig) {
    use console::{apis, audit, branding, clients, dashboard, groups, keys, sign_in, users};
    config
        .route(paths::CONSOLE, web::get().to(dashboard::show))
        .route(paths::CONSOLE_SIGN_IN, web::get().to(sign_in::start))
        .route(paths::CONSOLE_CALLBACK, web::get().to(sign_in::callback))
        .route(paths::CONSOLE_SIGN_OUT, web::post().to(sign_in::sign_out))
        .route("/admin/clients", web::get().to(clients::list))
        .route("/admin/clients/new", web::get().to(clients::new_form))
        .route("/admin/clients/new", web::post().to(clients::create))
        .route("/admin/clients/{client_id}", web::get().to(clients::show))
        .route(
            "/admin/clients/{client_id}/edit",
            web::get().to(clients::edit_form),
        )
        .route(
            "/admin/clients/{client_id}/edit",
            web::post().to(clients::edit),
        )
        .route(
            "/admin/clients/{client_id}/rotate-secret",
            web::post().to(clients::rotate_secret),
        )
        .route(
            "/admin/clients/{client_id}/disable",
            web::post().to(clients::disable),
        )
        .route(
            "/admin/clients/{client_id}/enable",
            web::post().to(clients::enable),
        )
        .route(
            "/admin/clients/{client_id}/delete",
            web::post().to(clients::delete),
        )
        .route("/admin/apis", web::get().to(apis::list))
        .route("/admin/apis", web::post().to(apis::create))
        .route("/admin/apis/edit", web::get().to(apis::edit_form))
        .route("/admin/apis/edit", web::post().to(apis::edit))
        .route("/admin/apis/delete", web::post().to(apis::delete))
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users/invite", web::post().to(users::invite))
        .route(
            "/admin/users/admin-passkeys",
            web::post().to(users::admin_passkeys),
        )
        .route("/admin/users/{user_id}", web::get().to(users::show))
        .route(
            "/admin/users/{user_id}/profile",
            web::post().to(users::profile),
        )
        .route(
            "/admin/users/{user_id}/end-sessions",
            web::post().to(users::end_sessions),
        )
        .route(
            "/admin/users/{user_id}/unlock",
            web::post().to(users::unlock),
        )
        .route(
            "/admin/users/{user_id}/reset-mfa",
            web::post().to(users::reset_mfa),
        )
        .route(
            "/admin/users/{user_id}/passkeys/remove",
            web::post().to(users::remove_passkey),
        )
        .route(
            "/admin/users/{user_id}/require-password-reset",
            web::post().to(users::require_password_reset),
        )
        .route(
            "/admin/users/{user_id}/admin-role",
            web::post().to(users::admin_role),
        )
        .route(
            "/admin/users/{user_id}/disable",
            web::post().to(users::disable),
        )
        .route(
            "/admin/users/{user_id}/groups",
            web::post().to(users::set_groups),
        )
        .route("/admin/groups", web::get().to(groups::list))
        .route("/admin/groups", web::post().to(groups::create))
        .route("/admin/groups/members", web::post().to(groups::members))
        .route("/admin/groups/delete", web::post().to(groups::delete))
        .route("/admin/roles", web::post().to(groups::roles))
        .route("/admin/keys", web::get().to(keys::list))
        .route("/admin/keys/rotate", web::post().to(keys::rotate))
        .route("/admin/keys/revoke", web::post().to(keys::revoke))
        .route("/admin/audit", web::get().to(audit::list))
        .route("/admin/audit/export.csv", web::get().to(audit::export_csv))
        .route(
            "/admin/audit/export.json",
            web::get().to(audit::export_json),
        )
        .route("/admin/branding", web::get().to(branding::show))
        .route("/admin/branding", web::post().to(branding::save))
        .route("/admin/branding/preview", web::get().to(branding::preview));
}

/// The admin API, under [`paths::ADMIN_API`].
pub fn admin_api(config: &mut web::ServiceConfig) {
    config.service(web::scope(paths::ADMIN_API).configure(admin_routes));
}

/// The admin API's routes.
fn admin_routes(config: &mut web::ServiceConfig) {
    use admin::{apis, audit, clients, groups, keys, openapi, policies, users};
    config
        .route("/openapi.json", web::get().to(openapi::serve))
        .route("/clients", web::get().to(clients::list))
        .route("/clients", web::post().to(clients::create))
        .route("/clients/{client_id}", web::get().to(clients::show))
        .route("/clients/{client_id}", web::patch().to(clients::update))
        .route("/clients/{client_id}", web::delete().to(clients::delete))
        .route(
            "/clients/{client_id}/rotate-secret",
            web::post().to(clients::rotate_secret),
        )
        .route("/users", web::get().to(users::list))
        .route("/users", web::post().to(users::create))
        .route("/users/{user_id}", web::get().to(users::show))
        .route("/users/{user_id}", web::patch().to(users::update))
        .route("/users/{user_id}/unlock", web::post().to(users::unlock))
        .route(
            "/users/{user_id}/reset-mfa",
            web::post().to(users::reset_mfa),
        )
        .route("/users/{user_id}/sessions", web::get().to(users::sessions))
        .route("/users/{user_id}/passkeys", web::get().to(users::passkeys))
        .route(
            "/users/{user_id}/passkeys/{passkey_id}",
            web::delete().to(users::remove_passkey),
        )
        .route(
            "/users/{user_id}/sessions",
            web::delete().to(users::end_sessions),
        )
        .route("/policies/admin-passkeys", web::get().to(policies::show))
        .route("/policies/admin-passkeys", web::put().to(policies::set))
        .route("/keys", web::get().to(keys::list))
        .route("/keys/rotate", web::post().to(keys::rotate))
        .route("/keys/{kid}/revoke", web::post().to(keys::revoke))
        .route("/audit", web::get().to(audit::list))
        .route("/apis", web::get().to(apis::list))
        .route("/apis", web::post().to(apis::create))
        .route("/apis/{identifier:.+}", web::get().to(apis::show))
        .route("/apis/{identifier:.+}", web::patch().to(apis::update))
        .route("/apis/{identifier:.+}", web::delete().to(apis::delete))
        .route("/groups", web::get().to(groups::list))
        .route("/groups", web::post().to(groups::create))
        .route("/groups/{name}", web::delete().to(groups::delete))
        .route(
            "/groups/{name}/members/{username}",
            web::put().to(groups::add_member),
        )
        .route(
            "/groups/{name}/members/{username}",
            web::delete().to(groups::remove_member),
        )
        .route("/roles", web::get().to(groups::grants))
        .route("/roles/grant", web::post().to(groups::grant))
        .route("/roles/revoke", web::post().to(groups::revoke));
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The protocol endpoints and pages, with the admin API unless it has
    /// its own listener.
    Main,
    /// Only the admin API and console (`admin_bind`).
    Admin,
}

/// Builds the server on an already-bound listener: HTTPS when `tls` is
/// given, plain HTTP otherwise (e.g. behind a TLS-terminating proxy).
pub fn http_server(
    state: AppState,
    listener: TcpListener,
    workers: usize,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<actix_web::dev::Server> {
    serve(state, listener, workers, tls, Surface::Main)
}

/// Builds the admin API's own server (`admin_bind`), with the same
/// headers, limits and logging as the main one.
pub fn admin_http_server(
    state: AppState,
    listener: TcpListener,
    workers: usize,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<actix_web::dev::Server> {
    serve(state, listener, workers, tls, Surface::Admin)
}

/// Blocking threads each HTTP worker may start. Nearly all blocking work
/// is database work, which cannot run on more threads than the pool has
/// connections (the rest would only wait for one, each thread with its
/// stack and allocator arena: actix's default of 512 per worker let a
/// load of 32 connections start 36 threads); the few spare ones keep
/// mail and key operations from queueing behind it.
fn blocking_threads(max_connections: u32) -> usize {
    usize::try_from(max_connections)
        .unwrap_or(usize::MAX)
        .saturating_add(4)
}

fn serve(
    state: AppState,
    listener: TcpListener,
    workers: usize,
    tls: Option<rustls::ServerConfig>,
    surface: Surface,
) -> std::io::Result<actix_web::dev::Server> {
    let with_admin = surface == Surface::Admin || !state.settings.admin_on_own_listener;
    // Before the first request, so nothing is counted into the void.
    let _ = metrics::install();
    let shutdown_timeout = state.settings.shutdown_timeout;
    let base = match surface {
        Surface::Main => state.settings.base_path.clone(),
        Surface::Admin => String::new(),
    };
    let hsts = state.settings.security.hsts_max_age.map(tls::hsts);
    let blocking_threads = blocking_threads(state.store.settings().max_connections);
    let rate_limiter = web::Data::from(state.rate_limiter.clone());
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        let mut headers = DefaultHeaders::new()
            .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            .add(("X-Frame-Options", "DENY"))
            .add(("X-Content-Type-Options", "nosniff"))
            .add(("Referrer-Policy", "no-referrer"));
        if let Some(hsts) = &hsts {
            headers = headers.add(("Strict-Transport-Security", hsts.clone()));
        }
        let app = App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(rate_limiter.clone())
            .wrap(from_fn(rate_limit::middleware))
            .wrap(from_fn(locale::middleware))
            .wrap(headers)
            // Outermost: every log line of the request carries its id,
            // and the access line sees the final status.
            .wrap(from_fn(access_log::middleware))
            .app_data(web::Data::new(BasePath(base.clone())));
        let configure = move |config: &mut web::ServiceConfig| {
            if surface == Surface::Main {
                routes(config);
            } else {
                // The console's pages (and its preview of the sign-in
                // page) need their styles here too.
                page_assets(config);
                // Only here: the admin listener is meant for a private
                // interface, and metrics describe the deployment to
                // anyone who can read them.
                config.route(paths::METRICS, web::get().to(endpoints::metrics::metrics));
            }
            if with_admin {
                // The API's scope first: it is the longer prefix.
                admin_api(config);
                console_routes(config);
            }
        };
        // Under an issuer with a path, everything is served beneath it.
        if base.is_empty() {
            app.configure(configure)
        } else {
            app.service(web::scope(&base).configure(configure))
        }
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking_threads)
    .shutdown_timeout(shutdown_timeout);
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}
