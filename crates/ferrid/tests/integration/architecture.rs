//! The shape of the code, checked from the sources: modules import each
//! other in one direction only, the server's layers are respected, and the
//! crates that must not know HTTP (or the layers above them) do not. The
//! rules are short and live here; docs/architecture.md explains them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `ferrid-server`, lowest first. A module may import
/// modules of its own layer or below; endpoints never import each other
/// (only what their resource folder's `mod.rs` shares).
/// Every module must be listed, so a new one is placed deliberately.
const SERVER_LAYERS: &[(&str, u8)] = &[
    // Foundations: plain types, rules and helpers.
    ("acr", 0),
    ("base_path", 0),
    ("blocking", 0),
    ("cookies", 0),
    ("error", 0),
    ("metrics", 0),
    ("http", 0),
    ("locale", 0),
    ("outbound", 0),
    ("paths", 0),
    ("pkce", 0),
    ("problem", 0),
    ("request_id", 0),
    ("response_mode", 0),
    ("security", 0),
    ("settings", 0),
    ("tls", 0),
    ("user_claims", 0),
    // Components: built from what they use, never from the whole state.
    ("backchannel", 1),
    ("branding", 1),
    ("caches", 1),
    ("client_assertion", 1),
    ("client_ip", 1),
    ("housekeeping", 1),
    ("lockout", 1),
    ("mail", 1),
    ("metadata", 1),
    ("mfa", 1),
    ("password_pool", 1),
    ("rate_limit", 1),
    ("resources", 1),
    ("subjects", 1),
    ("token_counter", 1),
    // The bundle of components every handler receives.
    ("state", 2),
    // Flows shared by endpoints.
    ("access_log", 3),
    ("admin_auth", 3),
    ("passkeys", 3),
    ("audit", 3),
    ("authorize", 3),
    ("bearer", 3),
    ("client_auth", 3),
    ("client_metadata", 3),
    ("console_session", 3),
    ("dpop", 3),
    ("email_link", 3),
    ("forms", 3),
    ("grants", 3),
    ("hint", 3),
    ("login_flow", 3),
    ("maintenance", 3),
    ("session", 3),
    ("user_accounts", 3),
    // One module per endpoint.
    ("endpoints", 4),
    // The routes.
    ("lib", 5),
];

/// Crates that must not name these crates in their sources.
const FORBIDDEN_CRATES: &[(&str, &[&str])] = &[
    (
        "ferrid-store",
        &[
            "actix_web",
            "ferrid_server",
            "ferrid_service",
            "ferrid_pages",
        ],
    ),
    (
        "ferrid-tokens",
        &[
            "actix_web",
            "ferrid_server",
            "ferrid_service",
            "ferrid_store",
        ],
    ),
    (
        "ferrid-pages",
        &[
            "actix_web",
            "ferrid_server",
            "ferrid_service",
            "ferrid_store",
            "ferrid_tokens",
        ],
    ),
    (
        "ferrid-service",
        &["actix_web", "ferrid_server", "ferrid_pages", "reqwest"],
    ),
];

/// CLI commands that administer (and so go through the service layer,
/// never the HTTP server's code).
const ADMIN_COMMANDS: &[&str] = &["audit.rs", "client.rs", "key.rs", "user.rs"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Module path (`a::b`, or `lib`) → source text, without test-only code.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    collect(src, src, &mut found);
    // Modules declared `#[cfg(test)] mod name;` are test code.
    let test_only: Vec<String> = found
        .iter()
        .flat_map(|(module, text)| {
            let parent = if module == "lib" {
                String::new()
            } else {
                format!("{module}::")
            };
            test_modules(text)
                .into_iter()
                .map(move |child| format!("{parent}{child}"))
        })
        .collect();
    found.retain(|module, _| !test_only.contains(module));
    found
}

fn collect(root: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|last| last == "mod") {
                parts.pop();
            }
            let module = parts.join("::");
            let text = std::fs::read_to_string(&path).unwrap();
            found.insert(module, without_tests(&text));
        }
    }
}

