//! Which `FERRID_*` environment variables are settings. Unknown keys in
//! the TOML file are errors, but the environment is shared with whatever
//! runs beside ferrid: Kubernetes injects service links such as
//! `FERRID_PORT`, `FERRID_SERVICE_HOST` and `FERRID_PORT_8080_TCP_ADDR` into
//! every pod of a namespace with a Service named `ferrid`, so a variable
//! that names no setting is ignored with a warning naming the closest key
//! (a typo still shows at once), and service links are ignored silently.

use std::ffi::OsString;

/// The prefix of ferrid's environment variables.
pub const PREFIX: &str = "FERRID_";

/// What a `FERRID_*` variable is, judged by the rest of its name.
#[derive(Debug, PartialEq, Eq)]
pub enum Variable {
    /// It names a setting.
    Setting,
    /// It belongs to something else: `FERRID_CONFIG` (the file itself),
    /// `FERRID_TEST_*` (the test suite) or a Kubernetes service link.
    NotASetting,
    /// It names nothing: most likely a typo.
    Unknown,
}

/// Classifies `key`, the part after `FERRID_`, with nested keys split by
/// `__` or already dotted, against the `known` setting keys.
pub fn classify(key: &str, known: &[String]) -> Variable {
    let key = key.to_ascii_lowercase().replace("__", ".");
    if known.contains(&key) {
        Variable::Setting
    } else if key == "config" || key.starts_with("test_") || is_service_link(&key) {
        Variable::NotASetting
    } else {
        Variable::Unknown
    }
}

/// Kubernetes service-link variables of a Service named `ferrid`:
/// `_SERVICE_HOST`, `_SERVICE_PORT`, `_SERVICE_PORT_<NAME>`, `_PORT` and
/// `_PORT_<number>_<protocol>[_ADDR|_PORT|_PROTO]`.
fn is_service_link(key: &str) -> bool {
    if key == "port" || key == "service_host" || key == "service_port" {
        return true;
    }
    if key.starts_with("service_port_") {
        return true;
    }
    let Some(rest) = key.strip_prefix("port_") else {
        return false;
    };
    let mut parts = rest.split('_');
    let number = parts.next().unwrap_or_default();
    let protocol = parts.next().unwrap_or_default();
    let field = parts.next();
    !number.is_empty()
        && number.bytes().all(|byte| byte.is_ascii_digit())
        && matches!(protocol, "tcp" | "udp" | "sctp")
        && matches!(field, None | Some("addr" | "port" | "proto"))
        && parts.next().is_none()
}

/// A warning for every `FERRID_*` variable in `variables` that names no
/// setting, naming the closest known key.
pub fn unknown_variable_warnings(
    variables: impl IntoIterator<Item = (OsString, OsString)>,
    known: &[String],
) -> Vec<String> {
    let mut warnings: Vec<String> = variables
        .into_iter()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter_map(|name| {
            let key = name.strip_prefix(PREFIX)?;
            (classify(key, known) == Variable::Unknown).then(|| {
                let suggestion = closest(key, known)
                    .map(|setting| format!("; did you mean {}?", variable_of(setting)))
                    .unwrap_or_default();
                format!("ignoring environment variable {name}: it names no setting{suggestion}")
            })
        })
        .collect();
    warnings.sort();
    warnings
}

/// The known key most like `key`.
fn closest<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    let key = key.to_ascii_lowercase().replace("__", ".");
    known
        .iter()
        .map(|setting| (strsim::levenshtein(&key, setting), setting))
        .min()
        .map(|(_, setting)| setting.as_str())
}

/// The environment variable that sets `key`.
pub fn variable_of(key: &str) -> String {
    format!("{PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        [
            "issuer",
            "bind",
            "argon2.memory_kib",
            "rate_limits.failures_per_hour",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn settings_and_their_nesting_are_recognised() {
        assert_eq!(classify("ISSUER", &known()), Variable::Setting);
        assert_eq!(classify("ARGON2__MEMORY_KIB", &known()), Variable::Setting);
        assert_eq!(classify("argon2.memory_kib", &known()), Variable::Setting);
        assert_eq!(classify("ISUER", &known()), Variable::Unknown);
        assert_eq!(classify("ARGON2__MEMORY", &known()), Variable::Unknown);
    }

    #[test]
    fn kubernetes_service_links_and_our_own_variables_are_not_settings() {
        for key in [
            "PORT",
            "SERVICE_HOST",
            "SERVICE_PORT",
            "SERVICE_PORT_HTTP",
            "PORT_8080_TCP",
            "PORT_8080_TCP_ADDR",
            "PORT_8080_TCP_PORT",
            "PORT_8080_TCP_PROTO",
            "PORT_53_UDP_ADDR",
            "CONFIG",
            "TEST_POSTGRES_URL",
        ] {
            assert_eq!(classify(key, &known()), Variable::NotASetting, "{key}");
        }
        for key in ["PORT_8080", "PORT_X_TCP", "PORT_8080_TCP_HOST", "PORTS"] {
            assert_eq!(classify(key, &known()), Variable::Unknown, "{key}");
        }
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_setting() {
        let variables = [
            ("FERRID_ISUER", "x"),
            ("FERRID_ISSUER", "x"),
            ("FERRID_PORT", "tcp://10.0.0.1:8080"),
            ("FERRID_RATE_LIMITS__FAILURES_PER_HOU", "5"),
            ("OTHER_ISUER", "x"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let warnings = unknown_variable_warnings(variables, &known());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("FERRID_ISUER") && warnings[0].ends_with("FERRID_ISSUER?"));
        assert!(warnings[1].ends_with("FERRID_RATE_LIMITS__FAILURES_PER_HOUR?"));
    }
}
