//! Paging and searching 100,000 users, as the admin API's user list does
//! (`Store::page_users`): the first page, a page deep in the list, and a
//! prefix search. On SQLite in a temporary file, and on PostgreSQL when
//! `FERRID_BENCH_POSTGRES_URL` names an empty database.
//! `cargo bench -p ferrid-store --bench user_paging`

// Tests, benchmarks and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrid_store::{NewUser, Store};

const USERS: usize = 100_000;
const PAGE: i64 = 50;

fn filled(url: &str) -> Store {
    let store = Store::open(url, 4).expect("open");
    store.migrate().expect("migrate");
    if store.page_users(None, None, 1).expect("page").is_empty() {
        for index in 0..USERS {
            let username = format!("user{index:06}");
            store
                .create_user(
                    NewUser {
                        username: &username,
                        email: &format!("{username}@example.com"),
                        name: None,
                        // Paging never reads the hash.
                        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                        passwordless: false,
                    },
                    0,
                )
                .expect("create user");
        }
    }
    store
}

fn bench_store(criterion: &mut Criterion, name: &str, store: &Store) {
    criterion.bench_function(&format!("{name}: first page of 50"), |bencher| {
        bencher.iter(|| store.page_users(None, None, PAGE + 1).unwrap())
    });
    criterion.bench_function(&format!("{name}: page after user 90,000"), |bencher| {
        bencher.iter(|| {
            store
                .page_users(Some("user090000"), None, PAGE + 1)
                .unwrap()
        })
    });
    criterion.bench_function(&format!("{name}: search \"user0999\""), |bencher| {
        bencher.iter(|| store.page_users(None, Some("user0999"), PAGE + 1).unwrap())
    });
}

fn bench(criterion: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite = filled(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ));
    bench_store(criterion, "SQLite", &sqlite);
    if let Ok(url) = std::env::var("FERRID_BENCH_POSTGRES_URL") {
        let postgres = filled(&url);
        bench_store(criterion, "PostgreSQL", &postgres);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
