//! Endpoint paths, relative to the issuer.

/// Discovery document.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// JWKS.
pub const JWKS: &str = "/jwks";
/// Authorization endpoint.
pub const AUTHORIZE: &str = "/authorize";
/// Where the browser resumes a pending authorization request.
pub const AUTHORIZE_CONTINUE: &str = "/authorize/continue";
/// Token endpoint.
pub const TOKEN: &str = "/token";
/// Pushed authorization requests (RFC 9126).
pub const PAR: &str = "/par";
/// Device authorization endpoint (RFC 8628 §3.1).
pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
/// Where a user types a device's user code (RFC 8628 §3.3).
pub const DEVICE: &str = "/device";
/// Dynamic client registration (RFC 7591); `/register/{client_id}` is
/// each client's own (RFC 7592).
pub const REGISTER: &str = "/register";
/// UserInfo endpoint.
pub const USERINFO: &str = "/userinfo";
/// Token introspection (RFC 7662).
pub const INTROSPECT: &str = "/introspect";
/// Token revocation (RFC 7009).
pub const REVOKE: &str = "/revoke";
/// Login page.
pub const LOGIN: &str = "/login";
/// Consent page.
pub const CONSENT: &str = "/consent";
/// End-session endpoint (RP-Initiated Logout).
pub const LOGOUT: &str = "/logout";
/// Where the logout confirmation form posts.
pub const LOGOUT_CONFIRM: &str = "/logout/confirm";
/// The user's sessions.
pub const SESSIONS: &str = "/account/sessions";
/// Where a session is ended.
pub const SESSIONS_END: &str = "/account/sessions/end";
/// Health check (the database answers).
pub const HEALTH: &str = "/health";
/// Liveness: the process answers.
pub const HEALTH_LIVE: &str = "/health/live";
/// Readiness: the node can serve requests.
pub const HEALTH_READY: &str = "/health/ready";
/// Second-factor step of a login.
pub const LOGIN_MFA: &str = "/login/mfa";
/// Signing in with a passkey (alone, or as the second factor).
pub const LOGIN_PASSKEY: &str = "/login/passkey";
/// The WebAuthn options of a passkey sign-in.
pub const LOGIN_PASSKEY_OPTIONS: &str = "/login/passkey/options";
/// Registers a passkey for the signed-in user.
pub const ACCOUNT_PASSKEYS: &str = "/account/passkeys";
/// The WebAuthn options of a passkey registration.
pub const ACCOUNT_PASSKEYS_OPTIONS: &str = "/account/passkeys/options";
/// Removes one of the signed-in user's passkeys.
pub const ACCOUNT_PASSKEYS_REMOVE: &str = "/account/passkeys/remove";
/// Where the link of a passwordless account's invitation lands.
pub const PASSKEY_INVITATION: &str = "/account/passkey-invitation";
/// The WebAuthn options of an invited user's first passkey.
pub const PASSKEY_INVITATION_OPTIONS: &str = "/account/passkey-invitation/options";
/// Account security overview: second factor, recovery codes, password.
pub const ACCOUNT_SECURITY: &str = "/account/security";
/// TOTP enrolment (QR code, then confirmation).
pub const ACCOUNT_TOTP: &str = "/account/totp";
/// Where the "this was not me" link of the enrolment e-mail lands.
pub const ACCOUNT_NOT_ME: &str = "/account/not-me";
/// Regenerates recovery codes.
pub const ACCOUNT_RECOVERY_CODES: &str = "/account/recovery-codes";
/// Change password (needs the current one).
pub const ACCOUNT_PASSWORD: &str = "/account/password";
/// Sends an address-verification e-mail.
pub const ACCOUNT_VERIFY_EMAIL: &str = "/account/verify-email";
/// Where a verification link lands.
pub const VERIFY_EMAIL: &str = "/verify-email";
/// Asks for a password-reset e-mail.
pub const PASSWORD_FORGOT: &str = "/password/forgot";
/// Where a reset link lands.
pub const PASSWORD_RESET: &str = "/password/reset";
/// ferrid's admin API; its URL is the API's identifier (`aud`).
pub const ADMIN_API: &str = "/admin/api/v1";
/// The admin console.
pub const CONSOLE: &str = "/admin";
/// Where the console's sign-in returns (its redirect URI).
pub const CONSOLE_CALLBACK: &str = "/admin/callback";
/// Starts the console's sign-in.
pub const CONSOLE_SIGN_IN: &str = "/admin/sign-in";
/// Ends the console session.
pub const CONSOLE_SIGN_OUT: &str = "/admin/sign-out";
/// The accent colour of the branding, as a stylesheet.
pub const BRANDING_STYLESHEET: &str = "/branding.css";
/// The branding's logo.
pub const BRANDING_LOGO: &str = "/branding/logo";

/// Prometheus metrics, on the admin listener only.
pub const METRICS: &str = "/metrics";
