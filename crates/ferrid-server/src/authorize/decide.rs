//! What happens next with a validated authorization request, given the
//! browser's session and the remembered consent. A pure function of its
//! inputs and the time, so every rule is unit-tested.

use crate::acr::Assurance;
use crate::authorize::request::AuthorizationRequest;
use crate::error::ErrorCode;

/// The next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Ask the session's user for their second factor (step-up).
    SecondFactor,
    /// Have the session's user enrol a second factor first.
    EnrolSecondFactor,
    /// The request needs a passkey the user does not have: they must
    /// register one first.
    RegisterPasskey,
    /// Issue an authorization code.
    IssueCode,
    /// Redirect this error to the client.
    Fail(ErrorCode),
}

/// How the browser's session authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// When the user last authenticated.
    pub auth_time: i64,
    /// Whether that login was made for this very request, which is what
    /// satisfies `prompt=login` (a timestamp comparison would not, within
    /// the same second).
    pub for_this_request: bool,
    /// The session's user.
    pub subject: String,
    /// The level of assurance the session's login reached.
    pub assurance: Assurance,
    /// The strongest level the user's enrolled factors can reach (a
    /// TOTP authenticator, passkeys), for a step-up.
    pub reachable: Assurance,
}

/// Decides the next step.
///
/// * `authentication` — the browser's session, if it has one.
/// * `consented` — scopes the user already granted this client, if any.
/// * `required` — the level of assurance the client, the request
///   (`acr_values`) or the server policy wants.
pub fn decide(
    request: &AuthorizationRequest,
    authentication: Option<Authentication>,
    consented: Option<&[String]>,
    required: Assurance,
    now: i64,
) -> Next {
    let levels = authentication
        .as_ref()
        .map(|session| (session.assurance, session.reachable));
    let needs_login = match authentication {
        None => true,
        Some(session) => {
            // An id_token_hint for another user: this session cannot answer.
            let other_user = request
                .expected_subject
                .as_ref()
                .is_some_and(|expected| *expected != session.subject);
            // A login made for this request satisfies both prompt=login and
            // max_age, however long the user took (max_age=0 would loop).
            other_user
                || (!session.for_this_request
                    && (request.prompt.login
                        || request
                            .max_age
                            .is_some_and(|max_age| now - session.auth_time > max_age)))
        }
    };
    if needs_login {
        return if request.prompt.none {
            Next::Fail(ErrorCode::LoginRequired)
        } else {
            Next::Login
        };
    }
    match levels {
        Some((reached, reachable)) if reached < required => {
            return if request.prompt.none {
                Next::Fail(ErrorCode::InteractionRequired)
            } else if reachable >= required {
                Next::SecondFactor
            } else if required <= Assurance::MultiFactor {
                Next::EnrolSecondFactor
            } else {
                Next::RegisterPasskey
            };
        }
        _ => {}
    }
    let covered = consented.is_some_and(|granted| {
        request
            .scopes
            .iter()
            .all(|scope| granted.iter().any(|g| g == scope))
    });
    if request.prompt.consent || !covered {
        return if request.prompt.none {
            Next::Fail(ErrorCode::ConsentRequired)
        } else {
            Next::Consent
        };
    }
    Next::IssueCode
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::request::Prompt;

    fn request(prompt: Prompt, max_age: Option<i64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://c/cb".into(),
            response_mode: Default::default(),
            id_token_claims: Vec::new(),
            device_code_digest: None,
            ui_locales: None,
            scopes: vec!["openid".into(), "email".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            expected_subject: None,
            acr_values: vec![],
            resources: vec![],
        }
    }

    fn granted() -> Vec<String> {
        vec!["openid".into(), "email".into(), "profile".into()]
    }

    fn session(auth_time: i64) -> Option<Authentication> {
        Some(Authentication {
            auth_time,
            for_this_request: false,
            subject: "alice".into(),
            assurance: Assurance::SingleFactor,
            reachable: Assurance::SingleFactor,
        })
    }

    fn fresh(auth_time: i64) -> Option<Authentication> {
        Some(Authentication {
            auth_time,
            for_this_request: true,
            subject: "alice".into(),
            assurance: Assurance::SingleFactor,
            reachable: Assurance::SingleFactor,
        })
    }

    const NOT_REQUIRED: Assurance = Assurance::SingleFactor;

    const NONE: Prompt = Prompt {
        none: true,
        login: false,
        consent: false,
    };
    const LOGIN: Prompt = Prompt {
        none: false,
        login: true,
        consent: false,
    };
    const CONSENT: Prompt = Prompt {
        none: false,
        login: false,
        consent: true,
    };

    #[test]
    fn no_session_means_login_or_login_required() {
        assert_eq!(
            decide(
                &request(Prompt::default(), None),
                None,
                None,
                NOT_REQUIRED,
                100
            ),
            Next::Login
        );
        assert_eq!(
            decide(&request(NONE, None), None, None, NOT_REQUIRED, 100),
            Next::Fail(ErrorCode::LoginRequired)
        );
    }

    #[test]
    fn session_with_consent_issues_silently() {
        let granted = granted();
        assert_eq!(
            decide(
                &request(NONE, None),
                session(50),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::IssueCode
        );
        assert_eq!(
            decide(&request(NONE, None), session(50), None, NOT_REQUIRED, 100),
            Next::Fail(ErrorCode::ConsentRequired)
        );
        let narrower = vec!["openid".to_owned()];
        assert_eq!(
            decide(
                &request(Prompt::default(), None),
                session(50),
                Some(&narrower),
                NOT_REQUIRED,
                100
            ),
            Next::Consent
        );
        let unrelated = vec!["profile".to_owned()];
        assert_eq!(
            decide(
                &request(Prompt::default(), None),
                session(50),
                Some(&unrelated),
                NOT_REQUIRED,
                100
            ),
            Next::Consent
        );
    }

    #[test]
    fn prompt_login_needs_a_login_after_the_request() {
        let granted = granted();
        assert_eq!(
            decide(
                &request(LOGIN, None),
                session(100),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::Login
        );
        assert_eq!(
            decide(
                &request(LOGIN, None),
                fresh(100),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::IssueCode
        );
    }

    #[test]
    fn max_age_forces_reauthentication() {
        let granted = granted();
        assert_eq!(
            decide(
                &request(Prompt::default(), Some(60)),
                session(39),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::Login
        );
        assert_eq!(
            decide(
                &request(Prompt::default(), Some(60)),
                session(40),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::IssueCode
        );
        assert_eq!(
            decide(
                &request(NONE, Some(0)),
                session(99),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::Fail(ErrorCode::LoginRequired)
        );
        // Regression: a login made for the request satisfies max_age=0
        // even a second later, instead of asking again forever.
        assert_eq!(
            decide(
                &request(Prompt::default(), Some(0)),
                fresh(99),
                Some(&granted),
                NOT_REQUIRED,
                101
            ),
            Next::IssueCode
        );
    }

    #[test]
    fn id_token_hint_for_another_user_needs_a_login() {
        let granted = granted();
        let mut hinted = request(NONE, None);
        hinted.expected_subject = Some("bob".into());
        assert_eq!(
            decide(&hinted, session(50), Some(&granted), NOT_REQUIRED, 100),
            Next::Fail(ErrorCode::LoginRequired)
        );
        hinted.expected_subject = Some("alice".into());
        assert_eq!(
            decide(&hinted, session(50), Some(&granted), NOT_REQUIRED, 100),
            Next::IssueCode
        );
    }

    #[test]
    fn prompt_consent_always_asks() {
        let granted = granted();
        assert_eq!(
            decide(
                &request(CONSENT, None),
                session(50),
                Some(&granted),
                NOT_REQUIRED,
                100
            ),
            Next::Consent
        );
    }

    #[test]
    fn required_mfa_steps_up_or_enrols() {
        let granted = granted();
        let with = |multi_factor: bool, enrolled: bool| {
            let level = |yes: bool| {
                if yes {
                    Assurance::MultiFactor
                } else {
                    Assurance::SingleFactor
                }
            };
            Some(Authentication {
                auth_time: 50,
                for_this_request: false,
                subject: "alice".into(),
                assurance: level(multi_factor),
                reachable: level(enrolled),
            })
        };
        let plain = request(Prompt::default(), None);
        assert_eq!(
            decide(
                &plain,
                with(false, true),
                Some(&granted),
                Assurance::MultiFactor,
                100
            ),
            Next::SecondFactor
        );
        assert_eq!(
            decide(
                &plain,
                with(false, false),
                Some(&granted),
                Assurance::MultiFactor,
                100
            ),
            Next::EnrolSecondFactor
        );
        assert_eq!(
            decide(
                &plain,
                with(true, true),
                Some(&granted),
                Assurance::MultiFactor,
                100
            ),
            Next::IssueCode
        );
        // Not required: an enrolled user's password-only session is enough.
        assert_eq!(
            decide(&plain, with(false, true), Some(&granted), NOT_REQUIRED, 100),
            Next::IssueCode
        );
        assert_eq!(
            decide(
                &request(NONE, None),
                with(false, true),
                Some(&granted),
                Assurance::MultiFactor,
                100
            ),
            Next::Fail(ErrorCode::InteractionRequired)
        );
        // No session: log in first; the second factor follows the password.
        assert_eq!(
            decide(&plain, None, None, Assurance::MultiFactor, 100),
            Next::Login
        );
    }

    #[test]
    fn phishing_resistance_needs_a_passkey() {
        let granted = granted();
        let with = |assurance, reachable| {
            Some(Authentication {
                auth_time: 50,
                for_this_request: false,
                subject: "alice".into(),
                assurance,
                reachable,
            })
        };
        let plain = request(Prompt::default(), None);
        let phr = Assurance::PhishingResistant;
        // TOTP is not enough; a user with a passkey steps up with it.
        assert_eq!(
            decide(
                &plain,
                with(Assurance::MultiFactor, phr),
                Some(&granted),
                phr,
                100
            ),
            Next::SecondFactor
        );
        // A user with no passkey must register one.
        assert_eq!(
            decide(
                &plain,
                with(Assurance::MultiFactor, Assurance::MultiFactor),
                Some(&granted),
                phr,
                100
            ),
            Next::RegisterPasskey
        );
        // A device-bound passkey satisfies phr; a synced one not phrh.
        let hardware = Assurance::PhishingResistantHardware;
        assert_eq!(
            decide(&plain, with(hardware, hardware), Some(&granted), phr, 100),
            Next::IssueCode
        );
        assert_eq!(
            decide(&plain, with(phr, phr), Some(&granted), hardware, 100),
            Next::RegisterPasskey
        );
        // A passkey login satisfies a request for a second factor.
        assert_eq!(
            decide(
                &plain,
                with(phr, phr),
                Some(&granted),
                Assurance::MultiFactor,
                100
            ),
            Next::IssueCode
        );
    }
}
