//! Authorization request parameters (query string or form body), against
//! a public and a confidential client and an unknown one: must never
//! panic, whatever the bytes.

#![no_main]

use ferrid_server::authorize::request::validate;
use ferrid_server::http::Params;
use ferrid_store::{Client, ClientAuthMethod};
use libfuzzer_sys::fuzz_target;

fn client(auth_method: ClientAuthMethod) -> Client {
    Client {
        client_id: "app".into(),
        name: "App".into(),
        auth_method,
        redirect_uris: vec!["https://app.example/cb".into()],
        grant_types: vec![ferrid_store::GrantType::AuthorizationCode],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        id_token_signed_response_alg: "RS256".into(),
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    let public = client(ClientAuthMethod::None);
    let confidential = client(ClientAuthMethod::ClientSecretBasic);
    for client in [Some(&public), Some(&confidential), None] {
        if let Ok(request) = validate(&params, client) {
            // A validated request is stored as JSON and read back.
            let stored = serde_json::to_string(&request).expect("serialisable");
            let _: ferrid_server::authorize::request::AuthorizationRequest =
                serde_json::from_str(&stored).expect("round trip");
        }
    }
});
