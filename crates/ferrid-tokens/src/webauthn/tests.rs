//! The §7.1 and §7.2 checks against the software authenticator, one
//! refusal at a time.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ciborium::Value as Cbor;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::testing::{cbor, SoftAuthenticator};
use super::*;

const ORIGIN: &str = "http://localhost:8080";
const USER_HANDLE: &str = "dXNlci1oYW5kbGUtMQ";

fn rp() -> RelyingParty {
    RelyingParty {
        id: "localhost".into(),
        origins: vec![ORIGIN.into(), "https://id.example.com".into()],
    }
}

fn creation_options(rp: &RelyingParty, challenge: &str) -> Value {
    CreationOptions {
        rp,
        rp_name: "ferrid",
        user_handle: USER_HANDLE,
        user_name: "ada@example.com",
        display_name: "Ada",
        challenge,
        exclude_credentials: &[],
    }
    .to_json()
}

/// A registration response for a fresh challenge, and the challenge.
fn registration(authenticator: &mut SoftAuthenticator) -> (String, String) {
    let challenge = new_challenge();
    let json = authenticator.register(&creation_options(&rp(), &challenge), ORIGIN);
    (json, challenge)
}

fn verify_registration(json: &str, challenge: &str) -> Result<NewPasskey, WebauthnError> {
    RegistrationResponse::parse(json)?.verify(&rp(), challenge)
}

fn registered(authenticator: &mut SoftAuthenticator) -> NewPasskey {
    let (json, challenge) = registration(authenticator);
    verify_registration(&json, &challenge).expect("registration verifies")
}

/// An assertion response for a fresh challenge, and the challenge.
fn assertion(authenticator: &mut SoftAuthenticator) -> (String, String) {
    let challenge = new_challenge();
    let json = authenticator.assert(&request_options(&rp(), &challenge, &[]), ORIGIN);
    (json, challenge)
}

fn verify_assertion(
    json: &str,
    challenge: &str,
    passkey: &NewPasskey,
) -> Result<VerifiedAssertion, WebauthnError> {
    AssertionResponse::parse(json)?.verify(
        &rp(),
        challenge,
        &StoredPasskey {
            public_key: &passkey.public_key,
            sign_count: passkey.sign_count,
            backup_eligible: passkey.backup_eligible,
        },
    )
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn edit_json(json: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(json).expect("JSON");
    edit(&mut value);
    value.to_string()
}

/// Changes a base64url member of `response`.
fn edit_bytes(json: &str, member: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    edit_json(json, |value| {
        let mut bytes = decode(value["response"][member].as_str().expect("member"));
        edit(&mut bytes);
        value["response"][member] = json!(encode(&bytes));
    })
}

fn edit_client_data(json: &str, edit: impl FnOnce(&mut Value)) -> String {
    edit_bytes(json, "clientDataJSON", |bytes| {
        let mut client_data: Value = serde_json::from_slice(bytes).expect("client data");
        edit(&mut client_data);
        *bytes = client_data.to_string().into_bytes();
    })
}

fn edit_attestation(json: &str, edit: impl FnOnce(&mut Vec<(Cbor, Cbor)>)) -> String {
    edit_bytes(json, "attestationObject", |bytes| {
        let mut value: Cbor = ciborium::de::from_reader(bytes.as_slice()).expect("CBOR");
        edit(value.as_map_mut().expect("map"));
        *bytes = cbor(&value);
    })
}

fn edit_registration_auth_data(json: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    edit_attestation(json, |entries| {
        let (_, value) = entries
            .iter_mut()
            .find(|(key, _)| key.as_text() == Some("authData"))
            .expect("authData");
        edit(value.as_bytes_mut().expect("bytes"));
    })
}

/// Where the COSE key starts in the software authenticator's
/// registration authenticator data: header, AAGUID, length, 16-byte id.
const COSE_KEY_OFFSET: usize = 37 + 16 + 2 + 16;

fn with_cose_key(json: &str, key: &[(i64, Cbor)]) -> String {
    let entries = key
        .iter()
        .map(|(label, value)| (Cbor::Integer((*label).into()), value.clone()))
        .collect();
    let key = cbor(&Cbor::Map(entries));
    edit_registration_auth_data(json, |data| {
        data.truncate(COSE_KEY_OFFSET);
        data.extend_from_slice(&key);
    })
}

fn int(n: i64) -> Cbor {
    Cbor::Integer(n.into())
}

// ---- the good paths ----

fn round_trip(mut authenticator: SoftAuthenticator, algorithm: i64) {
    let passkey = registered(&mut authenticator);
    assert_eq!(passkey.credential_id, authenticator.credential_id());
    assert_eq!(passkey.public_key, authenticator.cose_key());
    assert_eq!(passkey.algorithm, algorithm);
    assert_eq!(passkey.sign_count, 0);
    assert_eq!(passkey.aaguid, "0".repeat(32));
    assert_eq!(passkey.transports, ["internal", "hybrid"]);
    assert!(!passkey.backup_eligible && !passkey.backed_up);

    let (json, challenge) = assertion(&mut authenticator);
    let response = AssertionResponse::parse(&json).expect("parses");
    assert_eq!(response.credential_id(), passkey.credential_id);
    assert_eq!(response.user_handle(), Some(USER_HANDLE));
    assert_eq!(response.challenge(), challenge);
    let verified = verify_assertion(&json, &challenge, &passkey).expect("assertion verifies");
    assert_eq!(
        verified,
        VerifiedAssertion {
            sign_count: 1,
            backed_up: false
        }
    );

    // The next use against the updated counter.
    let stored = NewPasskey {
        sign_count: verified.sign_count,
        ..passkey
    };
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &stored).map(|v| v.sign_count),
        Ok(2)
    );
}

