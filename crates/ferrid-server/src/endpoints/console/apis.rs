//! `/admin/apis`: the registered APIs (identifiers, scopes, roles, token
//! settings), registering one, editing and deleting it. Scopes and roles
//! are typed one per line as `name: description`.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{ApiForm, ApiRow, ApisPage, Choice, FieldErrors};
use ferrid_service::apis::{self, ApiError, ApiRegistration, ApiUpdate};
use ferrid_store::{Api, ApiRole, ApiScope};

use crate::console_session::{confirm, Confirmation, ConsoleAdmin};
use crate::endpoints::console::{
    done, lines, not_found, optional_number, sentence, signed_in, writer_form, ConsoleError, Page,
};
use crate::error::Internal;
use crate::http::Params;
use crate::state::AppState;

/// `name: description` lines as pairs (a line without ": " has no
/// description, which the rules then name). Names may hold colons
/// themselves (`orders:read`), so only a colon and a space separate.
fn named(text: &str) -> Vec<(String, String)> {
    lines(text)
        .into_iter()
        .map(|line| match line.split_once(": ") {
            Some((name, description)) => (name.trim().to_owned(), description.trim().to_owned()),
            None => (line, String::new()),
        })
        .collect()
}

fn api_form(api: &Api) -> ApiForm {
    ApiForm {
        identifier: api.identifier.clone(),
        name: api.name.clone(),
        scopes: api
            .scopes
            .iter()
            .map(|scope| format!("{}: {}", scope.name, scope.description))
            .collect::<Vec<_>>()
            .join("\n"),
        roles: api
            .roles
            .iter()
            .map(|role| format!("{}: {}", role.name, role.description))
            .collect::<Vec<_>>()
            .join("\n"),
        access_token_ttl: api
            .access_token_ttl
            .map(|ttl| ttl.to_string())
            .unwrap_or_default(),
        signing_alg: api.signing_alg.clone().unwrap_or_default(),
    }
}

fn form_values(params: &Params) -> ApiForm {
    let text = |name: &str| params.get(name).unwrap_or_default().to_owned();
    ApiForm {
        identifier: text("identifier"),
        name: text("name"),
        scopes: text("scopes"),
        roles: text("roles"),
        access_token_ttl: text("access_token_ttl"),
        signing_alg: text("signing_alg"),
    }
}

