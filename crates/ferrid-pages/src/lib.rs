//! Server-rendered pages for ferrid. Each page is a view model rendered by
//! an askama template from `templates/`; the pages know nothing of HTTP or
//! the database. Everything interpolated is HTML-escaped by askama.
//!
//! The pages carry no inline script or style, so the server's
//! Content-Security-Policy can forbid both.

pub use askama::Template;

pub mod chart;
pub mod console;
pub mod i18n;

pub use i18n::Locale;

/// Template filters: a page's messages, in its language (the runtime
/// value `"locale"`, English without one).
mod filters {
    use askama::filters::Safe;
    use askama::Values;

    use crate::i18n::Locale;

    fn locale(values: &dyn Values) -> Locale {
        askama::get_value::<Locale>(values, "locale")
            .copied()
            .unwrap_or_default()
    }

    /// The message `key` (catalogue text is trusted: it may hold markup).
    #[askama::filter_fn]
    pub fn t(key: &str, values: &dyn Values) -> askama::Result<Safe<&'static str>> {
        Ok(Safe(locale(values).text(key)))
    }

    /// The message `key` with `{name}` replaced by `value`, escaped.
    #[askama::filter_fn]
    pub fn tr<V: std::fmt::Display>(
        key: &str,
        values: &dyn Values,
        name: &'static str,
        value: &V,
    ) -> askama::Result<Safe<String>> {
        Ok(Safe(fill(
            locale(values).text(key),
            &[(name, &value.to_string())],
        )))
    }

    /// The message `key` with two values.
    #[askama::filter_fn]
    pub fn tr2<V: std::fmt::Display, W: std::fmt::Display>(
        key: &str,
        values: &dyn Values,
        name: &'static str,
        value: &V,
        other_name: &'static str,
        other_value: &W,
    ) -> askama::Result<Safe<String>> {
        Ok(Safe(fill(
            locale(values).text(key),
            &[
                (name, &value.to_string()),
                (other_name, &other_value.to_string()),
            ],
        )))
    }

    /// `text` with each `{name}` replaced by its value, escaped, in one
    /// pass: a value that looks like a placeholder stays as it is.
    fn fill(text: &str, values: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let named = after.find('}').and_then(|close| {
                let name = &after[..close];
                values
                    .iter()
                    .find(|(candidate, _)| *candidate == name)
                    .map(|(_, value)| (close, *value))
            });
            match named {
                Some((close, value)) => {
                    out.push_str(&escape(value));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// A message the server wrote (an error, a notice), in the page's
    /// language when its catalogue has it; escaped as usual.
    #[askama::filter_fn]
    pub fn phrase<T: std::fmt::Display>(text: T, values: &dyn Values) -> askama::Result<String> {
        Ok(locale(values).phrase(&text.to_string()).into_owned())
    }

    /// The page's language tag, for `<html lang>`.
    #[askama::filter_fn]
    pub fn lang(_: &str, values: &dyn Values) -> askama::Result<&'static str> {
        Ok(locale(values).tag())
    }

    fn escape(text: &str) -> String {
        let mut escaped = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        escaped
    }
}

/// The branding an admin set, shown by every page built on
/// `base.html` when given as the runtime value `"brand"`
/// ([`Template::render_with_values`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// Product name, in the header and footer.
    pub product_name: String,
    /// Whether there is a logo to show.
    pub has_logo: bool,
    /// Changes whenever the branding does, so browsers fetch the new
    /// stylesheet and logo.
    pub version: i64,
}

/// The stylesheet every page links to, served at [`STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("../../../static/ferrid.css");
/// Where the stylesheet is served.
pub const STYLESHEET_PATH: &str = "/static/ferrid.css";

/// The script that submits a form-post response, served at
/// [`FORM_POST_SCRIPT_PATH`].
pub const FORM_POST_SCRIPT: &str = include_str!("../../../static/form_post.js");
/// Where the form-post script is served.
pub const FORM_POST_SCRIPT_PATH: &str = "/static/form_post.js";
/// The script of the passkey ceremonies, served at
/// [`PASSKEYS_SCRIPT_PATH`].
pub const PASSKEYS_SCRIPT: &str = include_str!("../../../static/passkeys.js");
/// Where [`PASSKEYS_SCRIPT`] is served.
pub const PASSKEYS_SCRIPT_PATH: &str = "/static/passkeys.js";

