//! The admin console: server-rendered pages under `/admin`, one module
//! per resource, built on the same service layer as the CLI and the
//! admin API. This module holds what they share: who is signed in
//! ([`signed_in`]), what they may do ([`require_writer`]), the frame
//! around every page, posted forms, and the notices shown after a change.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use ferrid_pages::console::{FieldErrors, Frame};
use ferrid_pages::Template;

use crate::console_session::{self, ConsoleAdmin};
use crate::error::{Internal, PageError};
use crate::forms::{self, FormToken};
use crate::http::{see_other, FormRules, Params};
use crate::paths;
use crate::state::AppState;

pub mod apis;
pub mod audit;
pub mod branding;
pub mod clients;
pub mod dashboard;
pub mod groups;
pub mod keys;
pub mod sign_in;
pub mod users;

/// Why a console request was not served.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in: to the sign-in, then back to this path.
    SignIn(String),
    /// A page explaining what went wrong.
    Page(PageError),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignIn(_) => formatter.write_str("console sign-in needed"),
            ConsoleError::Page(page) => write!(formatter, "{}", page.title),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn(_) => StatusCode::SEE_OTHER,
            ConsoleError::Page(page) => page.status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn(return_to) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("return", return_to)
                    .finish();
                see_other(&format!("{}?{query}", paths::CONSOLE_SIGN_IN))
            }
            ConsoleError::Page(page) => page.response(),
        }
    }
}

impl From<PageError> for ConsoleError {
    fn from(page: PageError) -> Self {
        ConsoleError::Page(page)
    }
}

impl From<Internal> for ConsoleError {
    fn from(internal: Internal) -> Self {
        ConsoleError::Page(internal.into())
    }
}

/// The signed-in admin; otherwise a sign-in that returns to this page
/// (a GET), or to the dashboard (a form post, which cannot be replayed).
pub async fn signed_in(state: &AppState, http: &HttpRequest) -> Result<ConsoleAdmin, ConsoleError> {
    if let Some(admin) = console_session::current(state, http).await? {
        return Ok(admin);
    }
    let return_to = if http.method() == actix_web::http::Method::GET {
        match http.uri().path_and_query() {
            Some(path) => crate::base_path::strip(path.as_str()).to_owned(),
            None => paths::CONSOLE.to_owned(),
        }
    } else {
        paths::CONSOLE.to_owned()
    };
    Err(ConsoleError::SignIn(
        console_session::safe_return(&return_to).to_owned(),
    ))
}

/// Refuses auditors: they see everything and change nothing.
pub fn require_writer(admin: &ConsoleAdmin) -> Result<(), ConsoleError> {
    if admin.may_write() {
        return Ok(());
    }
    Err(ConsoleError::Page(PageError {
        status: StatusCode::FORBIDDEN,
        title: "Read-only access".into(),
        message: "You are an auditor: you can see everything in the console but change nothing."
            .into(),
        hint: Some("Ask an administrator to make the change.".into()),
    }))
}

/// The console's forms: checkboxes repeat, text areas span lines.
const CONSOLE_FORMS: FormRules<'static> = FormRules {
    repeatable: &["grant_types", "scope", "group"],
    multiline: true,
};

/// The signed-in admin who may write, and the posted form (CSRF checked).
pub async fn writer_form(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
) -> Result<(ConsoleAdmin, Params), ConsoleError> {
    let admin = signed_in(state, http).await?;
    let params = forms::posted_with(state, http, body, CONSOLE_FORMS)?;
    require_writer(&admin)?;
    Ok((admin, params))
}

