//! `POST /account/recovery-codes`: a new set of recovery codes, after a
//! recent login or the current password.

use actix_web::{web, HttpRequest, HttpResponse};

use ferrid_service::audit::{Event, EventKind, Outcome};

use super::{
    overview, reauthenticate, recovery_codes_page, require_second_factor, signed_in,
    Reauthentication,
};
use crate::audit::RecordForRequest;
use crate::error::PageError;
use crate::forms;
use crate::mfa;
use crate::paths;
use crate::state::AppState;

/// `POST /account/recovery-codes`: a new set; the old one stops working.
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let params = forms::posted(&state, &http, &body)?;
    let (current, user) = signed_in(&state, &http).await?;
    require_second_factor(&current, &user)?;
    if !user.has_totp() {
        return Err(PageError::bad_request(
            "Two-step verification is off",
            "Recovery codes come with two-step verification; set it up first.",
        ));
    }
    match reauthenticate(&state, &http, &current, &user, &params).await {
        Ok(Reauthentication::Confirmed) => {}
        Ok(Reauthentication::Refused(message)) => {
            return overview(&state, &http, &current, &user, None, Some(&message)).await
        }
        Err(refused) => return refused.respond(),
    }
    let codes = mfa::new_recovery_codes();
    let digests: Vec<String> = codes
        .iter()
        .map(|code| mfa::recovery_digest(code))
        .collect();
    let (user_id, now) = (user.id.clone(), state.now());
    state
        .db(move |store| store.replace_recovery_codes(&user_id, &digests, now))
        .await?;
    Event::new(EventKind::MfaRecoveryCodesRegenerate, Outcome::Success)
        .actor(&user.id)
        .subject(&user.id)
        .record(&state, &http)
        .await;
    Ok(recovery_codes_page(&codes, paths::ACCOUNT_SECURITY))
}