/// Rendering failed (a template bug, not bad input).
pub type RenderError = askama::Error;

/// The sign-in form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// Name of the client asking for the login.
    pub client_name: &'a str,
    /// Id of the pending authorization request.
    pub request_id: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Pre-filled username (`login_hint` or the last attempt).
    pub login_hint: &'a str,
    /// Message for a failed attempt.
    pub error: Option<&'a str>,
}

/// A scope as shown on the consent page.
pub struct ScopeView<'a> {
    /// Scope name.
    pub name: &'a str,
    /// What it grants, in words.
    pub description: &'a str,
}

/// The consent form.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// Name of the client asking.
    pub client_name: &'a str,
    /// The signed-in user.
    pub username: &'a str,
    /// Requested scopes.
    pub scopes: Vec<ScopeView<'a>>,
    /// Id of the pending authorization request.
    pub request_id: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Whether a device asks (its user code was typed): the page warns
    /// against approving a device the user did not start.
    pub for_device: bool,
}

/// An error shown to the user instead of a redirect.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Short title.
    pub title: &'a str,
    /// What went wrong.
    pub message: &'a str,
    /// What to do about it, if anything.
    pub hint: Option<&'a str>,
}

/// "Sign out?" — asked when a logout request cannot be trusted on its own.
#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    /// The client that asked, if known.
    pub client_name: Option<&'a str>,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
}

/// "Was this not you?" — where the link of the enrolment e-mail lands;
/// it asks before changing anything.
#[derive(Template)]
#[template(path = "not_me.html")]
pub struct NotMePage<'a> {
    /// Whose account it is.
    pub username: &'a str,
    /// The link's single-use token, posted back.
    pub token: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
}

/// "You are signed out."
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage;

/// One of the user's sessions, as listed.
pub struct SessionView {
    /// Public session id.
    pub sid: String,
    /// When it signed in, as text.
    pub signed_in: String,
    /// Whether it is the browser looking at the page.
    pub current: bool,
}

/// The user's sessions, each with an "End" button.
#[derive(Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage<'a> {
    /// The signed-in user.
    pub username: &'a str,
    /// Their sessions.
    pub sessions: Vec<SessionView>,
    /// Anti-CSRF token echoed by the forms.
    pub csrf_token: &'a str,
}

/// The second step of a login: a TOTP or recovery code.
#[derive(Template)]
#[template(path = "login_mfa.html")]
pub struct LoginMfaPage<'a> {
    /// Name of the client asking for the login.
    pub client_name: &'a str,
    /// Id of the pending authorization request.
    pub request_id: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Message for a failed attempt.
    pub error: Option<&'a str>,
    /// Whether a TOTP or recovery code is offered (the user has TOTP and
    /// the request does not need a passkey).
    pub totp: bool,
    /// Whether a passkey is offered (the user has one).
    pub passkey: bool,
}

/// A passkey as its owner (or an administrator) sees it.
pub struct PasskeyView {
    /// ferrid's id of the passkey.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// When it was registered, as text.
    pub created: String,
    /// When it was last used, as text (empty if never).
    pub last_used: String,
    /// Whether it may be synced between devices (backup eligible).
    pub synced: bool,
}

/// Where an invited user creates the passkey of their passwordless
/// account, from the e-mailed link.
#[derive(Template)]
#[template(path = "passkey_invitation.html")]
pub struct PasskeyInvitationPage<'a> {
    /// The invited user.
    pub username: &'a str,
    /// The invitation link's token.
    pub token: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
}

/// Where a user types the code a device shows (RFC 8628 §3.3).
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// The code, pre-filled from the link the device showed.
    pub user_code: &'a str,
    /// Why the last code was refused.
    pub error: Option<&'a str>,
}

/// The account's security settings: second factor, e-mail, password.
#[derive(Template)]
#[template(path = "account_security.html")]
pub struct AccountSecurityPage<'a> {
    /// The signed-in user.
    pub username: &'a str,
    /// Their e-mail address.
    pub email: &'a str,
    /// Whether it is verified.
    pub email_verified: bool,
    /// Whether TOTP is on.
    pub mfa_enrolled: bool,
    /// The user's passkeys.
    pub passkeys: &'a [PasskeyView],
    /// Whether the account has no password (passkeys only).
    pub passwordless: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
    /// Whether new recovery codes need the current password (no recent
    /// login).
    pub password_needed: bool,
    /// Shortest accepted new password.
    pub min_length: usize,
    /// Anti-CSRF token echoed by the forms.
    pub csrf_token: &'a str,
    /// What just succeeded.
    pub notice: Option<&'a str>,
    /// What just failed.
    pub error: Option<&'a str>,
}

