//! `ferrid client …`

use ferrid_service::audit::actors;
use ferrid_service::clients::{
    self, ClientError, ClientRegistration, ClientUpdate, ClientView, Field,
};
use ferrid_service::{Clock, SystemClock};
use ferrid_tokens::SigningAlgorithm;
use serde_json::json;

use crate::app;
use crate::cli::{ClientCommand, ClientCreate, SubjectType};
use crate::config::Config;
use crate::output::emit;

/// The text `client show` prints.
trait Human {
    fn human(&self) -> String;
}

impl Human for ClientView<'_> {
    fn human(&self) -> String {
        format!(
            "client_id:     {}\nname:          {}\nauth method:   {}\ngrants:        {}\nscope:         {}\nID token alg:  {}\nrequire MFA:   {}\nrequire PKCE:  {}\nrequire PAR:   {}\nredirect URIs: {}\npost-logout:   {}\ncreated:       {}",
            self.client_id,
            self.name,
            self.token_endpoint_auth_method,
            self.grant_types.join(", "),
            self.scope,
            self.id_token_signed_response_alg,
            self.require_mfa,
            self.require_pkce,
            self.require_pushed_authorization_requests,
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
            require_pkce,
            require_par,
            rate_limit_per_minute,
            scope,
        } => {
            if id_token_alg.is_none()
                && require_mfa.is_none()
                && require_pkce.is_none()
                && require_par.is_none()
                && rate_limit_per_minute.is_none()
                && scope.is_none()
            {
                anyhow::bail!(
                    "nothing to change: give --id-token-alg, --require-mfa, --require-pkce, --require-par, --rate-limit-per-minute or --scope"
                );
            }
            let update = ClientUpdate {
                id_token_alg,
                require_mfa,
                require_pkce,
                require_pushed_requests: require_par,
                rate_limit_per_minute,
                scope,
            };
            let changes = clients::update(
                &store,
                &client_id,
                &update,
                &config.signing_algorithms()?,
                actors::CLI,
                SystemClock.now(),
            )
            .map_err(cli_error)?;
            emit(
                json,
                &json!({
                    "client_id": client_id,
                    "id_token_signed_response_alg": update.id_token_alg,
                    "require_mfa": require_mfa,
                    "require_pkce": require_pkce,
                    "require_pushed_authorization_requests": require_par,
                    "rate_limit_per_minute": rate_limit_per_minute,
                    "scope": update.scope,
                }),
                || format!("Updated client {client_id}: {}.", changes.join(", ")),
            )
        }
        ClientCommand::List => {
            let clients = clients::list(&store)?;
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
            let client = clients::show(&store, &client_id).map_err(cli_error)?;
            let view = ClientView::from(&client);
            emit(json, &view, || view.human())
        }
        ClientCommand::Delete { client_id } => {
            clients::delete(&store, &client_id, actors::CLI, SystemClock.now())
                .map_err(cli_error)?;
            emit(json, &json!({ "deleted": client_id }), || {
                format!("Deleted client {client_id}.")
            })
        }
        ClientCommand::RotateSecret { client_id } => {
            let master_key = app::master_key(config, &store)?;
            let secret = clients::rotate_secret(
                &store,
                &client_id,
                &master_key,
                actors::CLI,
                SystemClock.now(),
            )
            .map_err(cli_error)?;
            emit(
                json,
                &json!({ "client_id": client_id, "client_secret": secret }),
                || format!("New secret of {client_id} (shown once): {secret}"),
            )
        }
        ClientCommand::Disable { client_id } => set_disabled(&store, json, &client_id, true),
        ClientCommand::Enable { client_id } => set_disabled(&store, json, &client_id, false),
        ClientCommand::InitialAccessToken { ttl, uses } => {
            if ttl <= 0 || uses.is_some_and(|uses| uses <= 0) {
                anyhow::bail!("--ttl and --uses must be positive");
            }
            let token = clients::create_initial_access_token(
                &store,
                ttl,
                uses,
                actors::CLI,
                SystemClock.now(),
            )
            .map_err(cli_error)?;
            emit(
                json,
                &json!({ "initial_access_token": token, "expires_in": ttl }),
                || format!("Initial access token (shown once, good for {ttl} s): {token}"),
            )
        }
    }
}

/// `client disable` and `client enable`.
fn set_disabled(
    store: &ferrid_store::Store,
    json: bool,
    client_id: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    clients::set_disabled(store, client_id, disabled, actors::CLI, SystemClock.now())
        .map_err(cli_error)?;
    emit(
        json,
        &json!({ "client_id": client_id, "disabled": disabled }),
        || {
            format!(
                "Client {client_id} is {}.",
                if disabled { "disabled" } else { "enabled" }
            )
        },
    )
}

/// The command-line flag that sets a registration field.
fn flag(field: Field) -> &'static str {
    match field {
        Field::Name => "--name",
        Field::AuthMethod => "--auth-method",
        Field::GrantTypes => "--grant",
        Field::RefreshSettings => "--refresh-idle-ttl/--refresh-absolute-ttl/--refresh-online",
        Field::RefreshLifetimes => "--refresh-idle-ttl/--refresh-absolute-ttl",
        Field::RefreshIdleTtl => "--refresh-idle-ttl",
        Field::RedirectUris => "--redirect-uri",
        Field::PostLogoutRedirectUris => "--post-logout-redirect-uri",
        Field::BackchannelLogoutUri => "--backchannel-logout-uri",
        Field::Scope => "--scope",
        Field::Jwks => "--jwks/--jwks-uri",
        Field::JwksUri => "--jwks-uri",
        Field::IdTokenAlg => "--id-token-alg",
        Field::RateLimit => "--rate-limit-per-minute",
    }
}

/// Says which flag a refused registration is about.
fn cli_error(error: ClientError) -> anyhow::Error {
    match error {
        ClientError::Invalid(invalid) => anyhow::anyhow!("{}: {invalid}", flag(invalid.field())),
        other => other.into(),
    }
}

/// The value of `--jwks`: JSON as given, or the contents of a file.
pub fn read_jwks(value: Option<String>) -> anyhow::Result<Option<String>> {
    Ok(match value {
        Some(value) if value.trim_start().starts_with('{') => Some(value),
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .map_err(|error| anyhow::anyhow!("cannot read --jwks {path}: {error}"))?,
        ),
        None => None,
    })
}

fn create(
    store: &ferrid_store::Store,
    enabled: &[SigningAlgorithm],
    master_key: &ferrid_tokens::MasterKey,
    json: bool,
    options: ClientCreate,
) -> anyhow::Result<()> {
    let jwks = read_jwks(options.jwks)?;
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
        pkce_optional: !options.require_pkce,
        require_pushed_requests: options.require_par,
        rate_limit_per_minute: options.rate_limit_per_minute,
        pairwise_subjects: options.subject_type == SubjectType::Pairwise,
        dpop_bound_access_tokens: options.require_dpop,
    };
    let registered = clients::create(
        store,
        registration,
        enabled,
        master_key,
        actors::CLI,
        SystemClock.now(),
    )
    .map_err(cli_error)?;
    let client_id = &registered.client.client_id;
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
