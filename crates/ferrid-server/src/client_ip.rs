//! Who a request comes from: the peer's address, or, behind trusted
//! proxies (`rate_limits.trusted_proxies`), the address they vouch for in
//! `X-Forwarded-For`. Rate limits count against it and audit events
//! record it.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Resolves the client address of requests.
#[derive(Debug, Clone, Default)]
pub struct ClientIp {
    trusted_proxies: Vec<IpNet>,
}

impl ClientIp {
    /// A resolver trusting these proxies (addresses or CIDR blocks); fails
    /// on a malformed entry.
    pub fn new(trusted_proxies: &[String]) -> Result<ClientIp, String> {
        let trusted_proxies = trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("rate_limits.trusted_proxies: \"{entry}\" is not an address or CIDR block")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(ClientIp { trusted_proxies })
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy, in which case the nearest untrusted address in
    /// `X-Forwarded-For` (read right to left, as proxies append).
    pub fn resolve(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let headers: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .collect();
        // Right to left: each trusted hop vouches for the entry before it.
        // The first untrusted address is the client; an entry that is not
        // an address stops the walk at the hop that forwarded it (so junk
        // from a client cannot hide the address its proxy appended).
        let mut client = peer;
        for entry in headers.iter().rev().flat_map(|value| value.rsplit(',')) {
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = address;
            if !self.is_trusted(address) {
                break;
            }
        }
        Some(client)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(&address))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(forwarded) = forwarded {
            request = request.insert_header(("X-Forwarded-For", forwarded));
        }
        request.to_http_request()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let clients = ClientIp::new(&["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap();
        let ip = |peer, forwarded| clients.resolve(&request(peer, forwarded)).unwrap();
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(
            ip("203.0.113.5:1", Some("1.2.3.4")),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        // Trusted proxy: the nearest untrusted hop.
        assert_eq!(
            ip("10.1.1.1:1", Some("1.2.3.4, 198.51.100.9")),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ip("192.0.2.7:1", Some("1.2.3.4, 10.9.9.9")),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // A trusted proxy without the header, or with garbage in it.
        assert_eq!(
            ip("10.1.1.1:1", None),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ip("10.1.1.1:1", Some("1.2.3.4, nonsense")),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
        // Junk from the client does not hide the address its proxy added.
        assert_eq!(
            ip("10.1.1.1:1", Some("nonsense, 198.51.100.9")),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
        assert!(ClientIp::new(&["not-an-ip".into()]).is_err());
    }
}