/// TOTP enrolment: QR code, key in text, confirmation form.
#[derive(Template)]
#[template(path = "totp_enrol.html")]
pub struct TotpEnrolPage<'a> {
    /// The `otpauth://` URI as an SVG QR code (generated by the server).
    pub qr_svg: &'a str,
    /// The key in base32, for typing in.
    pub secret: &'a str,
    /// The pending authorization request to resume afterwards, or "".
    pub request_id: &'a str,
    /// Whether a client requires the second factor to continue.
    pub required: bool,
    /// The new secret, sealed, carried by the form until confirmed (so
    /// showing the page stores nothing).
    pub enrolment: &'a str,
    /// Whether the current password must be given (no recent login).
    pub password_needed: bool,
    /// How recent a login spares the password, minutes.
    pub reauthentication_minutes: i64,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Message for a wrong code or password.
    pub error: Option<&'a str>,
}

/// Freshly generated recovery codes, shown once.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    /// The codes.
    pub codes: &'a [String],
    /// Where "Continue" leads.
    pub continue_to: &'a str,
}

/// "Forgot your password?" form.
#[derive(Template)]
#[template(path = "password_forgot.html")]
pub struct PasswordForgotPage<'a> {
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// The answer to a request (the same whether or not the address exists).
    pub notice: Option<&'a str>,
}

/// New-password form reached from a reset e-mail.
#[derive(Template)]
#[template(path = "password_reset.html")]
pub struct PasswordResetPage<'a> {
    /// The reset token from the link.
    pub token: &'a str,
    /// Shortest accepted new password.
    pub min_length: usize,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
    /// Why the last attempt was refused.
    pub error: Option<&'a str>,
}

/// Confirmation of an address-verification link (a POST, so that mail
/// scanners following links do not verify anything).
#[derive(Template)]
#[template(path = "verify_email.html")]
pub struct VerifyEmailPage<'a> {
    /// The address being verified.
    pub email: &'a str,
    /// The token from the link.
    pub token: &'a str,
    /// Anti-CSRF token echoed by the form.
    pub csrf_token: &'a str,
}

/// An authorization response delivered with `response_mode=form_post`:
/// a form the page's script posts to the client at once (a button does it
/// without script).
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    /// The client's verified redirect URI.
    pub action: &'a str,
    /// The response parameters.
    pub fields: &'a [(&'a str, &'a str)],
}

/// A message with an optional link onwards.
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage<'a> {
    /// Title.
    pub title: &'a str,
    /// The message.
    pub message: &'a str,
    /// Where to go next.
    pub link: Option<&'a str>,
    /// The link's text.
    pub link_text: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_page_escapes_what_it_shows() {
        let html = LoginPage {
            client_name: "<script>alert(1)</script>",
            request_id: "r\"1",
            csrf_token: "c",
            login_hint: "",
            error: Some("Invalid username or password."),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("alert(1)"));
        assert!(html.contains("Invalid username or password."));
        assert!(!html.contains("value=\"r\"1\""));
    }

    #[test]
    fn a_value_shaped_like_a_placeholder_is_not_filled_in() {
        let html = ConsentPage {
            client_name: "{user}",
            username: "alice",
            scopes: vec![],
            request_id: "r",
            csrf_token: "c",
            for_device: false,
        }
        .render()
        .unwrap();
        assert!(
            html.contains(
                "<strong>{user}</strong> asks to access your account <strong>alice</strong>"
            ),
            "{html}"
        );
    }

    #[test]
    fn consent_page_lists_scopes() {
        let html = ConsentPage {
            client_name: "App",
            username: "alice",
            scopes: vec![ScopeView {
                name: "email",
                description: "Your e-mail address",
            }],
            request_id: "r",
            csrf_token: "c",
            for_device: false,
        }
        .render()
        .unwrap();
        assert!(html.contains("Your e-mail address"));
        assert!(html.contains("name=\"csrf_token\""));
    }

    #[test]
    fn error_page_has_no_inline_script_or_style() {
        let html = ErrorPage {
            title: "Error",
            message: "m",
            hint: Some("h"),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script"));
        assert!(!html.contains("style="));
    }
}
