//! `/admin/groups` and `/admin/roles`: groups and their members, and the
//! API roles granted to users, groups and clients.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::console::{FieldErrors, GrantRow, GroupRow, GroupsPage};
use ferrid_service::groups::{self, GroupError, Holder};
use ferrid_store::Principal;

use crate::console_session::ConsoleAdmin;
use crate::endpoints::console::{
    done, field, sentence, signed_in, writer_form, ConsoleError, Page,
};
use crate::error::Internal;
use crate::state::AppState;

async fn page_with(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    errors: FieldErrors,
) -> Result<HttpResponse, ConsoleError> {
    let (listed, grants) = state
        .db(|store| {
            let listed = groups::list(store).map_err(|error| match error {
                GroupError::Store(store) => store,
                other => ferrid_store::StoreError::Corrupt(other.to_string()),
            })?;
            let mut grants = Vec::new();
            for api in store.list_apis()? {
                for grant in store.role_grants(&api.identifier)? {
                    let (kind, holder) = match &grant.principal {
                        Principal::User(id) => (
                            "user",
                            store
                                .find_user(id)?
                                .map_or_else(|| id.clone(), |user| user.username),
                        ),
                        Principal::Group(name) => ("group", name.clone()),
                        Principal::Client(id) => ("client", id.clone()),
                    };
                    grants.push(GrantRow {
                        kind: kind.to_owned(),
                        holder,
                        api: api.identifier.clone(),
                        role: grant.role.clone(),
                    });
                }
            }
            Ok((listed, grants))
        })
        .await?;
    let page = Page::new(state, http, admin);
    let view = GroupsPage {
        frame: page.frame("groups"),
        groups: listed
            .into_iter()
            .map(|(group, members)| GroupRow {
                name: group.name,
                description: group.description,
                members,
            })
            .collect(),
        grants,
        errors,
    };
    page.respond(&view, &view.errors)
}

/// `GET /admin/groups`.
pub async fn list(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    page_with(&state, &http, &admin, FieldErrors::none()).await
}

/// Runs a group operation; its refusal is shown beside the field that
/// `field` picks for it.
async fn change(
    state: &AppState,
    http: &HttpRequest,
    admin: &ConsoleAdmin,
    field: fn(&GroupError) -> &'static str,
    operation: impl FnOnce(&ferrid_store::Store, &str, i64) -> Result<(), GroupError> + Send + 'static,
) -> Result<HttpResponse, ConsoleError> {
    let (actor, now) = (admin.user.id.clone(), state.now());
    let outcome = state
        .db(move |store| Ok(operation(store, &actor, now)))
        .await?;
    match outcome {
        Ok(()) => Ok(done("/admin/groups", "groups-saved")),
        Err(GroupError::Store(error)) => Err(Internal::log(error).into()),
        Err(refused) => {
            let errors = FieldErrors::one(field(&refused), sentence(&refused));
            page_with(state, http, admin, errors).await
        }
    }
}

/// `POST /admin/groups`: creates a group.
pub async fn create(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let name = field(&params, "group_name");
    let description = field(&params, "description");
    change(
        &state,
        &http,
        &admin,
        |_| "group_name",
        move |store, actor, now| groups::create(store, &name, &description, actor, now).map(|_| ()),
    )
    .await
}

/// `POST /admin/groups/members`: adds or removes a member.
pub async fn members(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let group = field(&params, "member_group");
    let username = field(&params, "member_username");
    let add = params.get("member") != Some("remove");
    let field = |error: &GroupError| match error {
        GroupError::User(_) => "member_username",
        _ => "member_group",
    };
    change(&state, &http, &admin, field, move |store, actor, now| {
        groups::set_member(store, &group, &username, add, actor, now)
    })
    .await
}

/// `POST /admin/groups/delete`.
pub async fn delete(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let name = field(&params, "delete_group");
    change(
        &state,
        &http,
        &admin,
        |_| "delete_group",
        move |store, actor, now| groups::delete(store, &name, actor, now),
    )
    .await
}

/// `POST /admin/roles`: grants or revokes an API role.
pub async fn roles(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (admin, params) = writer_form(&state, &http, &body).await?;
    let name = field(&params, "holder");
    let holder = match params.get("holder_kind") {
        Some("group") => Holder::Group(name),
        Some("client") => Holder::Client(name),
        _ => Holder::User(name),
    };
    let api = field(&params, "api");
    let role = field(&params, "role");
    let granted = params.get("grant") != Some("revoke");
    let field = |error: &GroupError| match error {
        GroupError::UnknownRole { .. } => "role",
        GroupError::Api(_) => "api",
        _ => "holder",
    };
    change(&state, &http, &admin, field, move |store, actor, now| {
        groups::set_role(store, &api, &role, &holder, granted, actor, now)
    })
    .await
}