/// The text without its `#[cfg(test)] mod … { … }` blocks (other
/// attributes may stand between the two).
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = String::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].trim() == "#[cfg(test)]" {
            let mut item = index + 1;
            while item < lines.len() && lines[item].trim_start().starts_with("#[") {
                item += 1;
            }
            let opens_module = lines.get(item).is_some_and(|line| {
                let line = line.trim();
                (line.starts_with("mod ") || line.starts_with("pub mod ")) && line.ends_with('{')
            });
            if opens_module {
                // Skip to the line that closes the module.
                let mut depth = 0_usize;
                index = item;
                while index < lines.len() {
                    depth += lines[index].matches('{').count();
                    depth = depth.saturating_sub(lines[index].matches('}').count());
                    index += 1;
                    if depth == 0 {
                        break;
                    }
                }
                continue;
            }
        }
        kept.push_str(lines[index]);
        kept.push('\n');
        index += 1;
    }
    kept
}

fn test_modules(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|pair| pair[0] == "#[cfg(test)]")
        .filter_map(|pair| {
            let name = pair[1]
                .strip_prefix("mod ")
                .or_else(|| pair[1].strip_prefix("pub mod "))?;
            Some(name.strip_suffix(';')?.to_owned())
        })
        .collect()
}

/// The modules of `known` that `module`'s text refers to through
/// `crate::`, `super::` (any number of them) or `self::` paths, including
/// `use crate::{a, b::c}` groups.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for prefix in ["crate::", "super::", "self::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let preceded = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base = match prefix {
                "crate::" => String::new(),
                "super::" => parent(module),
                _ => module.to_owned(),
            };
            if prefix == "super::" {
                while let Some(after) = rest.strip_prefix("super::") {
                    base = parent(&base);
                    rest = after;
                }
            }
            let base = if base.is_empty() || base == "lib" {
                String::new()
            } else {
                format!("{base}::")
            };
            if let Some(group) = rest.strip_prefix('{') {
                let end = matching_brace(group);
                for item in flatten_group(&group[..end]) {
                    paths.push(format!("{base}{item}"));
                }
            } else {
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                paths.push(format!("{base}{path}"));
            }
        }
    }
    paths
        .iter()
        .filter_map(|path| resolve(path, known))
        .filter(|target| target != module)
        .collect()
}

fn parent(module: &str) -> String {
    match module.rsplit_once("::") {
        Some((parent, _)) => parent.to_owned(),
        None => String::new(),
    }
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return index,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// `a, b::{c, d}, e::f` → `a`, `b::c`, `b::d`, `e::f`.
fn flatten_group(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let mut parts = Vec::new();
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&group[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&group[start..]);
    for part in parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        match part.split_once("::{") {
            Some((head, inner)) => {
                let inner = inner.strip_suffix('}').unwrap_or(inner);
                for item in flatten_group(inner) {
                    items.push(format!("{head}::{item}"));
                }
            }
            None => items.push(part.split_whitespace().next().unwrap_or(part).to_owned()),
        }
    }
    items
}

/// The longest known module that `path` starts with.
fn resolve(path: &str, known: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|part| !part.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .map(|length| parts[..length].join("::"))
        .find(|candidate| known.contains(candidate))
}

/// Every cycle's members (strongly connected components of two or more).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability is enough at this size: two modules are in one cycle
    // when each reaches the other.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|node| (node, reach(node))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for node in graph.keys() {
        if !reaches[node].contains(node) || found.iter().any(|cycle| cycle.contains(node)) {
            continue;
        }
        let members = graph
            .keys()
            .filter(|other| reaches[node].contains(*other) && reaches[*other].contains(node))
            .cloned()
            .collect();
        found.push(members);
    }
    found
}

fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, text)| (module.clone(), imports(module, text, &known)))
        .collect()
}

fn layer_of(module: &str) -> Option<u8> {
    let top = module.split("::").next().unwrap_or(module);
    SERVER_LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, layer)| *layer)
}

/// The imports that break the server's layering.
fn layer_violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut violations = Vec::new();
    for (module, targets) in graph {
        let Some(layer) = layer_of(module) else {
            violations.push(format!("{module} has no layer in SERVER_LAYERS"));
            continue;
        };
        for target in targets {
            let Some(target_layer) = layer_of(target) else {
                continue;
            };
            if target_layer > layer {
                violations.push(format!(
                    "{module} (layer {layer}) imports {target} (layer {target_layer})"
                ));
            }
            // An endpoint may use what its resource's folder shares
            // (`endpoints::account` for `endpoints::account::totp`).
            let endpoint = |name: &str| name.starts_with("endpoints::");
            let shared_by_its_folder = module.starts_with(&format!("{target}::"));
            if endpoint(module) && endpoint(target) && !shared_by_its_folder {
                violations.push(format!("endpoint {module} imports endpoint {target}"));
            }
        }
    }
    violations
}

