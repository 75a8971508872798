//! ferrid's integration tests: one test binary (each binary links the
//! whole server, which costs minutes), with a module per area. Every test
//! starts a real server on a random loopback port with its own database,
//! and most run once on SQLite and once on PostgreSQL.

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

mod account;
mod admin_api;
mod apis;
mod architecture;
mod audit;
mod authorize_errors;
mod backup_restore;
mod brute_force;
mod claims_parameter;
mod cli;
mod client_jwt;
mod client_metadata_documents;
mod code_flow;
mod console;
mod console_browser;
mod crash;
mod database_faults;
mod deployment;
mod device_flow;
mod disk_full;
mod dpop;
mod dynamic_registration;
mod form_post;
mod issuer_path;
mod jar;
mod keys;
mod languages;
mod least_privilege;
mod login;
mod logout;
mod logs;
mod metadata;
mod metrics;
mod mfa;
mod multi_node;
mod pairwise;
mod par;
mod passkeys;
mod passkeys_browser;
mod password;
mod passwords;
mod reverse_proxy;
mod shutdown;
mod storage;
mod token_errors;
mod token_exchange;
mod token_lifecycle;
mod transport;
mod userinfo;