#[test]
fn es256_registers_and_signs_in() {
    round_trip(SoftAuthenticator::es256(), -7);
}

#[test]
fn ed25519_registers_and_signs_in() {
    round_trip(SoftAuthenticator::ed25519(), -8);
}

#[test]
fn rs256_registers_and_signs_in() {
    round_trip(SoftAuthenticator::rs256(), -257);
}

#[test]
fn synced_passkey_with_zero_counter_signs_in_repeatedly() {
    let mut authenticator = SoftAuthenticator::es256();
    authenticator.counting = false;
    authenticator.backup_eligible = true;
    authenticator.backed_up = true;
    let passkey = registered(&mut authenticator);
    assert!(passkey.backup_eligible && passkey.backed_up);
    for _ in 0..2 {
        let (json, challenge) = assertion(&mut authenticator);
        assert_eq!(
            verify_assertion(&json, &challenge, &passkey),
            Ok(VerifiedAssertion {
                sign_count: 0,
                backed_up: true
            })
        );
    }
}

#[test]
fn backup_state_may_change_while_eligibility_stays() {
    let mut authenticator = SoftAuthenticator::es256();
    authenticator.backup_eligible = true;
    let passkey = registered(&mut authenticator);
    assert!(!passkey.backed_up);
    authenticator.backed_up = true;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey).map(|v| v.backed_up),
        Ok(true)
    );
}