#[test]
fn no_crate_has_an_import_cycle() {
    for entry in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        let found = cycles(&graph_of(&src));
        assert!(
            found.is_empty(),
            "{}: modules import each other: {found:?}",
            src.display()
        );
    }
}

#[test]
fn the_server_keeps_its_layers() {
    let graph = graph_of(&workspace().join("crates/ferrid-server/src"));
    assert!(graph.len() > 40, "the server's modules were found");
    let violations = layer_violations(&graph);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn lower_crates_do_not_know_the_layers_above() {
    for (krate, forbidden) in FORBIDDEN_CRATES {
        let src = workspace().join("crates").join(krate).join("src");
        for (module, text) in modules(&src) {
            for name in *forbidden {
                assert!(
                    !text.contains(&format!("{name}::")) && !text.contains(&format!("use {name};")),
                    "{krate}::{module} uses {name}"
                );
            }
        }
    }
}

#[test]
fn admin_commands_use_the_service_layer_not_http_code() {
    let commands = workspace().join("crates/ferrid/src/commands");
    for file in ADMIN_COMMANDS {
        let text = std::fs::read_to_string(commands.join(file)).unwrap();
        assert!(
            !text.contains("ferrid_server"),
            "commands/{file} reaches into ferrid_server"
        );
        assert!(
            text.contains("ferrid_service"),
            "commands/{file} uses the service layer"
        );
    }
}

/// The checks find what they are for (a test that cannot fail proves
/// nothing).
#[test]
fn the_checks_catch_cycles_and_upward_imports() {
    let known: BTreeSet<String> = [
        "state",
        "mail",
        "endpoints",
        "endpoints::login",
        "endpoints::token",
        "grants",
        "grants::issue",
    ]
    .map(String::from)
    .into();
    let sources = [
        ("state", "use crate::mail::Mailer;"),
        ("mail", "fn f(state: &crate::state::AppState) {}"),
        (
            "endpoints::login",
            "use crate::{grants::issue::{self, TokenResponse}, endpoints::token};",
        ),
        ("endpoints::token", "use super::login;"),
        ("endpoints", ""),
        ("endpoints::account", ""),
        ("endpoints::account::totp", "use super::signed_in;"),
        ("grants", "use self::issue::TokenResponse;"),
        ("grants::issue", "use super::super::endpoints::Form;"),
    ];
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .map(|(module, text)| (module.to_string(), imports(module, text, &known)))
        .collect();
    assert_eq!(
        graph["endpoints::login"],
        ["grants::issue", "endpoints::token"]
            .map(String::from)
            .into()
    );
    assert_eq!(graph["grants"], ["grants::issue"].map(String::from).into());
    assert_eq!(
        graph["grants::issue"],
        ["endpoints"].map(String::from).into()
    );
    assert!(imports(
        "mail",
        "// crate::state in a comment is not an import",
        &known
    )
    .is_empty());
    let found = cycles(&graph);
    assert!(
        found.contains(&vec!["mail".to_owned(), "state".to_owned()]),
        "{found:?}"
    );
    assert!(found.contains(&vec![
        "endpoints::login".to_owned(),
        "endpoints::token".to_owned()
    ]));
    let violations = layer_violations(&graph);
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("mail (layer 1) imports state")),
        "{violations:?}"
    );
    assert!(violations
        .iter()
        .any(|v| v == "endpoint endpoints::token imports endpoint endpoints::login"));
    assert_eq!(
        without_tests(
            "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n"
        ),
        "use crate::a;\nuse crate::c;\n"
    );
    assert_eq!(
        without_tests("#[cfg(test)]\n#[allow(dead_code)]\nmod tests {\n    use crate::b;\n}\n"),
        ""
    );
    assert!(violations
        .iter()
        .any(|v| v == "grants::issue (layer 3) imports endpoints (layer 4)"));
}
