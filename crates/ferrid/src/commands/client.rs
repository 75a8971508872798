//! `ferrid client …`

use anyhow::bail;
use ferrid_server::audit::{Event, Outcome};
use ferrid_server::registration::{check_id_token_alg, register, ClientRegistration};
use ferrid_server::{Clock, SystemClock};
use ferrid_store::Client;
use ferrid_tokens::SigningAlgorithm;
use serde::Serialize;
use serde_json::json;

use crate::app;
use crate::cli::{ClientCommand, ClientCreate};
use crate::config::Config;
use crate::output::{emit, timestamp};

#[derive(Serialize)]
struct ClientView<'a> {
    client_id: &'a str,
    name: &'a str,
    token_endpoint_auth_method: &'a str,
    redirect_uris: &'a [String],
    post_logout_redirect_uris: &'a [String],
    grant_types: &'a [String],
    scope: String,
    id_token_signed_response_alg: &'a str,
    refresh_idle_ttl: Option<i64>,
    refresh_absolute_ttl: Option<i64>,
    refresh_for_online_sessions: bool,
    backchannel_logout_uri: Option<&'a str>,
    require_mfa: bool,
    created_at: String,
}

impl<'a> From<&'a Client> for ClientView<'a> {
    fn from(client: &'a Client) -> Self {
        ClientView {
            client_id: &client.client_id,
            name: &client.name,
            token_endpoint_auth_method: client.auth_method.as_str(),
            redirect_uris: &client.redirect_uris,
            post_logout_redirect_uris: &client.post_logout_redirect_uris,
            grant_types: &client.grant_types,
            scope: client.scopes.join(" "),
            id_token_signed_response_alg: &client.id_token_signed_response_alg,
            refresh_idle_ttl: client.refresh_idle_ttl,
            refresh_absolute_ttl: client.refresh_absolute_ttl,
            refresh_for_online_sessions: client.refresh_for_online_sessions,
            backchannel_logout_uri: client.backchannel_logout_uri.as_deref(),
            require_mfa: client.require_mfa,
            created_at: timestamp(client.created_at),
        }
    }
}

impl ClientView<'_> {
    fn human(&self) -> String {
        format!(
            "client_id:     {}\nname:          {}\nauth method:   {}\ngrants:        {}\nscope:         {}\nID token alg:  {}\nrequire MFA:   {}\nredirect URIs: {}\npost-logout:   {}\ncreated:       {}",
            self.client_id,
            self.name,
            self.token_endpoint_auth_method,
            self.grant_types.join(", "),
            self.scope,
            self.id_token_signed_response_alg,
            self.require_mfa,
            self.redirect_uris.join(" "),
            self.post_logout_redirect_uris.join(" "),
            self.created_at
        )
    }
}