/// The notices a change redirects with (`?done=…`): fixed texts, so a
/// link cannot make the console say anything else.
const NOTICES: &[(&str, &str)] = &[
    ("client-created", "The client is registered."),
    ("client-updated", "The client's settings are saved."),
    ("client-disabled", "The client is disabled."),
    ("client-enabled", "The client is enabled."),
    ("client-deleted", "The client is deleted."),
    ("user-invited", "The invitation is on its way."),
    ("user-updated", "The user is updated."),
    ("sessions-ended", "Every session of the user has ended."),
    (
        "user-unlocked",
        "Failed sign-ins are forgotten; the user is unlocked.",
    ),
    ("mfa-reset", "The second factor is removed."),
    ("passkey-removed", "The passkey is removed."),
    (
        "admin-passkeys-on",
        "Administrators must now sign in with a passkey.",
    ),
    (
        "admin-passkeys-off",
        "Administrators no longer need a passkey to sign in.",
    ),
    (
        "password-reset-required",
        "The password no longer works; a reset link is on its way.",
    ),
    (
        "user-disabled",
        "The user is disabled and signed out everywhere.",
    ),
    ("api-saved", "The API is saved."),
    ("api-deleted", "The API is deleted."),
    ("groups-saved", "Saved."),
    ("keys-rotated", "Keys rotated."),
    ("key-revoked", "The key is revoked."),
    ("branding-saved", "The branding is saved."),
];

/// The notice named in the query, if any.
pub fn notice(http: &HttpRequest) -> Option<&'static str> {
    let query = Params::parse(http.query_string().as_bytes()).ok()?;
    let done = query.get("done")?;
    NOTICES
        .iter()
        .find(|(code, _)| *code == done)
        .map(|(_, text)| *text)
}

/// A redirect to `path` showing notice `done` there.
pub fn done(path: &str, done: &str) -> HttpResponse {
    let separator = if path.contains('?') { '&' } else { '?' };
    see_other(&format!("{path}{separator}done={done}"))
}

/// What a console page needs around its content.
pub struct Page<'a> {
    /// The admin.
    pub admin: &'a ConsoleAdmin,
    /// The form token.
    pub token: FormToken,
    /// Whether the admin confirmed it was them recently.
    pub confirmed: bool,
    /// The notice to show.
    pub notice: Option<&'static str>,
}

impl<'a> Page<'a> {
    /// Starts a page for `admin`.
    pub fn new(state: &AppState, http: &HttpRequest, admin: &'a ConsoleAdmin) -> Page<'a> {
        Page {
            admin,
            token: FormToken::for_browser(state, http),
            confirmed: admin.recently_confirmed(state),
            notice: notice(http),
        }
    }

    /// The frame for the navigation entry `section`.
    pub fn frame(&self, section: &'static str) -> Frame<'_> {
        Frame {
            admin: &self.admin.user.username,
            role: self.admin.role.as_str(),
            may_write: self.admin.may_write(),
            confirmed: self.confirmed,
            csrf_token: &self.token.value,
            section,
            notice: self.notice,
        }
    }

    /// Renders `page`: 200, or 400 (422 would be truer, but browsers and
    /// assistive technology treat both alike) when it shows errors.
    pub fn respond(
        &self,
        page: &impl Template,
        errors: &FieldErrors,
    ) -> Result<HttpResponse, ConsoleError> {
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Ok(self.token.respond(status, page)?)
    }
}

/// A page that is not there (404).
pub fn not_found(what: &str) -> ConsoleError {
    ConsoleError::Page(PageError {
        status: StatusCode::NOT_FOUND,
        title: "Not found".into(),
        message: format!("There is no {what} here.").into(),
        hint: None,
    })
}

/// A file download: never cached, never shown inline.
pub fn download(content_type: &str, filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A form field's value, trimmed ("" when absent).
pub fn field(params: &Params, name: &str) -> String {
    params.get(name).unwrap_or_default().trim().to_owned()
}

/// Lines of a text area: trimmed, empty ones dropped.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An optional number field: empty is `None`; anything but a whole
/// number is the message to show.
pub fn optional_number<T: std::str::FromStr>(text: &str) -> Result<Option<T>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("\"{text}\" is not a whole number."))
}

pub use crate::forms::sentence;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sentences() {
        assert_eq!(optional_number::<i64>(" "), Ok(None));
        assert_eq!(optional_number::<i64>("60"), Ok(Some(60)));
        assert!(optional_number::<i64>("6o").is_err());
        assert_eq!(
            sentence("the name must be short"),
            "The name must be short."
        );
        assert_eq!(lines(" a \n\n b\r\n"), vec!["a", "b"]);
    }
}
