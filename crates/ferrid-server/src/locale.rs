//! The language a request's pages are shown in: from its
//! `Accept-Language` (set for the whole request by [`middleware`]), or
//! from the `ui_locales` of the authorization request a page belongs to
//! ([`prefer`], OIDC Core §3.1.2.1), which wins. Pages read it when they
//! are rendered ([`current`]), error pages included.

use std::cell::Cell;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use ferrid_pages::Locale;

tokio::task_local! {
    static CURRENT: Cell<Locale>;
}

/// Middleware: the request's language from its `Accept-Language`.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let locale = Locale::negotiate(
        None,
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    );
    CURRENT.scope(Cell::new(locale), next.call(request)).await
}

/// The language of the request being answered (English outside one).
pub fn current() -> Locale {
    CURRENT.try_with(Cell::get).unwrap_or_default()
}

/// Shows the rest of this request's pages in the first language of
/// `ui_locales` this server has, if any.
pub fn prefer(ui_locales: Option<&str>) {
    if let Some(locale) = ui_locales
        .unwrap_or_default()
        .split(' ')
        .find_map(Locale::of_tag)
    {
        // Outside a request (tests of handlers) there is nothing to set.
        let _ = CURRENT.try_with(|current| current.set(locale));
    }
}