async fn page_with(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    editing: Option<&str>,
    form: ApiForm,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let registered = state.db(|store| store.list_apis()).await?;
    let page = Page::new(state, http, admin);
    let algorithms = state
        .key_policy
        .algorithms
        .iter()
        .map(|alg| Choice {
            value: alg.as_str().to_owned(),
            label: alg.as_str().to_owned(),
            chosen: alg.as_str() == form.signing_alg,
        })
        .collect();
    let view = ApisPage {
        frame: page.frame("apis"),
        apis: registered
            .iter()
            .map(|api| ApiRow {
                identifier: api.identifier.clone(),
                name: api.name.clone(),
                scopes: api
                    .scopes
                    .iter()
                    .map(|scope| scope.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                roles: api
                    .roles
                    .iter()
                    .map(|role| role.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                tokens: format!(
                    "{}, {}",
                    api.access_token_ttl
                        .map_or_else(|| "server lifetime".to_owned(), |ttl| format!("{ttl} s")),
                    api.signing_alg.as_deref().unwrap_or("server algorithm")
                ),
            })
            .collect(),
        editing,
        form,
        algorithms,
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/apis`.
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    page_with(
        &state,
        &http,
        &admin,
        None,
        ApiForm::default(),
        FieldErrors::none(),
    )
    .await
}

/// `GET /admin/apis/edit?identifier=…`.
pub async fn edit_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    crate::endpoints::console::require_writer(&admin)?;
    let query = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let identifier = query.get("identifier").unwrap_or_default().to_owned();
    let api = state
        .db(move |store| store.find_api(&identifier))
        .await?
        .ok_or_else(|| not_found("such API"))?;
    page_with(
        &state,
        &http,
        &admin,
        Some(&api.identifier),
        api_form(&api),
        FieldErrors::none(),
    )
    .await
}

fn errors_of(error: ApiError) -> Result<FieldErrors, ConsoleError> {
    match error {
        ApiError::Invalid(rule) => Ok(FieldErrors::one(rule.field(), sentence(&rule))),
        ApiError::Exists(_) => Ok(FieldErrors::one("identifier", sentence(&error))),
        ApiError::NotFound(_) => Err(not_found("such API")),
        other => Err(Internal::log(other).into()),
    }
}

fn scopes_and_roles(form: &ApiForm) -> (Vec<ApiScope>, Vec<ApiRole>) {
    let scopes = named(&form.scopes)
        .into_iter()
        .map(|(name, description)| ApiScope { name, description })
        .collect();
    let roles = named(&form.roles)
        .into_iter()
        .map(|(name, description)| ApiRole { name, description })
        .collect();
    (scopes, roles)
}

/// `POST /admin/apis`: registers an API.
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let form = form_values(&params);
    let ttl = match optional_number::<i64>(&form.access_token_ttl) {
        Ok(ttl) => ttl,
        Err(message) => {
            let errors = FieldErrors::one("access_token_ttl", message);
            return page_with(&state, &http, &admin, None, form, errors).await;
        }
    };
    let (scopes, roles) = scopes_and_roles(&form);
    let registration = ApiRegistration {
        identifier: form.identifier.trim().to_owned(),
        name: form.name.clone(),
        scopes,
        roles,
        access_token_ttl: ttl,
        signing_alg: (!form.signing_alg.is_empty()).then(|| form.signing_alg.clone()),
        introspection: None,
    };
    let (issuer, enabled, master_key, actor, now) = (
        state.settings.issuer.clone(),
        state.key_policy.algorithms.clone(),
        state.master_key().clone(),
        admin.user.id.clone(),
        state.now(),
    );
    let created = state
        .db(move |store| {
            Ok(apis::create(
                store,
                registration,
                &issuer,
                &enabled,
                &master_key,
                &actor,
                now,
            ))
        })
        .await?;
    match created {
        Ok(_) => Ok(done("/admin/apis", "api-saved")),
        Err(error) => {
            let errors = errors_of(error)?;
            page_with(&state, &http, &admin, None, form, errors).await
        }
    }
}

/// `POST /admin/apis/edit`: replaces the name, scopes, roles and token
/// settings with the form's.
pub async fn edit(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let form = form_values(&params);
    let identifier = form.identifier.clone();
    let current = {
        let identifier = identifier.clone();
        state
            .db(move |store| store.find_api(&identifier))
            .await?
            .ok_or_else(|| not_found("such API"))?
    };
    let ttl = match optional_number::<i64>(&form.access_token_ttl) {
        Ok(ttl) => ttl,
        Err(message) => {
            let errors = FieldErrors::one("access_token_ttl", message);
            return page_with(&state, &http, &admin, Some(&identifier), form, errors).await;
        }
    };
    let (scopes, roles) = scopes_and_roles(&form);
    let update = ApiUpdate {
        name: Some(form.name.clone()),
        remove_scopes: current
            .scopes
            .iter()
            .filter(|old| !scopes.iter().any(|new| new.name == old.name))
            .map(|old| old.name.clone())
            .collect(),
        add_scopes: scopes,
        remove_roles: current
            .roles
            .iter()
            .filter(|old| !roles.iter().any(|new| new.name == old.name))
            .map(|old| old.name.clone())
            .collect(),
        add_roles: roles,
        access_token_ttl: ttl,
        signing_alg: (!form.signing_alg.is_empty()).then(|| form.signing_alg.clone()),
    };
    let (enabled, actor, now, id) = (
        state.key_policy.algorithms.clone(),
        admin.user.id.clone(),
        state.now(),
        identifier.clone(),
    );
    let updated = state
        .db(move |store| Ok(apis::update(store, &id, update, &enabled, &actor, now)))
        .await?;
    match updated {
        Ok(_) => Ok(done("/admin/apis", "api-saved")),
        Err(error) => {
            let errors = errors_of(error)?;
            page_with(&state, &http, &admin, Some(&identifier), form, errors).await
        }
    }
}

/// `POST /admin/apis/delete`: needs a recent confirmation.
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let identifier = params.get("identifier").unwrap_or_default().to_owned();
    if let Confirmation::Refused(message) = confirm(&state, &http, &admin, &params).await? {
        let api = {
            let identifier = identifier.clone();
            state
                .db(move |store| store.find_api(&identifier))
                .await?
                .ok_or_else(|| not_found("such API"))?
        };
        let errors = FieldErrors::one("confirm-delete", message);
        return page_with(
            &state,
            &http,
            &admin,
            Some(&identifier),
            api_form(&api),
            errors,
        )
        .await;
    }
    let (actor, now) = (admin.user.id.clone(), state.now());
    let deleted = state
        .db(move |store| Ok(apis::delete(store, &identifier, &actor, now)))
        .await?;
    match deleted {
        Ok(()) => Ok(done("/admin/apis", "api-deleted")),
        Err(ApiError::NotFound(_)) => Err(not_found("such API")),
        Err(other) => Err(Internal::log(other).into()),
    }
}