#[test]
fn extensions_are_parsed_when_ed_is_set() {
    let mut authenticator = SoftAuthenticator::ed25519();
    authenticator.extensions = Some(cbor(&Cbor::Map(vec![(
        Cbor::Text("credProtect".into()),
        int(2),
    )])));
    let passkey = registered(&mut authenticator);
    assert_eq!(passkey.public_key, authenticator.cose_key());
    let (json, challenge) = assertion(&mut authenticator);
    assert!(verify_assertion(&json, &challenge, &passkey).is_ok());

    // Extensions must be a map, and ED promises them.
    authenticator.extensions = Some(cbor(&int(2)));
    let (json, challenge) = assertion(&mut authenticator);
    assert!(matches!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::Malformed(_))
    ));
    authenticator.extensions = Some(Vec::new());
    let (json, challenge) = registration(&mut authenticator);
    assert!(matches!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn padded_base64_is_accepted_and_ids_normalised() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let pad = |value: &mut Value, pointer: &str| {
        let member = value.pointer_mut(pointer).expect("member");
        let bytes = decode(member.as_str().expect("string"));
        *member = json!(URL_SAFE.encode(bytes));
    };
    let padded = edit_json(&json, |value| {
        for pointer in [
            "/id",
            "/rawId",
            "/response/clientDataJSON",
            "/response/attestationObject",
        ] {
            pad(value, pointer);
        }
    });
    let passkey = verify_registration(&padded, &challenge).expect("padded registration");
    assert_eq!(passkey.credential_id, authenticator.credential_id());

    let (json, challenge) = assertion(&mut authenticator);
    let padded = edit_json(&json, |value| {
        for pointer in [
            "/id",
            "/rawId",
            "/response/clientDataJSON",
            "/response/authenticatorData",
            "/response/signature",
            "/response/userHandle",
        ] {
            pad(value, pointer);
        }
    });
    let response = AssertionResponse::parse(&padded).expect("padded assertion");
    assert_eq!(response.credential_id(), authenticator.credential_id());
    assert_eq!(response.user_handle(), Some(USER_HANDLE));
    assert!(verify_assertion(&padded, &challenge, &passkey).is_ok());
}

#[test]
fn empty_or_absent_user_handle_is_none() {
    let mut authenticator = SoftAuthenticator::es256();
    registered(&mut authenticator);
    let (json, _) = assertion(&mut authenticator);
    let empty = edit_json(&json, |value| value["response"]["userHandle"] = json!(""));
    assert_eq!(
        AssertionResponse::parse(&empty)
            .expect("parses")
            .user_handle(),
        None
    );
    let absent = edit_json(&json, |value| {
        value["response"]
            .as_object_mut()
            .expect("object")
            .remove("userHandle");
    });
    assert_eq!(
        AssertionResponse::parse(&absent)
            .expect("parses")
            .user_handle(),
        None
    );
}

#[test]
fn transports_keep_known_values_once() {
    let mut authenticator = SoftAuthenticator::es256();
    authenticator.transports = ["usb", "carrier-pigeon", "nfc", "usb", "smart-card"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        registered(&mut authenticator).transports,
        ["usb", "nfc", "smart-card"]
    );
}

#[test]
fn other_attestation_formats_are_ignored() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let packed = edit_attestation(&json, |entries| {
        for (key, value) in entries.iter_mut() {
            match key.as_text() {
                Some("fmt") => *value = Cbor::Text("packed".into()),
                Some("attStmt") => {
                    *value = Cbor::Map(vec![(Cbor::Text("alg".into()), int(-7))]);
                }
                _ => {}
            }
        }
    });
    assert!(verify_registration(&packed, &challenge).is_ok());
}

#[test]
fn options_have_the_webauthn_json_form() {
    let rp = rp();
    let excluded = ["AQID".to_owned()];
    let options = CreationOptions {
        rp: &rp,
        rp_name: "ferrid",
        user_handle: USER_HANDLE,
        user_name: "ada@example.com",
        display_name: "Ada",
        challenge: "Y2hhbGxlbmdl",
        exclude_credentials: &excluded,
    }
    .to_json();
    assert_eq!(
        options,
        json!({
            "rp": {"id": "localhost", "name": "ferrid"},
            "user": {"id": USER_HANDLE, "name": "ada@example.com", "displayName": "Ada"},
            "challenge": "Y2hhbGxlbmdl",
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -257},
            ],
            "timeout": 300000,
            "excludeCredentials": [{"type": "public-key", "id": "AQID"}],
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "attestation": "none",
        })
    );
    assert_eq!(
        request_options(&rp, "Y2hhbGxlbmdl", &[]),
        json!({
            "challenge": "Y2hhbGxlbmdl",
            "timeout": 300000,
            "rpId": "localhost",
            "allowCredentials": [],
            "userVerification": "required",
        })
    );
    assert_eq!(
        request_options(&rp, "c", &excluded)["allowCredentials"],
        json!([{"type": "public-key", "id": "AQID"}])
    );
}

