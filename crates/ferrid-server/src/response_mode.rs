//! How an authorization response reaches the client's redirect URI: the
//! modes this server supports and their names.

use serde::{Deserialize, Serialize};

/// How the response reaches the client's redirect URI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the query string of a `303` redirect (RFC 6749 §4.1.2), the
    /// default for `response_type=code`.
    #[default]
    Query,
    /// In the body of a form the browser posts (OAuth 2.0 Form Post
    /// Response Mode): out of the URL, its history and its logs.
    FormPost,
}

impl ResponseMode {
    /// The modes `response_modes_supported` lists.
    pub const SUPPORTED: [&'static str; 2] = ["query", "form_post"];

    /// The mode a request names; `None` if it names one not supported.
    pub fn parse(value: Option<&str>) -> Option<ResponseMode> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}
