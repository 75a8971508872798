//! Per-client-IP rate limits (GCRA, from `governor`) on the endpoints an
//! attacker would hammer. Counters live in this process: each node
//! enforces its own limit, so a fleet of N nodes admits up to N times the
//! configured rate. Account lockout, which must hold across nodes, is in
//! the database instead (see `lockout`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::client_ip::ClientIp;
use crate::error::PageError;
use crate::paths;
use crate::security::RateLimits;

/// The endpoint groups with their own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Form posts that check a password or a code.
    Login,
    /// The token endpoint.
    Token,
    /// Introspection and revocation.
    Introspection,
    /// The authorization endpoint.
    Authorization,
}

impl Limit {
    /// The group a request belongs to, if it is limited.
    pub fn of(method: &Method, path: &str) -> Option<Limit> {
        match path {
            paths::TOKEN => Some(Limit::Token),
            paths::INTROSPECT | paths::REVOKE => Some(Limit::Introspection),
            paths::AUTHORIZE => Some(Limit::Authorization),
            paths::LOGIN
            | paths::LOGIN_MFA
            | paths::PASSWORD_FORGOT
            | paths::PASSWORD_RESET
            | paths::ACCOUNT_PASSWORD
                if method == Method::POST =>
            {
                Some(Limit::Login)
            }
            _ => None,
        }
    }

    /// The configuration key that sets this limit.
    pub fn setting(self) -> &'static str {
        match self {
            Limit::Login => "rate_limits.login_per_minute",
            Limit::Token => "rate_limits.token_per_minute",
            Limit::Introspection => "rate_limits.introspection_per_minute",
            Limit::Authorization => "rate_limits.authorization_per_minute",
        }
    }
}

/// The limiters of one node.
pub struct RateLimiter {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    token: Option<DefaultKeyedRateLimiter<IpAddr>>,
    introspection: Option<DefaultKeyedRateLimiter<IpAddr>>,
    authorization: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_minute: RateLimits,
    /// Whose address a request counts against.
    pub clients: ClientIp,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    NonZeroU32::new(per_minute).map(|rate| governor::RateLimiter::keyed(Quota::per_minute(rate)))
}

impl RateLimiter {
    /// Builds the limiters, counting requests against the addresses
    /// `clients` resolves.
    pub fn new(limits: &RateLimits, clients: ClientIp) -> RateLimiter {
        RateLimiter {
            login: limiter(limits.login_per_minute),
            token: limiter(limits.token_per_minute),
            introspection: limiter(limits.introspection_per_minute),
            authorization: limiter(limits.authorization_per_minute),
            per_minute: limits.clone(),
            clients,
        }
    }

    fn limiter(&self, limit: Limit) -> (Option<&DefaultKeyedRateLimiter<IpAddr>>, u32) {
        match limit {
            Limit::Login => (self.login.as_ref(), self.per_minute.login_per_minute),
            Limit::Token => (self.token.as_ref(), self.per_minute.token_per_minute),
            Limit::Introspection => (
                self.introspection.as_ref(),
                self.per_minute.introspection_per_minute,
            ),
            Limit::Authorization => (
                self.authorization.as_ref(),
                self.per_minute.authorization_per_minute,
            ),
        }
    }

    /// Admits one request from `ip`, or says how long to wait.
    pub fn check(&self, limit: Limit, ip: IpAddr) -> Result<(), Duration> {
        match self.limiter(limit).0 {
            Some(limiter) => limiter
                .check_key(&Self::bucket(ip))
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
            None => Ok(()),
        }
    }

    /// Forgets addresses whose buckets are full again, bounding memory.
    pub fn retain_recent(&self) {
        for limiter in [
            &self.login,
            &self.token,
            &self.introspection,
            &self.authorization,
        ]
        .into_iter()
        .flatten()
        {
            limiter.retain_recent();
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

/// Middleware: refuses a request over its group's limit with 429 and
/// `Retry-After`, naming the limit.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The path as the router will see it (percent-decoded), so that
    // `/log%69n` is limited like `/login`.
    if let Some(limit) = Limit::of(request.method(), request.match_info().as_str()) {
        if let Some(limiter) = request.app_data::<web::Data<RateLimiter>>() {
            if let Some(ip) = limiter.clients.resolve(request.request()) {
                if let Err(wait) = limiter.check(limit, ip) {
                    let per_minute = limiter.limiter(limit).1;
                    tracing::warn!(%ip, limit = limit.setting(), per_minute, "rate limit refused a request");
                    let response = refusal(limit, per_minute, wait);
                    return Ok(request.into_response(response));
                }
            }
        }
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

fn refusal(limit: Limit, per_minute: u32, wait: Duration) -> HttpResponse {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let message = format!(
        "Too many requests from your address: at most {per_minute} per minute ({}). Try again in {seconds} s.",
        limit.setting()
    );
    let mut response = match limit {
        Limit::Token | Limit::Introspection => HttpResponse::TooManyRequests()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "rate_limited",
                "error_description": message,
            })),
        Limit::Login | Limit::Authorization => PageError {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many requests".into(),
            message: message.into(),
            hint: Some("Wait a moment, then try again.".into()),
        }
        .response(),
    };
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(trusted: &[&str]) -> RateLimiter {
        let trusted: Vec<String> = trusted.iter().map(|entry| entry.to_string()).collect();
        RateLimiter::new(
            &RateLimits {
                login_per_minute: 2,
                ..RateLimits::default()
            },
            ClientIp::new(&trusted).unwrap(),
        )
    }

    #[test]
    fn limits_are_per_address_and_group() {
        let limiter = limiter(&[]);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(limiter.check(Limit::Login, a).is_ok());
        assert!(limiter.check(Limit::Login, a).is_ok());
        let wait = limiter.check(Limit::Login, a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(limiter.check(Limit::Login, b).is_ok());
        assert!(limiter.check(Limit::Token, a).is_ok());
        // One IPv6 /64 is one client.
        let (c, d): (IpAddr, IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::ffff:2".parse().unwrap(),
        );
        assert!(limiter.check(Limit::Login, c).is_ok());
        assert!(limiter.check(Limit::Login, d).is_ok());
        assert!(limiter.check(Limit::Login, c).is_err());
        let other_net: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert!(limiter.check(Limit::Login, other_net).is_ok());
    }

    #[test]
    fn refusals_name_the_limit() {
        let response = refusal(Limit::Token, 600, Duration::from_millis(1500));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }
}