#[test]
fn challenges_are_32_fresh_bytes() {
    let first = new_challenge();
    assert_eq!(first.len(), 43);
    assert_eq!(decode(&first).len(), 32);
    assert_ne!(first, new_challenge());
}

// ---- client data ----

#[test]
fn wrong_type_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let passkey = verify_registration(&json, &challenge).expect("registers");
    let json = edit_client_data(&json, |data| data["type"] = json!("webauthn.get"));
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::WrongType {
            expected: "webauthn.create"
        })
    );
    // A registration's client data replayed as an assertion's.
    let (json, challenge) = assertion(&mut authenticator);
    let json = edit_client_data(&json, |data| data["type"] = json!("webauthn.create"));
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::WrongType {
            expected: "webauthn.get"
        })
    );
}

#[test]
fn wrong_challenge_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    assert_eq!(
        verify_registration(&json, &new_challenge()),
        Err(WebauthnError::ChallengeMismatch)
    );
    assert_eq!(
        verify_registration(&json, ""),
        Err(WebauthnError::ChallengeMismatch)
    );
    let passkey = verify_registration(&json, &challenge).expect("registers");
    let (json, _) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &new_challenge(), &passkey),
        Err(WebauthnError::ChallengeMismatch)
    );
}

#[test]
fn other_origins_are_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let challenge = new_challenge();
    let json = authenticator.register(&creation_options(&rp(), &challenge), "https://evil.example");
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::OriginNotAllowed(
            "https://evil.example".into()
        ))
    );
    // The second allowed origin works, a look-alike does not.
    let json = authenticator.register(
        &creation_options(&rp(), &challenge),
        "https://id.example.com",
    );
    let passkey = verify_registration(&json, &challenge).expect("registers");
    let challenge = new_challenge();
    let json = authenticator.assert(
        &request_options(&rp(), &challenge, &[]),
        "https://id.example.com.evil.example",
    );
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::OriginNotAllowed(
            "https://id.example.com.evil.example".into()
        ))
    );
}

#[test]
fn cross_origin_ceremonies_are_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let passkey = verify_registration(&json, &challenge).expect("registers");
    let cross = edit_client_data(&json, |data| {
        data["crossOrigin"] = json!(true);
        data["topOrigin"] = json!("https://evil.example");
    });
    assert_eq!(
        verify_registration(&cross, &challenge),
        Err(WebauthnError::CrossOrigin)
    );
    // Absent crossOrigin (older browsers) is same-origin.
    let absent = edit_client_data(&json, |data| {
        data.as_object_mut().expect("object").remove("crossOrigin");
    });
    assert!(verify_registration(&absent, &challenge).is_ok());

    let (json, challenge) = assertion(&mut authenticator);
    let cross = edit_client_data(&json, |data| data["crossOrigin"] = json!(true));
    assert_eq!(
        verify_assertion(&cross, &challenge, &passkey),
        Err(WebauthnError::CrossOrigin)
    );
}

// ---- authenticator data ----

#[test]
fn another_rp_id_is_refused() {
    let evil = RelyingParty {
        id: "evil.example".into(),
        origins: vec![ORIGIN.into()],
    };
    let mut authenticator = SoftAuthenticator::es256();
    let challenge = new_challenge();
    let json = authenticator.register(&creation_options(&evil, &challenge), ORIGIN);
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::RpIdMismatch)
    );
    let passkey = registered(&mut authenticator);
    let json = authenticator.assert(&request_options(&evil, &challenge, &[]), ORIGIN);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::RpIdMismatch)
    );
}

