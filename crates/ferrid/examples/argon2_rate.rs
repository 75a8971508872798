//! The raw Argon2id rate of this core at ferrid's default parameters
//! (m = 19 MiB, t = 2, p = 1): what a complete login can at best reach.
//! `scripts/load-test-grants` runs it on the server's core right after
//! the login load, so the two are compared in one run.
//!
//! `argon2_rate SECONDS` verifies one password for that long and prints
//! verifications per second.

// A benchmark tool: it reports failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ferrid_store::{Argon2Params, PasswordHasher};

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(5);
    let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
    let phc = hasher.hash("load test password").unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut verified = 0u64;
    while Instant::now() < deadline {
        assert!(hasher.verify("load test password", &phc));
        verified += 1;
    }
    let rate = verified as f64 / started.elapsed().as_secs_f64();
    println!("raw argon2id: {verified} verifications in {seconds}s = {rate:.1} per s (m=19 MiB, t=2, p=1)");
}
