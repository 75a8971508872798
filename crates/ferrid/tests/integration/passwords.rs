//! The password policy (NIST SP 800-63B) in the CLI and on the pages,
//! and hashes upgraded to the configured parameters at login. Changing,
//! resetting and verifying live with their endpoints: `account::password`,
//! `password::reset`, `account::verify_email`.

use std::io::Write;
use std::process::Stdio;

use ferrid_store::{NewUser, PasswordHasher};

use crate::on_both_backends;
use crate::server_or_skip;
use crate::support::oidc::signed_in;
use crate::support::server::PASSWORD;
use crate::support::Backend;

pub(crate) const NEW_PASSWORD: &str = "a much longer passphrase";

/// Runs `command` with `password` on standard input.
fn with_password(mut command: std::process::Command, password: &str) -> std::process::Output {
    let mut child = command.stdin(Stdio::piped()).spawn().expect("ferrid");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

on_both_backends!(
    the_cli_applies_the_password_policy,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let create = |password: &str| {
            with_password(
                server.cli(&[
                    "user",
                    "create",
                    "--username",
                    "paula",
                    "--email",
                    "paula@example.com",
                    "--password-stdin",
                ]),
                password,
            )
        };
        for (password, reason) in [
            ("short", "at least 8 characters"),
            ("password1", "most commonly used"),
            ("Iloveyou2", "most commonly used"),
            ("paula", "at least 8"),
            ("paula@example.com", "username or e-mail"),
        ] {
            let output = create(password);
            assert!(!output.status.success(), "{password} was accepted");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(reason), "{password}: {stderr}");
        }
        let output = create("correct horse battery staple");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // A configured minimum above 8.
        let mut strict = server.cli(&[
            "user",
            "create",
            "--username",
            "sam",
            "--email",
            "sam@example.com",
            "--password-stdin",
        ]);
        strict.env("FERRID_PASSWORDS__MIN_LENGTH", "16");
        let output = with_password(strict, "fifteen chars!!");
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!output.status.success());
        assert!(stderr.contains("at least 16 characters"), "{stderr}");
    }
);

on_both_backends!(
    outdated_hashes_are_upgraded_at_login,
    |backend: Backend| async move {
        let server = server_or_skip!(backend);
        let weaker = PasswordHasher::new(ferrid_store::Argon2Params {
            memory_kib: 32,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let user = server
            .store
            .create_user(
                NewUser {
                    username: "olga",
                    email: "olga@example.com",
                    name: None,
                    password_hash: &weaker.hash(PASSWORD).unwrap(),
                    passwordless: false,
                },
                0,
            )
            .unwrap();
        assert!(user.password_hash.contains("m=32"));
        let client = server.create_client("client_secret_basic", "https://app.example/cb");
        signed_in(&server, &client, "olga").await;
        let upgraded = server
            .store
            .find_user(&user.id)
            .unwrap()
            .unwrap()
            .password_hash;
        assert!(upgraded.contains("m=64,t=1,p=1"), "{upgraded}");
        // Still the same password.
        signed_in(&server, &client, "olga").await;
    }
);
