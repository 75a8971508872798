//! Request limits that fit real traffic (GCRA, from `governor`):
//!
//! - **Failures per address.** Wrong passwords and codes, failed client
//!   authentication, and invalid codes and tokens count against the
//!   client's address (as Auth0's suspicious-IP throttling counts failed
//!   logins); once over `rate_limits.failures_per_hour`, every request from
//!   that address waits. Successes never count, so the hundredth colleague
//!   signing in from one office address is not refused.
//! - **A ceiling per address** on the pages a browser uses
//!   (`rate_limits.browser_requests_per_minute`), generous enough for a
//!   large NAT, there to stop floods.
//! - **Per client** at the token, introspection and revocation endpoints,
//!   where the caller is an authenticated client: a backend refreshing
//!   tokens for thousands of users from one address is limited as the one
//!   client it is (`rate_limits.client_requests_per_minute`, or the
//!   client's own setting), never by its address.
//!
//! Counters live in this process: each node enforces its own limits, so N
//! nodes admit N times the rate. Account lockout, which must hold across
//! nodes, is in the database (see `lockout`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::client_ip::ClientIp;
use crate::error::{FailedAttempt, PageError};
use crate::paths;
use crate::security::RateLimits;

/// Most addresses remembered as waiting, and clients with a limiter,
/// before the oldest are forgotten (bounds memory under a flood).
const MAX_TRACKED: usize = 100_000;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many failures from the address.
    Failures,
    /// Too many browser requests from the address.
    Ceiling,
}

impl Refused {
    /// The configuration key behind the limit.
    pub fn setting(self) -> &'static str {
        match self {
            Refused::Failures => "rate_limits.failures_per_hour",
            Refused::Ceiling => "rate_limits.browser_requests_per_minute",
        }
    }
}

/// Whether a path is called by client software (with client credentials
/// or a bearer token) rather than by a browser.
fn is_machine_endpoint(path: &str) -> bool {
    matches!(
        path,
        paths::TOKEN
            | paths::INTROSPECT
            | paths::REVOKE
            | paths::USERINFO
            | paths::DEVICE_AUTHORIZATION
    )
}

/// Whether a path counts toward the per-address ceiling: the pages and
/// forms a browser uses. Discovery, JWKS, health and assets are cheap and
/// cached; machine endpoints are limited per client.
fn counts_toward_ceiling(path: &str) -> bool {
    !is_machine_endpoint(path)
        && !matches!(path, paths::DISCOVERY | paths::JWKS | paths::HEALTH)
        && !path.starts_with("/static/")
}

/// The limiters of one node.
pub struct RateLimiter {
    failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses over their failure budget, and until when they wait.
    waiting: RwLock<HashMap<IpAddr, Instant>>,
    ceiling: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Per-client limiters, with the rate each was built for.
    clients: Mutex<HashMap<String, (u32, DefaultDirectRateLimiter)>>,
    limits: RateLimits,
    /// Whose address a request counts against.
    pub addresses: ClientIp,
}

fn keyed(quota: Option<Quota>) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    quota.map(governor::RateLimiter::keyed)
}

impl RateLimiter {
    /// Builds the limiters, counting requests against the addresses
    /// `addresses` resolves.
    pub fn new(limits: &RateLimits, addresses: ClientIp) -> RateLimiter {
        RateLimiter {
            failures: keyed(NonZeroU32::new(limits.failures_per_hour).map(Quota::per_hour)),
            waiting: RwLock::default(),
            ceiling: keyed(
                NonZeroU32::new(limits.browser_requests_per_minute).map(Quota::per_minute),
            ),
            clients: Mutex::default(),
            limits: limits.clone(),
            addresses,
        }
    }

    /// How long `ip` must still wait after too many failures, if at all.
    pub fn waiting(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let waiting = self.waiting.read().ok()?;
        let until = *waiting.get(&Self::bucket(ip))?;
        (until > now).then(|| until - now)
    }

