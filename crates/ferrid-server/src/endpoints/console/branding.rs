//! `/admin/branding`: the product name, logo and accent colour of the
//! sign-in, consent and account pages, with a preview; and the public
//! `/branding.css` and `/branding/logo` those pages load (same origin, so
//! the pages' policy needs no exception).

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{BrandingPage, FieldErrors};
use ferrid_service::branding::{self, LogoChange, SaveError, MAX_LOGO_BYTES};
use futures_util::StreamExt;

use crate::console_session::ConsoleAdmin;
use crate::endpoints::console::{done, require_writer, sentence, signed_in, ConsoleError, Page};
use crate::error::{Internal, PageError};
use crate::forms::{self, FormToken};
use crate::state::AppState;

/// Most parts the upload form may have (it has six).
const MAX_PARTS: usize = 16;
/// Largest text field of the upload form, bytes.
const MAX_FIELD_BYTES: usize = 1024;

async fn page_with(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    typed: Option<(&str, &str)>,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let current = state.db(branding::current).await?;
    let (product_name, accent_colour) =
        typed.unwrap_or((&current.product_name, &current.accent_colour));
    let page = Page::new(state, http, admin);
    let view = BrandingPage {
        frame: page.frame("branding"),
        product_name,
        accent_colour,
        has_logo: current.logo.is_some(),
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/branding`.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    page_with(&state, &http, &admin, None, FieldErrors::none()).await
}

/// The upload form, read from its multipart stream with every part
/// bounded.
#[derive(Default)]
struct Upload {
    csrf_token: String,
    product_name: String,
    accent_colour: String,
    remove_logo: bool,
    logo: Option<Vec<u8>>,
}

fn bad_upload(message: &str) -> ConsoleError {
    PageError::bad_request("Invalid form", message.to_owned()).into()
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, ConsoleError> {
    let mut upload = Upload::default();
    let mut parts = 0;
    while let Some(field) = multipart.next().await {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(bad_upload("The form has too many parts."));
        }
        let mut field = field.map_err(|_| bad_upload("The form could not be read."))?;
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if name == "logo" {
            MAX_LOGO_BYTES + 1
        } else {
            MAX_FIELD_BYTES
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad_upload("The form could not be read."))?;
            if bytes.len() + chunk.len() > limit {
                // Keep reading nothing more: the size alone decides.
                bytes.extend_from_slice(&chunk[..limit.saturating_sub(bytes.len())]);
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf_token" => upload.csrf_token = text(),
            "product_name" => upload.product_name = text(),
            "accent_colour" => upload.accent_colour = text(),
            "remove_logo" => upload.remove_logo = text() == "true",
            // A file input left empty sends an empty part.
            "logo" if !bytes.is_empty() => upload.logo = Some(bytes),
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /admin/branding` (`multipart/form-data`, for the logo).
pub async fn save(
    state: web::Data<AppState>,
    http: HttpRequest,
    multipart: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    let upload = read_upload(multipart).await?;
    forms::check_csrf(&state, &http, Some(&upload.csrf_token))?;
    require_writer(&admin)?;
    let logo = match (upload.logo, upload.remove_logo) {
        (Some(bytes), _) => LogoChange::Replace(bytes),
        (None, true) => LogoChange::Remove,
        (None, false) => LogoChange::Keep,
    };
    let (name, colour) = (upload.product_name.clone(), upload.accent_colour.clone());
    let (actor, now) = (admin.user.id.clone(), state.now());
    let saved = state
        .db(move |store| Ok(branding::save(store, &name, &colour, logo, &actor, now)))
        .await?;
    match saved {
        Ok(saved) => {
            state.branding.set(saved);
            Ok(done("/admin/branding", "branding-saved"))
        }
        Err(SaveError::Invalid(invalid)) => {
            let field = match invalid.field() {
                branding::Field::ProductName => "product_name",
                branding::Field::AccentColour => "accent_colour",
                branding::Field::Logo => "logo",
            };
            let errors = FieldErrors::one(field, sentence(&invalid));
            let typed = (upload.product_name.as_str(), upload.accent_colour.as_str());
            page_with(&state, &http, &admin, Some(typed), errors).await
        }
        Err(SaveError::Store(error)) => Err(Internal::log(error).into()),
    }
}

/// `GET /admin/branding/preview`: the sign-in page in the current
/// branding, for a sample application.
pub async fn preview(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    signed_in(&state, &http).await?;
    let token = FormToken::for_browser(&state, &http);
    let page = ferrid_pages::LoginPage {
        client_name: "Example application (preview)",
        request_id: "preview",
        csrf_token: &token.value,
        login_hint: "",
        error: None,
    };
    Ok(token.respond(actix_web::http::StatusCode::OK, &page)?)
}

/// `GET /branding.css`: the accent colour.
pub async fn stylesheet(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        // Pages link it with ?v=<change time>: a change is a new URL.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(state.branding.stylesheet())
}

/// `GET /branding/logo`: the logo, if one is set.
pub async fn logo(state: web::Data<AppState>) -> HttpResponse {
    let logo = state
        .branding
        .get()
        .and_then(|branding| Some((branding.logo.clone()?, branding.logo_type.clone()?)));
    match logo {
        Some((bytes, media_type)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, media_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(bytes),
        None => HttpResponse::NotFound().finish(),
    }
}
