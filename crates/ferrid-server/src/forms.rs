//! Server-rendered forms: a CSRF token on the way out, its check on the
//! way in (double-submit: a cookie another site can neither read nor set,
//! and the same value in a hidden field).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use ferrid_pages::Template;
use ferrid_store::secret::random_token;

use crate::cookies;
use crate::error::{Internal, PageError};
use crate::http::{branded_html_response, is_form, FormRules, Params};
use crate::state::AppState;

/// Parses a posted form and checks its CSRF token.
pub fn posted(state: &AppState, http: &HttpRequest, body: &[u8]) -> Result<Params, PageError> {
    posted_with(state, http, body, FormRules::OAUTH)
}

/// Parses a posted form under `rules` (checkboxes, text areas) and
/// checks its CSRF token.
pub fn posted_with(
    state: &AppState,
    http: &HttpRequest,
    body: &[u8],
    rules: FormRules<'_>,
) -> Result<Params, PageError> {
    if !is_form(http) {
        return Err(PageError::bad_request(
            "Invalid form",
            "Forms must be posted as application/x-www-form-urlencoded.",
        ));
    }
    let params = Params::parse_with(body, rules)
        .map_err(|error| PageError::bad_request("Invalid form", error.to_string()))?;
    check_csrf(state, http, params.get("csrf_token"))?;
    Ok(params)
}

/// Checks a form's CSRF token (for forms not parsed by [`posted`], such
/// as uploads).
pub fn check_csrf(
    state: &AppState,
    http: &HttpRequest,
    token: Option<&str>,
) -> Result<(), PageError> {
    if !cookies::csrf_matches(http, &state.settings, token) {
        return Err(PageError {
            status: StatusCode::FORBIDDEN,
            title: "Form expired".into(),
            message: "This form could not be verified (missing or wrong anti-forgery token)."
                .into(),
            hint: Some(
                "Go back to the application and sign in again; make sure cookies are enabled."
                    .into(),
            ),
        });
    }
    Ok(())
}

/// The CSRF token for a page holding a form: the browser's, or a new one
/// that the response must set in a cookie.
pub struct FormToken {
    /// The value to put in the form's hidden `csrf_token` field.
    pub value: String,
    new_cookie: Option<Cookie<'static>>,
    /// The branding the page is shown in.
    brand: Option<ferrid_pages::Brand>,
}

impl FormToken {
    /// The token for this browser.
    pub fn for_browser(state: &AppState, http: &HttpRequest) -> FormToken {
        let brand = state.branding.brand();
        match cookies::csrf_token(http, &state.settings) {
            Some(value) => FormToken {
                value,
                new_cookie: None,
                brand,
            },
            None => {
                let value = random_token(32);
                let cookie = cookies::csrf_cookie(&state.settings, value.clone());
                FormToken {
                    value,
                    new_cookie: Some(cookie),
                    brand,
                }
            }
        }
    }

    /// Sets the cookie on `response` if the token is new.
    pub fn set_cookie(&self, response: &mut HttpResponse) -> Result<(), PageError> {
        if let Some(cookie) = &self.new_cookie {
            response.add_cookie(cookie).map_err(Internal::log)?;
        }
        Ok(())
    }

    /// Renders `page` (which carries this token), setting the cookie if new.
    pub fn respond(
        &self,
        status: StatusCode,
        page: &impl Template,
    ) -> Result<HttpResponse, PageError> {
        let mut response = branded_html_response(status, page, self.brand.as_ref());
        self.set_cookie(&mut response)?;
        Ok(response)
    }

    /// Renders a form page: 400 when it shows why a submission was
    /// refused, 200 otherwise.
    pub fn respond_form(
        &self,
        error: Option<&str>,
        page: &impl Template,
    ) -> Result<HttpResponse, PageError> {
        let status = match error {
            Some(_) => StatusCode::BAD_REQUEST,
            None => StatusCode::OK,
        };
        self.respond(status, page)
    }
}

/// The new password of a form with `new_password` and `confirm_password`
/// fields, checked against the password policy for `user`; or the
/// message to show.
pub fn new_password(
    params: &Params,
    min_length: usize,
    user: &ferrid_store::User,
) -> Result<String, String> {
    let password = params.get("new_password").unwrap_or_default();
    if params.get("confirm_password") != Some(password) {
        return Err("The new passwords do not match.".into());
    }
    ferrid_service::accounts::check_password(password, min_length, &user.username, &user.email)
        // Policy messages start lower-case for the CLI; pages want a sentence.
        .map_err(sentence)?;
    Ok(password.to_owned())
}

/// A message of the service layer (lower-case, for the CLI) as a
/// sentence for a page.
pub fn sentence(message: impl std::fmt::Display) -> String {
    let message = message.to_string();
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.as_str();
            let end = if rest.ends_with('.') { "" } else { "." };
            format!("{}{rest}{end}", first.to_uppercase())
        }
        None => message,
    }
}