    /// Counts a failed attempt from `ip`; once the budget is spent, the
    /// address waits until the next attempt is allowed.
    pub fn record_failure(&self, ip: IpAddr) {
        let Some(failures) = &self.failures else {
            return;
        };
        let bucket = Self::bucket(ip);
        if let Err(not_until) = failures.check_key(&bucket) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            tracing::warn!(%ip, setting = Refused::Failures.setting(),
                per_hour = self.limits.failures_per_hour, wait_seconds = wait.as_secs(),
                "too many failures from one address; its requests wait");
            if let Ok(mut waiting) = self.waiting.write() {
                if waiting.len() >= MAX_TRACKED {
                    let now = Instant::now();
                    waiting.retain(|_, until| *until > now);
                }
                waiting.insert(bucket, Instant::now() + wait);
            }
        }
    }

    /// Admits one browser request from `ip`, or says how long to wait.
    pub fn check_ceiling(&self, ip: IpAddr) -> Result<(), Duration> {
        match &self.ceiling {
            Some(ceiling) => ceiling
                .check_key(&Self::bucket(ip))
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
            None => Ok(()),
        }
    }

    /// Admits one request from an authenticated client whose own limit is
    /// `own_per_minute` (else the server's default), or says how long to
    /// wait. 0 means no limit.
    pub fn check_client(
        &self,
        client_id: &str,
        own_per_minute: Option<u32>,
    ) -> Result<(), Duration> {
        let per_minute = own_per_minute.unwrap_or(self.limits.client_requests_per_minute);
        let Some(rate) = NonZeroU32::new(per_minute) else {
            return Ok(());
        };
        let Ok(mut clients) = self.clients.lock() else {
            return Ok(());
        };
        if clients.len() >= MAX_TRACKED {
            clients.clear();
        }
        let (built_for, limiter) = clients.entry(client_id.to_owned()).or_insert_with(|| {
            (
                per_minute,
                governor::RateLimiter::direct(Quota::per_minute(rate)),
            )
        });
        // The client's limit changed since: start it afresh.
        if *built_for != per_minute {
            *built_for = per_minute;
            *limiter = governor::RateLimiter::direct(Quota::per_minute(rate));
        }
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The per-minute limit of a refusal, for its message.
    fn rate_of(&self, refused: Refused) -> String {
        match refused {
            Refused::Failures => format!("{} failures per hour", self.limits.failures_per_hour),
            Refused::Ceiling => format!(
                "{} requests per minute",
                self.limits.browser_requests_per_minute
            ),
        }
    }

    /// Forgets addresses whose buckets are full again and waits that are
    /// over, bounding memory.
    pub fn retain_recent(&self) {
        for limiter in [&self.failures, &self.ceiling].into_iter().flatten() {
            limiter.retain_recent();
        }
        if let Ok(mut waiting) = self.waiting.write() {
            let now = Instant::now();
            waiting.retain(|_, until| *until > now);
        }
    }

    /// The bucket of an address: IPv6 clients get a /64 each (one host
    /// usually holds a whole /64), IPv4 clients their address.
    fn bucket(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6) & !((1_u128 << 64) - 1);
                    IpAddr::V6(bits.into())
                }
            },
            v4 => v4,
        }
    }
}

/// Middleware: refuses requests from an address over its failure budget
/// and browser requests over the ceiling, with 429 and `Retry-After`, and
/// counts the failed attempts that handlers mark ([`FailedAttempt`]).
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limiter = request.app_data::<web::Data<RateLimiter>>().cloned();
    let address = limiter
        .as_ref()
        .and_then(|limiter| limiter.addresses.resolve(request.request()));
    if let (Some(limiter), Some(ip)) = (&limiter, address) {
        // The path as the router will see it (percent-decoded), so that
        // `/log%69n` counts like `/login`.
        let path = request.match_info().as_str();
        let refused = match limiter.waiting(ip, Instant::now()) {
            Some(wait) => Some((Refused::Failures, wait)),
            None if counts_toward_ceiling(path) => limiter
                .check_ceiling(ip)
                .err()
                .map(|wait| (Refused::Ceiling, wait)),
            None => None,
        };
        if let Some((refused, wait)) = refused {
            if refused == Refused::Ceiling {
                tracing::warn!(%ip, setting = refused.setting(), "rate limit refused a request");
            }
            let message = limiter.rate_of(refused);
            let answer = refusal(path, refused, &message, wait);
            return Ok(request.into_response(answer));
        }
    }
    let response = next
        .call(request)
        .await
        .map(ServiceResponse::map_into_boxed_body)?;
    if let (Some(limiter), Some(ip)) = (&limiter, address) {
        if response.response().extensions().contains::<FailedAttempt>() {
            limiter.record_failure(ip);
        }
    }
    Ok(response)
}

