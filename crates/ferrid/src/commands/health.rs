//! `ferrid health`: asks the local server whether it is ready, for
//! container health checks in images that carry no HTTP client.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};
use ferrid_server::paths;

use crate::config::Config;

/// Longest the whole check may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Exits successfully when `GET /health/ready` on the configured `bind`
/// answers 200.
pub fn run(config: &Config) -> anyhow::Result<()> {
    if config.tls.enabled() {
        bail!(
            "`ferrid health` speaks plain HTTP; with tls enabled, probe {}{} instead",
            config.settings()?.issuer,
            paths::HEALTH_READY
        );
    }
    let address = local(config.bind_address()?);
    // Under an issuer with a path, the server answers beneath it.
    let path = format!("{}{}", config.settings()?.base_path, paths::HEALTH_READY);
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .with_context(|| format!("nothing answers on {address}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream
        .take(64 * 1024)
        .read_to_string(&mut answer)
        .context("no answer")?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        bail!("not ready: {status} {body}");
    }
    println!("ready");
    Ok(())
}

/// A wildcard listen address is reached on loopback.
fn local(bind: SocketAddr) -> SocketAddr {
    match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bind.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bind.port())
        }
        _ => bind,
    }
}