#[test]
fn missing_user_presence_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    authenticator.user_present = false;
    let (json, challenge) = registration(&mut authenticator);
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::UserNotPresent)
    );
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::UserNotPresent)
    );
}

#[test]
fn missing_user_verification_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    authenticator.user_verified = false;
    let (json, challenge) = registration(&mut authenticator);
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::UserNotVerified)
    );
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::UserNotVerified)
    );
}

#[test]
fn backup_state_without_eligibility_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    authenticator.backed_up = true;
    let (json, challenge) = registration(&mut authenticator);
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::BackupStateWithoutEligibility)
    );
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::BackupStateWithoutEligibility)
    );
}

#[test]
fn changed_backup_eligibility_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    authenticator.backup_eligible = true;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::BackupEligibilityChanged)
    );

    let mut authenticator = SoftAuthenticator::es256();
    authenticator.backup_eligible = true;
    let passkey = registered(&mut authenticator);
    authenticator.backup_eligible = false;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::BackupEligibilityChanged)
    );
}

#[test]
fn trailing_bytes_after_authenticator_data_are_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let passkey = verify_registration(&json, &challenge).expect("registers");
    let trailing = edit_registration_auth_data(&json, |data| data.push(0));
    assert_eq!(
        verify_registration(&trailing, &challenge),
        Err(WebauthnError::TrailingBytes("authenticator data"))
    );
    let trailing = edit_bytes(&json, "attestationObject", |data| data.push(0));
    assert_eq!(
        verify_registration(&trailing, &challenge),
        Err(WebauthnError::TrailingBytes("attestation object"))
    );

    let (json, challenge) = assertion(&mut authenticator);
    let trailing = edit_bytes(&json, "authenticatorData", |data| data.push(0));
    assert_eq!(
        verify_assertion(&trailing, &challenge, &passkey),
        Err(WebauthnError::TrailingBytes("authenticator data"))
    );
}

#[test]
fn truncated_authenticator_data_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    let (json, challenge) = assertion(&mut authenticator);
    let short = edit_bytes(&json, "authenticatorData", |data| data.truncate(36));
    assert!(matches!(
        verify_assertion(&short, &challenge, &passkey),
        Err(WebauthnError::Malformed(_))
    ));
    let (json, challenge) = registration(&mut authenticator);
    let short = edit_registration_auth_data(&json, |data| data.truncate(COSE_KEY_OFFSET - 3));
    assert!(matches!(
        verify_registration(&short, &challenge),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn registration_without_credential_data_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let json = edit_registration_auth_data(&json, |data| {
        data.truncate(37);
        if let Some(flags) = data.get_mut(32) {
            *flags &= !0x40;
        }
    });
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::MissingCredentialData)
    );
}

#[test]
fn assertion_with_credential_data_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let passkey = verify_registration(&json, &challenge).expect("registers");
    // The registration's authenticator data, with credential data, signed.
    let mut attestation: Cbor = ciborium::de::from_reader(
        decode(&json_str(&json, "/response/attestationObject")).as_slice(),
    )
    .expect("CBOR");
    let auth_data = attestation
        .as_map_mut()
        .expect("map")
        .iter()
        .find(|(key, _)| key.as_text() == Some("authData"))
        .and_then(|(_, value)| value.as_bytes().cloned())
        .expect("authData");
    let (json, challenge) = assertion(&mut authenticator);
    let client_data = decode(&json_str(&json, "/response/clientDataJSON"));
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&sha2::Sha256::digest(&client_data));
    let signature = authenticator.sign(&signed);
    let json = edit_json(&json, |value| {
        value["response"]["authenticatorData"] = json!(encode(&auth_data));
        value["response"]["signature"] = json!(encode(&signature));
    });
    assert!(matches!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::Malformed(_))
    ));
}

