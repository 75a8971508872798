//! `/admin/clients`: list with search and paging, register with every
//! setting the server supports, edit, rotate the secret (shown once),
//! disable or enable, and delete. Refusals come from the service layer's
//! typed errors and are shown beside their field.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{
    Choice, ClientForm, ClientFormPage, ClientPage, ClientRow, ClientsPage, FieldErrors, Setting,
};
use ferrid_service::clients::{
    self, ClientError, ClientRegistration, ClientUpdate, ClientView, CONSOLE_CLIENT_ID,
};
use ferrid_service::scopes;
use ferrid_store::{Client, ClientAuthMethod, GrantType};

use crate::console_session::{confirm, Confirmation, ConsoleAdmin};
use crate::endpoints::console::{
    done, lines, not_found, optional_number, sentence, signed_in, writer_form, ConsoleError, Page,
};
use crate::error::Internal;
use crate::http::Params;
use crate::state::AppState;

/// Clients per page.
const PAGE_SIZE: usize = 50;

/// The list, filtered by `?q=` (name or id, any part, any case) and paged
/// by `?after=` (a client id).
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    let query = Params::parse(http.query_string().as_bytes()).unwrap_or_default();
    let q = query.get("q").unwrap_or_default().trim().to_owned();
    let after = query.get("after").unwrap_or_default().to_owned();
    let needle = q.to_lowercase();
    let all = state.db(|store| store.list_clients()).await?;
    let mut matching: Vec<Client> = all
        .into_iter()
        .filter(|client| {
            needle.is_empty()
                || client.name.to_lowercase().contains(&needle)
                || client.client_id.to_lowercase().contains(&needle)
        })
        .collect();
    // Keyset order by id, so a page stays stable while clients come and go.
    matching.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let page_clients: Vec<&Client> = matching
        .iter()
        .filter(|client| after.is_empty() || client.client_id.as_str() > after.as_str())
        .take(PAGE_SIZE + 1)
        .collect();
    let next = (page_clients.len() > PAGE_SIZE)
        .then(|| {
            page_clients
                .get(PAGE_SIZE - 1)
                .map(|client| client.client_id.clone())
        })
        .flatten();
    let page = Page::new(&state, &http, &admin);
    let view = ClientsPage {
        frame: page.frame("clients"),
        clients: page_clients
            .into_iter()
            .take(PAGE_SIZE)
            .map(|client| ClientRow {
                client_id: client.client_id.clone(),
                name: client.name.clone(),
                auth_method: client.auth_method.as_str().to_owned(),
                grants: client
                    .grant_types
                    .iter()
                    .map(|grant| grant.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                disabled: client.disabled,
            })
            .collect(),
        q: &q,
        next,
    };
    page.respond(&view, &FieldErrors::none())
}

/// What a form's choices are made of.
struct Choices {
    auth_method: String,
    grant_types: Vec<String>,
    scope: Vec<String>,
    alg: String,
}