/// `wait` in whole seconds for `Retry-After`: rounded up, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The 429 answer: JSON for client software, a page for browsers.
pub fn refusal(path: &str, refused: Refused, rate: &str, wait: Duration) -> HttpResponse {
    let seconds = retry_after_seconds(wait);
    let message = format!(
        "Too many requests: at most {rate} ({}). Try again in {seconds} s.",
        refused.setting()
    );
    let mut response = if is_machine_endpoint(path) {
        HttpResponse::TooManyRequests()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "rate_limited",
                "error_description": message,
            }))
    } else {
        PageError {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many requests".into(),
            message: message.into(),
            hint: Some("Wait a moment, then try again.".into()),
        }
        .response()
    };
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: RateLimits) -> RateLimiter {
        RateLimiter::new(&limits, ClientIp::new(&[]).unwrap())
    }

    #[test]
    fn only_failures_spend_an_address_budget() {
        let limiter = limiter(RateLimits {
            failures_per_hour: 2,
            ..RateLimits::default()
        });
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let now = Instant::now();
        limiter.record_failure(a);
        limiter.record_failure(a);
        assert_eq!(limiter.waiting(a, now), None, "within the budget");
        limiter.record_failure(a);
        let wait = limiter.waiting(a, Instant::now()).expect("waits");
        assert!(wait > Duration::from_secs(1000) && wait <= Duration::from_secs(1800));
        assert_eq!(limiter.waiting(b, Instant::now()), None);
        // One IPv6 /64 is one client.
        let (c, d): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::ffff:2".parse().unwrap(),
        );
        for _ in 0..3 {
            limiter.record_failure(c);
        }
        assert!(limiter.waiting(d, Instant::now()).is_some());
        let other_net: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert!(limiter.waiting(other_net, Instant::now()).is_none());
    }

    #[test]
    fn the_ceiling_counts_browser_requests_per_address() {
        let limiter = limiter(RateLimits {
            browser_requests_per_minute: 2,
            ..RateLimits::default()
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.check_ceiling(a).is_ok());
        assert!(limiter.check_ceiling(a).is_ok());
        assert!(limiter.check_ceiling(a).is_err());
        assert!(counts_toward_ceiling(paths::LOGIN));
        assert!(counts_toward_ceiling(paths::AUTHORIZE));
        for exempt in [
            paths::TOKEN,
            paths::INTROSPECT,
            paths::DISCOVERY,
            paths::JWKS,
        ] {
            assert!(!counts_toward_ceiling(exempt), "{exempt}");
        }
    }

    #[test]
    fn clients_have_their_own_limits() {
        let limiter = limiter(RateLimits {
            client_requests_per_minute: 2,
            ..RateLimits::default()
        });
        assert!(limiter.check_client("a", None).is_ok());
        assert!(limiter.check_client("a", None).is_ok());
        assert!(limiter.check_client("a", None).is_err());
        assert!(limiter.check_client("b", None).is_ok(), "per client");
        assert!(limiter.check_client("c", Some(0)).is_ok(), "0: no limit");
        for _ in 0..10 {
            assert!(limiter.check_client("c", Some(0)).is_ok());
        }
        assert!(limiter.check_client("d", Some(1)).is_ok());
        assert!(limiter.check_client("d", Some(1)).is_err(), "its own limit");
        let unlimited = self::limiter(RateLimits::default());
        for _ in 0..1000 {
            assert!(unlimited.check_client("e", None).is_ok(), "off by default");
        }
    }

    #[test]
    fn refusals_name_the_limit_and_fit_the_caller() {
        let wait = Duration::from_millis(1500);
        let json = refusal(paths::TOKEN, Refused::Failures, "x", wait);
        assert_eq!(json.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json.headers().get(header::RETRY_AFTER).unwrap(), "2");
        assert!(json
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("json"));
        let page = refusal(paths::LOGIN, Refused::Failures, "x", wait);
        assert!(page
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("html"));
    }
}
