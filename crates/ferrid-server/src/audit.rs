//! The request's side of the audit trail: events described with
//! [`ferrid_service::audit::Event`] are recorded with the client's address
//! and the request id of the request that caused them.

use actix_web::HttpRequest;
use ferrid_service::audit::Event;

use crate::state::AppState;

/// Records an audit event for a request.
pub trait RecordForRequest {
    /// Writes the event with `request`'s client address and request id. A
    /// failure to write is logged, never shown to the user.
    fn record(
        self,
        state: &AppState,
        request: &HttpRequest,
    ) -> impl std::future::Future<Output = ()>;
}

impl RecordForRequest for Event {
    async fn record(self, state: &AppState, request: &HttpRequest) {
        let event = self.origin(
            state
                .rate_limiter
                .addresses
                .resolve(request)
                .map(|ip| ip.to_string()),
            crate::request_id::of(request),
        );
        let now = state.now();
        if let Err(error) = state.db(move |store| event.write(store, now)).await {
            tracing::error!(?error, "could not write an audit event");
        }
    }
}
