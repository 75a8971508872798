//! Requests ferrid makes to addresses that clients registered (`jwks_uri`,
//! `backchannel_logout_uri`) or sent (an external `request_uri`). Whoever registers a client chooses where
//! ferrid connects, so by default those connections may not reach private,
//! loopback or link-local addresses: a registration must not become a way
//! to probe the network ferrid runs in (server-side request forgery).
//!
//! The check is made on the address actually connected to: host names go
//! through a resolver that drops forbidden addresses, so a name that
//! resolves to a public address when registered and to `127.0.0.1` later
//! (DNS rebinding) is still refused; IP literals, which never reach a
//! resolver, are checked before the request. Proxies from the environment
//! are not used, since a proxy would resolve the name itself. Redirects are
//! not followed and every request has a short timeout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder};
use url::Url;

/// How long an outbound request may take in all.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client for destinations that clients registered.
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    /// A client that refuses private, loopback and link-local destinations
    /// unless `allow_private` (for development and tests).
    pub fn new(allow_private: bool) -> Result<Outbound, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent("ferrid");
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let http = builder
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Outbound {
            http,
            allow_private,
        })
    }

    /// A request to `uri`, refused at once if `uri` is not an http(s) URL
    /// or names a forbidden IP address.
    pub fn request(&self, method: Method, uri: &str) -> Result<RequestBuilder, String> {
        let url = Url::parse(uri).map_err(|_| "not a valid URL".to_owned())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only http and https URLs are fetched".into());
        }
        if !self.allow_private {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(|ip| !is_public(ip)) {
                return Err(REFUSED.into());
            }
        }
        Ok(self.http.request(method, url))
    }

    /// GETs `uri` once: time-limited, at most `max_bytes`, without
    /// following redirects, only from a permitted address, and only a
    /// success status. The error is for the log, not the client.
    pub async fn fetch_text(&self, uri: &str, max_bytes: usize) -> Result<String, String> {
        let mut response = self
            .request(Method::GET, uri)?
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > max_bytes {
                return Err(format!("larger than {max_bytes} bytes"));
            }
        }
        String::from_utf8(body).map_err(|_| "not UTF-8".to_owned())
    }
}

const REFUSED: &str = "the destination is a private, loopback or link-local address";

/// Resolves names with the system resolver and keeps only public
/// addresses; a name with none left fails to resolve.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = resolved.filter(|addr| is_public(addr.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host}: {REFUSED}").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is a globally routable unicast address: not loopback,
/// private (RFC 1918, unique local), link-local, shared (RFC 6598),
/// unspecified, broadcast, multicast or documentation space. IPv4 inside
/// IPv6 (mapped or NAT64-translated) is judged as the IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64
/// (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = ip.segments();
    (segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| {
        let [.., high, low] = segments;
        Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_globally_routable_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn forbidden_literals_and_other_schemes_are_refused_before_connecting() {
        let guarded = Outbound::new(false).unwrap();
        for uri in [
            "http://127.0.0.1:9/jwks",
            "http://[::1]/jwks",
            "https://10.0.0.1/jwks",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:7f00:1]/jwks",
        ] {
            assert_eq!(
                guarded.request(Method::GET, uri).err().as_deref(),
                Some(REFUSED),
                "{uri}"
            );
        }
        assert!(guarded.request(Method::GET, "file:///etc/passwd").is_err());
        assert!(guarded.request(Method::GET, "not a url").is_err());
        assert!(guarded
            .request(Method::GET, "https://rp.example/jwks")
            .is_ok());
        let open = Outbound::new(true).unwrap();
        assert!(open.request(Method::GET, "http://127.0.0.1:9/jwks").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_at_connect_time() {
        let guarded = Outbound::new(false).unwrap();
        let error = guarded
            .request(Method::GET, "http://localhost:9/jwks")
            .unwrap()
            .send()
            .await
            .unwrap_err();
        let chain = format!("{:?}", error);
        assert!(chain.contains(REFUSED), "{chain}");
    }
}