fn json_str(json: &str, pointer: &str) -> String {
    let value: Value = serde_json::from_str(json).expect("JSON");
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .expect("string")
        .to_owned()
}

#[test]
fn credential_id_must_match_raw_id() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let other = SoftAuthenticator::es256().credential_id();
    let json = edit_json(&json, |value| {
        value["id"] = json!(other);
        value["rawId"] = json!(other);
    });
    assert_eq!(
        verify_registration(&json, &challenge),
        Err(WebauthnError::CredentialIdMismatch)
    );
}

#[test]
fn id_and_raw_id_must_agree_and_be_short_enough() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, _) = registration(&mut authenticator);
    let other = SoftAuthenticator::es256().credential_id();
    let differing = edit_json(&json, |value| value["id"] = json!(other));
    assert!(matches!(
        RegistrationResponse::parse(&differing),
        Err(WebauthnError::Malformed(_))
    ));
    let long = encode(&[7; 1024]);
    let too_long = edit_json(&json, |value| {
        value["id"] = json!(long);
        value["rawId"] = json!(long);
    });
    assert!(matches!(
        RegistrationResponse::parse(&too_long),
        Err(WebauthnError::Malformed(_))
    ));
}

// ---- signatures and counters ----

#[test]
fn tampered_assertions_are_refused() {
    for mut authenticator in [
        SoftAuthenticator::es256(),
        SoftAuthenticator::ed25519(),
        SoftAuthenticator::rs256(),
    ] {
        let passkey = registered(&mut authenticator);
        let (json, challenge) = assertion(&mut authenticator);
        assert!(verify_assertion(&json, &challenge, &passkey).is_ok());

        // A higher counter, not what was signed.
        let counter = edit_bytes(&json, "authenticatorData", |data| {
            if let Some(byte) = data.get_mut(35) {
                *byte ^= 0x10;
            }
        });
        assert_eq!(
            verify_assertion(&counter, &challenge, &passkey),
            Err(WebauthnError::BadSignature)
        );
        // Client data with an extra member: same checks pass, other hash.
        let client_data = edit_client_data(&json, |data| data["extra"] = json!(1));
        assert_eq!(
            verify_assertion(&client_data, &challenge, &passkey),
            Err(WebauthnError::BadSignature)
        );
        let garbage = edit_bytes(&json, "signature", |signature| {
            if let Some(byte) = signature.get_mut(10) {
                *byte ^= 0x01;
            }
        });
        assert_eq!(
            verify_assertion(&garbage, &challenge, &passkey),
            Err(WebauthnError::BadSignature)
        );
    }
}

#[test]
fn another_keys_signature_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let passkey = registered(&mut authenticator);
    let mut other = SoftAuthenticator::es256();
    registered(&mut other);
    let (json, challenge) = assertion(&mut other);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::BadSignature)
    );
}

#[test]
fn counter_must_increase() {
    let mut authenticator = SoftAuthenticator::es256();
    let mut passkey = registered(&mut authenticator);
    passkey.sign_count = 5;
    authenticator.counter = 4; // the next assertion sends 5
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::CounterNotIncreased {
            stored: 5,
            received: 5
        })
    );
    authenticator.counter = 1;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::CounterNotIncreased {
            stored: 5,
            received: 2
        })
    );
    // An authenticator that stops counting after it did.
    authenticator.counter = 0;
    authenticator.counting = false;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::CounterNotIncreased {
            stored: 5,
            received: 0
        })
    );
    // Zero stored and zero received: the authenticator keeps no counter.
    passkey.sign_count = 0;
    assert!(verify_assertion(&json, &challenge, &passkey).is_ok());
    authenticator.counter = 5;
    authenticator.counting = true;
    passkey.sign_count = 5;
    let (json, challenge) = assertion(&mut authenticator);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey).map(|v| v.sign_count),
        Ok(6)
    );
}

// ---- keys ----