/// Runs a client command.
pub fn run(config: &Config, json: bool, command: ClientCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    match command {
        ClientCommand::Create(options) => {
            let master_key = app::master_key(config, &store)?;
            create(
                &store,
                &config.signing_algorithms()?,
                &master_key,
                json,
                *options,
            )
        }
        ClientCommand::Update {
            client_id,
            id_token_alg,
            require_mfa,
        } => {
            if id_token_alg.is_none() && require_mfa.is_none() {
                bail!("nothing to change: give --id-token-alg and/or --require-mfa");
            }
            let alg = id_token_alg
                .map(|alg| {
                    check_id_token_alg(&alg, &config.signing_algorithms()?)
                        .map_err(anyhow::Error::msg)
                })
                .transpose()?;
            let mut changes = Vec::new();
            if let Some(alg) = alg {
                not_found_as_message(
                    store.set_client_id_token_alg(&client_id, alg.as_str()),
                    &client_id,
                )?;
                changes.push(format!("id_token_signed_response_alg={alg}"));
            }
            if let Some(required) = require_mfa {
                not_found_as_message(
                    store.set_client_require_mfa(&client_id, required),
                    &client_id,
                )?;
                changes.push(format!("require_mfa={required}"));
            }
            audit("client.update", &client_id)
                .detail(changes.join(" "))
                .record_now(&store, SystemClock.now())?;
            emit(
                json,
                &json!({
                    "client_id": client_id,
                    "id_token_signed_response_alg": alg.map(|alg| alg.as_str()),
                    "require_mfa": require_mfa,
                }),
                || format!("Updated client {client_id}: {}.", changes.join(", ")),
            )
        }
        ClientCommand::List => {
            let clients = store.list_clients()?;
            let views: Vec<ClientView> = clients.iter().map(ClientView::from).collect();
            emit(json, &views, || {
                let mut lines = vec![format!(
                    "{:<26} {:<20} {:<20} GRANTS",
                    "CLIENT_ID", "NAME", "AUTH METHOD"
                )];
                lines.extend(views.iter().map(|view| {
                    format!(
                        "{:<26} {:<20} {:<20} {}",
                        view.client_id,
                        view.name,
                        view.token_endpoint_auth_method,
                        view.grant_types.join(",")
                    )
                }));
                lines.join("\n")
            })
        }
        ClientCommand::Show { client_id } => {
            let Some(client) = store.find_client(&client_id)? else {
                bail!("no client with id {client_id}");
            };
            let view = ClientView::from(&client);
            emit(json, &view, || view.human())
        }
        ClientCommand::Delete { client_id } => {
            not_found_as_message(store.delete_client(&client_id), &client_id)?;
            audit("client.delete", &client_id).record_now(&store, SystemClock.now())?;
            emit(json, &json!({ "deleted": client_id }), || {
                format!("Deleted client {client_id}.")
            })
        }
    }
}

fn not_found_as_message(
    result: Result<(), ferrid_store::StoreError>,
    client_id: &str,
) -> anyhow::Result<()> {
    match result {
        Err(ferrid_store::StoreError::NotFound(_)) => bail!("no client with id {client_id}"),
        other => Ok(other?),
    }
}

fn audit(event: &str, client_id: &str) -> Event {
    Event::new(event, Outcome::Success)
        .actor("cli")
        .subject(client_id)
        .client(client_id)
}

fn create(
    store: &ferrid_store::Store,
    enabled: &[SigningAlgorithm],
    master_key: &ferrid_tokens::MasterKey,
    json: bool,
    options: ClientCreate,
) -> anyhow::Result<()> {
    let jwks = match options.jwks {
        Some(value) if value.trim_start().starts_with('{') => Some(value),
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .map_err(|error| anyhow::anyhow!("cannot read --jwks {path}: {error}"))?,
        ),
        None => None,
    };
    let registration = ClientRegistration {
        name: options.name,
        redirect_uris: options.redirect_uris,
        post_logout_redirect_uris: options.post_logout_redirect_uris,
        grant_types: options.grants,
        auth_method: options.auth_method,
        scope: options.scope,
        id_token_alg: options.id_token_alg,
        refresh_idle_ttl: options.refresh_idle_ttl,
        refresh_absolute_ttl: options.refresh_absolute_ttl,
        refresh_for_online_sessions: options.refresh_online,
        backchannel_logout_uri: options.backchannel_logout_uri,
        jwks,
        jwks_uri: options.jwks_uri,
        require_mfa: options.require_mfa,
    };
    let registered = register(registration, enabled, master_key, SystemClock.now())
        .map_err(anyhow::Error::msg)?;
    store.create_client(&registered.client)?;
    let client_id = &registered.client.client_id;
    audit("client.create", client_id)
        .detail(format!("name: {}", registered.client.name))
        .record_now(store, SystemClock.now())?;
    let secret = registered.secret.as_deref();
    emit(
        json,
        &json!({ "client_id": client_id, "client_secret": secret }),
        || {
            match secret {
            Some(secret) => format!(
                "client_id:     {client_id}\nclient_secret: {secret}\n\nThe secret is shown only now; ferrid keeps only its digest."
            ),
            None => format!("client_id: {client_id}\n(public client: no secret; it must use PKCE)"),
        }
        },
    )
}
