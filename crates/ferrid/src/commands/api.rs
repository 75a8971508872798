//! `ferrid api …`

use ferrid_service::apis::{
    self, ApiError, ApiRegistration, ApiUpdate, ApiView, IntrospectionAccess,
};
use ferrid_service::audit::actors;
use ferrid_service::{Clock, SystemClock};
use ferrid_store::{Api, ApiRole, ApiScope};
use serde_json::{json, Value};

use crate::app;
use crate::cli::{ApiCommand, ApiCreate, ApiUpdateArgs};
use crate::config::Config;
use crate::output::emit;

fn view(api: &Api) -> Value {
    json!(ApiView::from(api))
}

fn human(api: &Api) -> String {
    let mut lines = vec![
        format!("identifier:        {}", api.identifier),
        format!("name:              {}", api.name),
        format!(
            "access-token TTL:  {}",
            api.access_token_ttl
                .map_or("server default".to_owned(), |ttl| format!("{ttl} s"))
        ),
        format!(
            "signing alg:       {}",
            api.signing_alg.as_deref().unwrap_or("server default")
        ),
        format!(
            "introspection:     {}",
            api.introspection_client_id
                .as_deref()
                .map_or("not allowed".to_owned(), |id| format!("as client {id}"))
        ),
        "scopes:".to_owned(),
    ];
    lines.extend(
        api.scopes
            .iter()
            .map(|scope| format!("  {:<24} {}", scope.name, scope.description)),
    );
    lines.push("roles:".to_owned());
    lines.extend(
        api.roles
            .iter()
            .map(|role| format!("  {:<24} {}", role.name, role.description)),
    );
    lines.join("\n")
}

/// Parses `NAME=DESCRIPTION` (the description may be empty for roles).
fn named(value: &str) -> (String, String) {
    match value.split_once('=') {
        Some((name, description)) => (name.trim().to_owned(), description.trim().to_owned()),
        None => (value.trim().to_owned(), String::new()),
    }
}

fn scopes(values: &[String]) -> Vec<ApiScope> {
    values
        .iter()
        .map(|value| {
            let (name, description) = named(value);
            ApiScope { name, description }
        })
        .collect()
}

fn roles(values: &[String]) -> Vec<ApiRole> {
    values
        .iter()
        .map(|value| {
            let (name, description) = named(value);
            ApiRole { name, description }
        })
        .collect()
}

/// Runs an API command.
pub fn run(config: &Config, json: bool, command: ApiCommand) -> anyhow::Result<()> {
    let store = app::open_migrated_store(config)?;
    let now = SystemClock.now();
    match command {
        ApiCommand::Create(options) => {
            let master_key = app::master_key(config, &store)?;
            create(config, &store, &master_key, json, *options)
        }
        ApiCommand::List => {
            let all = apis::list(&store)?;
            emit(json, &all.iter().map(view).collect::<Vec<_>>(), || {
                let mut lines = vec![format!("{:<40} {:<24} SCOPES", "IDENTIFIER", "NAME")];
                lines.extend(all.iter().map(|api| {
                    format!(
                        "{:<40} {:<24} {}",
                        api.identifier,
                        api.name,
                        api.scopes
                            .iter()
                            .map(|scope| scope.name.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }));
                lines.join("\n")
            })
        }
        ApiCommand::Show { identifier } => {
            let api = apis::show(&store, &identifier).map_err(cli_error)?;
            emit(json, &view(&api), || human(&api))
        }
        ApiCommand::Update(options) => {
            let ApiUpdateArgs {
                identifier,
                name,
                add_scopes,
                remove_scopes,
                add_roles,
                remove_roles,
                access_token_ttl,
                signing_alg,
            } = *options;
            let update = ApiUpdate {
                name,
                add_scopes: scopes(&add_scopes),
                remove_scopes,
                add_roles: roles(&add_roles),
                remove_roles,
                access_token_ttl,
                signing_alg,
            };
            let api = apis::update(
                &store,
                &identifier,
                update,
                &config.signing_algorithms()?,
                actors::CLI,
                now,
            )
            .map_err(cli_error)?;
            emit(json, &view(&api), || human(&api))
        }
        ApiCommand::Delete { identifier } => {
            apis::delete(&store, &identifier, actors::CLI, now).map_err(cli_error)?;
            emit(json, &json!({ "deleted": identifier }), || {
                format!("Deleted API {identifier}.")
            })
        }
    }
}

/// Says which flag a refused registration is about.
fn cli_error(error: ApiError) -> anyhow::Error {
    use ferrid_service::apis::ApiRuleError as Rule;
    let flag = match &error {
        ApiError::Invalid(Rule::Identifier | Rule::IssuerIdentifier) => "--identifier: ",
        ApiError::Invalid(Rule::Name) => "--name: ",
        ApiError::Invalid(
            Rule::ReservedScope(_) | Rule::ScopeTaken(_) | Rule::ScopeDescription(_),
        ) => "--scope: ",
        ApiError::Invalid(Rule::InvalidName(_) | Rule::DuplicateRole(_)) => "--scope/--role: ",
        ApiError::Invalid(Rule::Lifetime) => "--access-token-ttl: ",
        ApiError::Invalid(Rule::SigningAlg(_)) => "--signing-alg: ",
        ApiError::Invalid(Rule::IntrospectionMethod) | ApiError::Credentials(_) => {
            "--introspection: "
        }
        _ => "",
    };
    anyhow::anyhow!("{flag}{error}")
}

fn create(
    config: &Config,
    store: &ferrid_store::Store,
    master_key: &ferrid_tokens::MasterKey,
    json: bool,
    options: ApiCreate,
) -> anyhow::Result<()> {
    let jwks = crate::commands::client::read_jwks(options.jwks)?;
    let introspection = options
        .introspection
        .map(|auth_method| IntrospectionAccess {
            auth_method,
            jwks,
            jwks_uri: options.jwks_uri,
        });
    let registration = ApiRegistration {
        identifier: options.identifier,
        name: options.name,
        scopes: scopes(&options.scopes),
        roles: roles(&options.roles),
        access_token_ttl: options.access_token_ttl,
        signing_alg: options.signing_alg,
        introspection,
    };
    let registered = apis::create(
        store,
        registration,
        &config.issuer,
        &config.signing_algorithms()?,
        master_key,
        actors::CLI,
        SystemClock.now(),
    )
    .map_err(cli_error)?;
    let client_id = registered
        .introspection
        .as_ref()
        .map(|credentials| credentials.client.client_id.clone());
    let secret = registered
        .introspection
        .as_ref()
        .and_then(|credentials| credentials.secret.clone());
    let mut document = view(&registered.api);
    document["introspection_client_secret"] = json!(secret);
    emit(json, &document, || {
        let mut text = human(&registered.api);
        if let (Some(client_id), Some(secret)) = (&client_id, &secret) {
            text.push_str(&format!(
                "\n\nIntrospection credentials:\nclient_id:     {client_id}\nclient_secret: {secret}\n\nThe secret is shown only now; ferrid keeps only its digest."
            ));
        }
        text
    })
}