#[test]
fn unsupported_algorithms_are_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let es384 = with_cose_key(
        &json,
        &[
            (1, int(2)),
            (3, int(-35)),
            (-1, int(2)),
            (-2, Cbor::Bytes(vec![1; 48])),
            (-3, Cbor::Bytes(vec![2; 48])),
        ],
    );
    assert_eq!(
        verify_registration(&es384, &challenge),
        Err(WebauthnError::UnsupportedAlgorithm(-35))
    );
    let symmetric = with_cose_key(
        &json,
        &[(1, int(4)), (3, int(-7)), (-1, Cbor::Bytes(vec![0; 32]))],
    );
    assert!(matches!(
        verify_registration(&symmetric, &challenge),
        Err(WebauthnError::UnsupportedKey(_))
    ));
    let no_alg = with_cose_key(
        &json,
        &[(1, int(1)), (-1, int(6)), (-2, Cbor::Bytes(vec![0; 32]))],
    );
    assert!(matches!(
        verify_registration(&no_alg, &challenge),
        Err(WebauthnError::UnsupportedKey(_))
    ));
}

#[test]
fn invalid_keys_are_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let off_curve = with_cose_key(
        &json,
        &[
            (1, int(2)),
            (3, int(-7)),
            (-1, int(1)),
            (-2, Cbor::Bytes(vec![1; 32])),
            (-3, Cbor::Bytes(vec![2; 32])),
        ],
    );
    assert_eq!(
        verify_registration(&off_curve, &challenge),
        Err(WebauthnError::UnsupportedKey("point is not on P-256"))
    );
    let p384_curve = with_cose_key(
        &json,
        &[
            (1, int(2)),
            (3, int(-7)),
            (-1, int(2)),
            (-2, Cbor::Bytes(vec![1; 32])),
            (-3, Cbor::Bytes(vec![2; 32])),
        ],
    );
    assert_eq!(
        verify_registration(&p384_curve, &challenge),
        Err(WebauthnError::UnsupportedKey("curve does not match alg"))
    );
    let x25519 = with_cose_key(
        &json,
        &[
            (1, int(1)),
            (3, int(-8)),
            (-1, int(4)),
            (-2, Cbor::Bytes(vec![9; 32])),
        ],
    );
    assert_eq!(
        verify_registration(&x25519, &challenge),
        Err(WebauthnError::UnsupportedKey("curve does not match alg"))
    );
    let weak = openssl::rsa::Rsa::generate(1024).expect("RSA");
    let weak_rsa = with_cose_key(
        &json,
        &[
            (1, int(3)),
            (3, int(-257)),
            (-1, Cbor::Bytes(weak.n().to_vec())),
            (-2, Cbor::Bytes(weak.e().to_vec())),
        ],
    );
    assert!(matches!(
        verify_registration(&weak_rsa, &challenge),
        Err(WebauthnError::UnsupportedKey(_))
    ));
    let duplicate = with_cose_key(
        &json,
        &[
            (1, int(1)),
            (3, int(-8)),
            (3, int(-8)),
            (-1, int(6)),
            (-2, Cbor::Bytes(vec![9; 32])),
        ],
    );
    assert!(matches!(
        verify_registration(&duplicate, &challenge),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn a_damaged_stored_key_is_reported() {
    let mut authenticator = SoftAuthenticator::es256();
    let mut passkey = registered(&mut authenticator);
    let (json, challenge) = assertion(&mut authenticator);
    passkey.public_key.push(0);
    assert_eq!(
        verify_assertion(&json, &challenge, &passkey),
        Err(WebauthnError::InvalidStoredKey)
    );
}

// ---- malformed input ----

#[test]
fn malformed_json_is_refused() {
    for json in [
        "",
        "not json",
        "{}",
        "[]",
        r#"{"id":"AQ","rawId":"AQ","type":"public-key"}"#,
    ] {
        assert!(matches!(
            RegistrationResponse::parse(json),
            Err(WebauthnError::Malformed(_))
        ));
        assert!(matches!(
            AssertionResponse::parse(json),
            Err(WebauthnError::Malformed(_))
        ));
    }
    let mut authenticator = SoftAuthenticator::es256();
    let (json, _) = registration(&mut authenticator);
    let wrong_kind = edit_json(&json, |value| value["type"] = json!("password"));
    assert!(matches!(
        RegistrationResponse::parse(&wrong_kind),
        Err(WebauthnError::Malformed(_))
    ));
    let not_client_data = edit_bytes(&json, "clientDataJSON", |data| *data = b"[1]".to_vec());
    assert!(matches!(
        RegistrationResponse::parse(&not_client_data),
        Err(WebauthnError::Malformed(_))
    ));
    let duplicate = edit_bytes(&json, "clientDataJSON", |data| {
        *data = br#"{"type":"webauthn.create","type":"webauthn.get","challenge":"c","origin":"o"}"#
            .to_vec();
    });
    assert!(matches!(
        RegistrationResponse::parse(&duplicate),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn malformed_base64_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, _) = registration(&mut authenticator);
    for pointer in [
        "/id",
        "/rawId",
        "/response/clientDataJSON",
        "/response/attestationObject",
    ] {
        let broken = edit_json(&json, |value| {
            *value.pointer_mut(pointer).expect("member") = json!("not*base64");
        });
        assert!(
            matches!(
                RegistrationResponse::parse(&broken),
                Err(WebauthnError::Malformed(_))
            ),
            "{pointer}"
        );
    }
    registered(&mut authenticator);
    let (json, _) = assertion(&mut authenticator);
    for member in ["authenticatorData", "signature", "userHandle"] {
        let broken = edit_json(&json, |value| value["response"][member] = json!("a+b/"));
        assert!(
            matches!(
                AssertionResponse::parse(&broken),
                Err(WebauthnError::Malformed(_))
            ),
            "{member}"
        );
    }
}

#[test]
fn malformed_cbor_is_refused() {
    let mut authenticator = SoftAuthenticator::es256();
    let (json, challenge) = registration(&mut authenticator);
    let cases: [&[u8]; 4] = [
        &[0xff],             // a break outside any indefinite item
        &[0xa3, 0x63],       // a map cut short
        &[0x01],             // an integer, not a map
        &[0xa1, 0x01, 0x02], // a map without fmt, attStmt, authData
    ];
    for bytes in cases {
        let broken = edit_bytes(&json, "attestationObject", |data| *data = bytes.to_vec());
        assert!(
            matches!(
                verify_registration(&broken, &challenge),
                Err(WebauthnError::Malformed(_))
            ),
            "{bytes:?}"
        );
    }
    let not_none = edit_attestation(&json, |entries| {
        for (key, value) in entries.iter_mut() {
            if key.as_text() == Some("attStmt") {
                *value = Cbor::Map(vec![(Cbor::Text("sig".into()), Cbor::Bytes(vec![1]))]);
            }
        }
    });
    assert!(matches!(
        verify_registration(&not_none, &challenge),
        Err(WebauthnError::Malformed(_))
    ));
    let broken_key = edit_registration_auth_data(&json, |data| {
        data.truncate(COSE_KEY_OFFSET);
        data.extend_from_slice(&[0xa5, 0x01]);
    });
    assert!(matches!(
        verify_registration(&broken_key, &challenge),
        Err(WebauthnError::Malformed(_))
    ));
}

#[test]
fn oversize_input_is_refused() {
    let huge = format!(r#"{{"id":"{}"}}"#, "A".repeat(64 * 1024));
    assert_eq!(
        RegistrationResponse::parse(&huge).map(|_| ()),
        Err(WebauthnError::TooLarge { limit: 65536 })
    );
    assert_eq!(
        AssertionResponse::parse(&huge).map(|_| ()),
        Err(WebauthnError::TooLarge { limit: 65536 })
    );
}