async fn form_page(
    state: &AppState,
    page: &Page<'_>,
    client_id: Option<&str>,
    form: ClientForm,
    chosen: Choices,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let api_scopes = state.db(clients::api_scope_names).await?;
    let offered: Vec<String> = scopes::Scope::ALL
        .iter()
        .map(|scope| scope.as_str().to_owned())
        .chain(api_scopes)
        .collect();
    let view = ClientFormPage {
        frame: page.frame("clients"),
        client_id,
        form,
        auth_methods: ClientAuthMethod::ALL
            .iter()
            .map(|method| Choice {
                value: method.as_str().to_owned(),
                label: method.as_str().to_owned(),
                chosen: method.as_str() == chosen.auth_method,
            })
            .collect(),
        grant_types: GrantType::ALL
            .iter()
            .map(|grant| Choice {
                value: grant.as_str().to_owned(),
                label: grant.as_str().to_owned(),
                chosen: chosen.grant_types.iter().any(|name| name == grant.as_str()),
            })
            .collect(),
        scopes: offered
            .into_iter()
            .map(|scope| Choice {
                chosen: chosen.scope.contains(&scope),
                label: scope.clone(),
                value: scope,
            })
            .collect(),
        algorithms: state
            .key_policy
            .algorithms
            .iter()
            .map(|alg| Choice {
                value: alg.as_str().to_owned(),
                label: alg.as_str().to_owned(),
                chosen: alg.as_str() == chosen.alg,
            })
            .collect(),
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/clients/new`.
pub async fn new_form(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    crate::endpoints::console::require_writer(&admin)?;
    let page = Page::new(&state, &http, &admin);
    let form = ClientForm {
        require_pkce: true,
        ..ClientForm::default()
    };
    let chosen = Choices {
        auth_method: ClientAuthMethod::ClientSecretBasic.as_str().to_owned(),
        grant_types: vec![GrantType::AuthorizationCode.as_str().to_owned()],
        scope: vec![scopes::OPENID.to_owned()],
        alg: "RS256".to_owned(),
    };
    form_page(&state, &page, None, form, chosen, FieldErrors::none()).await
}

fn form_values(params: &Params) -> ClientForm {
    let text = |name: &str| params.get(name).unwrap_or_default().to_owned();
    ClientForm {
        name: text("name"),
        redirect_uris: text("redirect_uris"),
        post_logout_redirect_uris: text("post_logout_redirect_uris"),
        backchannel_logout_uri: text("backchannel_logout_uri"),
        refresh_idle_ttl: text("refresh_idle_ttl"),
        refresh_absolute_ttl: text("refresh_absolute_ttl"),
        refresh_for_online_sessions: params.get("refresh_for_online_sessions") == Some("true"),
        jwks: text("jwks"),
        jwks_uri: text("jwks_uri"),
        require_mfa: params.get("require_mfa") == Some("true"),
        require_pkce: params.get("require_pkce") == Some("true"),
        require_pushed_requests: params.get("require_pushed_requests") == Some("true"),
        pairwise_subjects: params.get("pairwise_subjects") == Some("true"),
        dpop_bound_access_tokens: params.get("dpop_bound_access_tokens") == Some("true"),
        rate_limit_per_minute: text("rate_limit_per_minute"),
    }
}

fn chosen(params: &Params) -> Choices {
    Choices {
        auth_method: params
            .get("token_endpoint_auth_method")
            .unwrap_or_default()
            .to_owned(),
        grant_types: params.all("grant_types").to_vec(),
        scope: params.all("scope").to_vec(),
        alg: params
            .get("id_token_signed_response_alg")
            .unwrap_or_default()
            .to_owned(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The numbers of the form, or the errors beside their fields.
struct Numbers {
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    rate_limit_per_minute: Option<u32>,
}

fn numbers(form: &ClientForm) -> Result<Numbers, FieldErrors> {
    let mut errors = FieldErrors::none();
    let mut number = |field: &'static str, text: &str| -> Option<i64> {
        optional_number(text).unwrap_or_else(|message| {
            errors.add(field, message);
            None
        })
    };
    let refresh_idle_ttl = number("refresh_idle_ttl", &form.refresh_idle_ttl);
    let refresh_absolute_ttl = number("refresh_absolute_ttl", &form.refresh_absolute_ttl);
    let rate_limit =
        optional_number::<u32>(&form.rate_limit_per_minute).unwrap_or_else(|message| {
            errors.add("rate_limit_per_minute", message);
            None
        });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Numbers {
        refresh_idle_ttl,
        refresh_absolute_ttl,
        rate_limit_per_minute: rate_limit,
    })
}

fn failure(error: ClientError) -> ConsoleError {
    match error {
        ClientError::NotFound(_) => not_found("such client"),
        other => Internal::log(other).into(),
    }
}

fn invalid(error: ClientError) -> Result<FieldErrors, ConsoleError> {
    match error {
        ClientError::Invalid(invalid) => Ok(FieldErrors::one(
            invalid.field().metadata_name(),
            sentence(&invalid),
        )),
        other => Err(failure(other)),
    }
}

/// `POST /admin/clients/new`: registers the client and shows its page
/// with the secret, this once.
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let form = form_values(&params);
    let choices = chosen(&params);
    let page = Page::new(&state, &http, &admin);
    let numbers = match numbers(&form) {
        Ok(numbers) => numbers,
        Err(errors) => {
            return form_page(&state, &page, None, form, choices, errors).await;
        }
    };
    let registration = ClientRegistration {
        name: form.name.clone(),
        redirect_uris: lines(&form.redirect_uris),
        post_logout_redirect_uris: lines(&form.post_logout_redirect_uris),
        grant_types: choices.grant_types.clone(),
        auth_method: choices.auth_method.clone(),
        scope: choices.scope.join(" "),
        id_token_alg: choices.alg.clone(),
        refresh_idle_ttl: numbers.refresh_idle_ttl,
        refresh_absolute_ttl: numbers.refresh_absolute_ttl,
        refresh_for_online_sessions: form.refresh_for_online_sessions,
        backchannel_logout_uri: non_empty(&form.backchannel_logout_uri),
        require_mfa: form.require_mfa,
        pkce_optional: !form.require_pkce,
        require_pushed_requests: form.require_pushed_requests,
        rate_limit_per_minute: numbers.rate_limit_per_minute,
        jwks: non_empty(&form.jwks),
        jwks_uri: non_empty(&form.jwks_uri),
        pairwise_subjects: form.pairwise_subjects,
        dpop_bound_access_tokens: form.dpop_bound_access_tokens,
    };
    let (enabled, master_key, actor, now) = (
        state.key_policy.algorithms.clone(),
        state.master_key().clone(),
        admin.user.id.clone(),
        state.now(),
    );
    let created = state
        .db(move |store| {
            Ok(clients::create(
                store,
                registration,
                &enabled,
                &master_key,
                &actor,
                now,
            ))
        })
        .await?;
    match created {
        Ok(registered) => {
            let client = registered.client;
            show_client(
                &page,
                &client,
                registered.secret.as_deref(),
                FieldErrors::none(),
            )
        }
        Err(error) => {
            let errors = invalid(error)?;
            form_page(&state, &page, None, form, choices, errors).await
        }
    }
}

fn show_client(
    page: &Page<'_>,
    client: &Client,
    secret: Option<&str>,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let view = ClientView::from(client);
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let optional = |value: Option<i64>| {
        value.map_or_else(|| "server default".to_owned(), |v| format!("{v} s"))
    };
    let settings = vec![
        Setting {
            name: "Authentication",
            value: view.token_endpoint_auth_method.to_owned(),
        },
        Setting {
            name: "Grant types",
            value: view.grant_types.join(", "),
        },
        Setting {
            name: "Redirect URIs",
            value: list(view.redirect_uris),
        },
        Setting {
            name: "Post-logout redirect URIs",
            value: list(view.post_logout_redirect_uris),
        },
        Setting {
            name: "Scopes",
            value: view.scope.clone(),
        },
        Setting {
            name: "ID token algorithm",
            value: view.id_token_signed_response_alg.to_owned(),
        },
        Setting {
            name: "Refresh-token idle lifetime",
            value: optional(view.refresh_idle_ttl),
        },
        Setting {
            name: "Refresh-token absolute lifetime",
            value: optional(view.refresh_absolute_ttl),
        },
        Setting {
            name: "Refresh tokens without offline_access",
            value: yes_no(view.refresh_for_online_sessions),
        },
        Setting {
            name: "Back-channel logout URI",
            value: view.backchannel_logout_uri.unwrap_or("none").to_owned(),
        },
        Setting {
            name: "Second factor required",
            value: yes_no(view.require_mfa),
        },
        Setting {
            name: "PKCE required",
            value: yes_no(view.require_pkce),
        },
        Setting {
            name: "Pushed authorization requests required",
            value: yes_no(view.require_pushed_authorization_requests),
        },
        Setting {
            name: "DPoP proofs required",
            value: yes_no(view.dpop_bound_access_tokens),
        },
        Setting {
            name: "Subject identifiers",
            value: match view.sector_identifier {
                Some(sector) => format!("pairwise, for sector {sector}"),
                None => "public (the user ids)".to_owned(),
            },
        },
        Setting {
            name: "Token requests per minute",
            value: view
                .rate_limit_per_minute
                .map_or_else(|| "server default".to_owned(), |limit| limit.to_string()),
        },
        Setting {
            name: "Keys for private_key_jwt",
            value: match (&client.jwks, &client.jwks_uri) {
                (Some(_), _) => "a JWKS, given inline".to_owned(),
                (None, Some(uri)) => uri.clone(),
                (None, None) => "none".to_owned(),
            },
        },
        Setting {
            name: "Registered",
            value: view.created_at.clone(),
        },
    ];
    let has_secret = matches!(
        client.auth_method,
        ClientAuthMethod::ClientSecretBasic
            | ClientAuthMethod::ClientSecretPost
            | ClientAuthMethod::ClientSecretJwt
    );
    let page_view = ClientPage {
        frame: page.frame("clients"),
        client_id: &client.client_id,
        name: &client.name,
        disabled: client.disabled,
        has_secret,
        built_in: client.client_id == CONSOLE_CLIENT_ID,
        settings,
        secret,
        errors,
    };
    page.respond(&page_view, &page_view.errors)
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

async fn stored(state: &AppState, client_id: String) -> Result<Client, ConsoleError> {
    state
        .db(move |store| store.find_client(&client_id))
        .await?
        .ok_or_else(|| not_found("such client"))
}

/// `GET /admin/clients/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    let client = stored(&state, client_id.into_inner()).await?;
    let page = Page::new(&state, &http, &admin);
    show_client(&page, &client, None, FieldErrors::none())
}

/// `GET /admin/clients/{id}/edit`.
pub async fn edit_form(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    crate::endpoints::console::require_writer(&admin)?;
    let client = stored(&state, client_id.into_inner()).await?;
    let page = Page::new(&state, &http, &admin);
    let form = ClientForm {
        require_mfa: client.require_mfa,
        require_pkce: client.require_pkce,
        require_pushed_requests: client.require_pushed_requests,
        rate_limit_per_minute: client
            .rate_limit_per_minute
            .map(|limit| limit.to_string())
            .unwrap_or_default(),
        ..ClientForm::default()
    };
    let chosen = Choices {
        auth_method: client.auth_method.as_str().to_owned(),
        grant_types: vec![],
        scope: client.scopes.clone(),
        alg: client.id_token_signed_response_alg.clone(),
    };
    form_page(
        &state,
        &page,
        Some(&client.client_id),
        form,
        chosen,
        FieldErrors::none(),
    )
    .await
}

/// `POST /admin/clients/{id}/edit`.
pub async fn edit(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let client = stored(&state, client_id.into_inner()).await?;
    let form = form_values(&params);
    let choices = chosen(&params);
    let page = Page::new(&state, &http, &admin);
    let rate_limit = match optional_number::<u32>(&form.rate_limit_per_minute) {
        Ok(limit) => limit,
        Err(message) => {
            let errors = FieldErrors::one("rate_limit_per_minute", message);
            return form_page(
                &state,
                &page,
                Some(&client.client_id),
                form,
                choices,
                errors,
            )
            .await;
        }
    };
    let update = ClientUpdate {
        id_token_alg: Some(choices.alg.clone()),
        require_mfa: Some(form.require_mfa),
        require_pkce: Some(form.require_pkce),
        require_pushed_requests: Some(form.require_pushed_requests),
        // Empty means the server's default, which 0 ("no limit") is not.
        rate_limit_per_minute: rate_limit,
        scope: Some(choices.scope.join(" ")),
    };
    let (enabled, actor, now, id) = (
        state.key_policy.algorithms.clone(),
        admin.user.id.clone(),
        state.now(),
        client.client_id.clone(),
    );
    let updated = state
        .db(move |store| Ok(clients::update(store, &id, &update, &enabled, &actor, now)))
        .await?;
    match updated {
        Ok(_) => Ok(done(
            &format!("/admin/clients/{}", client.client_id),
            "client-updated",
        )),
        Err(error) => {
            let errors = invalid(error)?;
            form_page(
                &state,
                &page,
                Some(&client.client_id),
                form,
                choices,
                errors,
            )
            .await
        }
    }
}

/// Re-shows the client page with `errors` after a refused action.
async fn refused_action(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    client_id: String,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let client = stored(state, client_id).await?;
    let page = Page::new(state, http, admin);
    show_client(&page, &client, None, errors)
}

/// `POST /admin/clients/{id}/rotate-secret`: a new secret, shown once.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let client_id = client_id.into_inner();
    if let Confirmation::Refused(message) = confirm(&state, &http, &admin, &params).await? {
        let errors = FieldErrors::one("confirm-rotate", message);
        return refused_action(&state, &http, &admin, client_id, errors).await;
    }
    let (master_key, actor, now, id) = (
        state.master_key().clone(),
        admin.user.id.clone(),
        state.now(),
        client_id.clone(),
    );
    let rotated = state
        .db(move |store| Ok(clients::rotate_secret(store, &id, &master_key, &actor, now)))
        .await?;
    let secret = match rotated {
        Ok(secret) => {
            state.recent_clients.forget(&client_id);
            secret
        }
        Err(ClientError::NoSecret(method)) => {
            let errors = FieldErrors::one(
                "confirm-rotate",
                format!("A client using {method} has no secret to rotate."),
            );
            return refused_action(&state, &http, &admin, client_id, errors).await;
        }
        Err(error) => return Err(failure(error)),
    };
    let admin = crate::endpoints::console::signed_in(&state, &http).await?;
    let client = stored(&state, client_id).await?;
    let page = Page::new(&state, &http, &admin);
    show_client(&page, &client, Some(&secret), FieldErrors::none())
}

