//! Static assets embedded in the binary.

use actix_web::http::header;
use actix_web::HttpResponse;

/// The stylesheet.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(ferrid_pages::STYLESHEET)
}

/// The script of the form-post response page.
pub async fn form_post_script() -> HttpResponse {
    script(ferrid_pages::FORM_POST_SCRIPT)
}

/// The script of the passkey ceremonies.
pub async fn passkeys_script() -> HttpResponse {
    script(ferrid_pages::PASSKEYS_SCRIPT)
}

fn script(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}