/// Where a change to a client's state leads: to `path` with `notice`,
/// or back to the client's page when the service refused it.
async fn changed(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    client_id: String,
    outcome: Result<(), ClientError>,
    (path, notice): (&str, &str),
) -> Result<HttpResponse, ConsoleError> {
    match outcome {
        Ok(()) => {
            state.recent_clients.forget(&client_id);
            Ok(done(path, notice))
        }
        Err(ClientError::BuiltIn) => {
            let errors = FieldErrors::one("confirm-delete", sentence(ClientError::BuiltIn));
            refused_action(state, http, admin, client_id, errors).await
        }
        Err(error) => Err(failure(error)),
    }
}

async fn set_disabled(
    state: &AppState,
    http: &HttpRequest,
    client_id: String,
    body: &[u8],
    disabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, _) = writer_form(state, http, body).await?;
    let (actor, now, id) = (admin.user.id.clone(), state.now(), client_id.clone());
    let outcome = state
        .db(move |store| Ok(clients::set_disabled(store, &id, disabled, &actor, now)))
        .await?;
    let notice = if disabled {
        "client-disabled"
    } else {
        "client-enabled"
    };
    let path = format!("/admin/clients/{client_id}");
    changed(state, http, &admin, client_id, outcome, (&path, notice)).await
}

/// `POST /admin/clients/{id}/disable`.
pub async fn disable(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(&state, &http, client_id.into_inner(), &body, true).await
}

/// `POST /admin/clients/{id}/enable`.
pub async fn enable(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(&state, &http, client_id.into_inner(), &body, false).await
}

/// `POST /admin/clients/{id}/delete`: needs a recent confirmation.
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let client_id = client_id.into_inner();
    if let Confirmation::Refused(message) = confirm(&state, &http, &admin, &params).await? {
        let errors = FieldErrors::one("confirm-delete", message);
        return refused_action(&state, &http, &admin, client_id, errors).await;
    }
    let (actor, now, id) = (admin.user.id.clone(), state.now(), client_id.clone());
    let outcome = state
        .db(move |store| Ok(clients::delete(store, &id, &actor, now)))
        .await?;
    changed(
        &state,
        &http,
        &admin,
        client_id,
        outcome,
        ("/admin/clients", "client-deleted"),
    )
    .await
}
