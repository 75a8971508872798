//! ferrid behind a real TLS-terminating reverse proxy (Debian's nginx),
//! at the root of the host and at a path: every URL ferrid produces is
//! the public one, a relying party signs a user in through the proxy,
//! and `X-Forwarded-For` is believed from the proxy only.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::database::{Backend, TempDatabase};
use crate::support::eventually;
use crate::support::oidc::PKCE_PARAMS;
use crate::support::process::{cli, user_and_client, Node};
use crate::support::Browser;

/// The proxy connects to ferrid from this address, the only one ferrid
/// trusts for `X-Forwarded-For`.
const PROXY_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The "browser" connects from this one.
const CLIENT_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> String {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("nginx not found: apt-get install nginx (scripts/test installs it)")
        .to_owned()
}

/// Starts nginx terminating TLS on `port` and forwarding `location` to
/// `upstream` unchanged, from [`PROXY_SOURCE`].
fn start_nginx(dir: &std::path::Path, port: u16, location: &str, upstream: SocketAddr) -> Nginx {
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    let conf = format!(
        r#"{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location {location} {{
            proxy_pass http://{upstream};
            proxy_bind {PROXY_SOURCE};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"#,
        user = if as_root { "user root;" } else { "" },
        dir = dir.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let nginx = Nginx(
        Command::new(nginx_binary())
            .args(["-e", &format!("{}/error.log", dir.display()), "-p"])
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return nginx;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "nginx did not start: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port()
}

/// The addresses of the audited revocations.
fn revocation_addresses(dir: &std::path::Path, database_url: &str, issuer: &str) -> Vec<String> {
    let events = cli(
        dir,
        database_url,
        issuer,
        &["audit", "tail", "--limit", "100"],
        "",
    );
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["event"] == "token.revoke")
        .map(|event| event["ip"].as_str().unwrap_or("-").to_owned())
        .collect()
}

async fn behind_nginx(path: &str) {
    let dir = tempfile::tempdir().unwrap();
    let database = TempDatabase::create(Backend::Sqlite, dir.path()).unwrap();
    let certificate = Command::new(env!("CARGO_BIN_EXE_ferrid"))
        .args(["dev-cert", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(certificate.status.success(), "{certificate:?}");
    let proxy_port = free_port();
    let issuer = format!("https://127.0.0.1:{proxy_port}{path}");
    let node = Node::start(
        dir.path(),
        &database.url,
        &[
            ("FERRID_ISSUER", issuer.as_str()),
            ("FERRID_RATE_LIMITS__TRUSTED_PROXIES", "[127.0.0.2]"),
        ],
    );
    node.wait_ready().await;
    let location = if path.is_empty() {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    let _nginx = start_nginx(dir.path(), proxy_port, &location, node.address());

    let trusted =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("cert.pem")).unwrap())
            .unwrap();
    let browser = Browser::with_client(|builder| {
        builder
            .add_root_certificate(trusted.clone())
            .local_address(IpAddr::V4(CLIENT_SOURCE))
    });

    // Discovery through the proxy names only public URLs.
    let discovery: Value = browser
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    for (name, value) in discovery.as_object().unwrap() {
        if let Some(url) = value.as_str().filter(|value| value.starts_with("http")) {
            assert!(
                url == issuer || url.starts_with(&format!("{issuer}/")),
                "{name}: {url}"
            );
        }
    }

    let (client_id, secret) = user_and_client(
        dir.path(),
        &database.url,
        &issuer,
        "grace",
        REDIRECT_URI,
        &[
            "--grant",
            "authorization_code",
            "--grant",
            "client_credentials",
            "--scope",
            "openid",
        ],
    );

    // A sign-in through the proxy: every redirect stays on the public
    // issuer (the walk stops at the first that does not) until the
    // relying party's.
    let start = format!(
        "{issuer}/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT_URI}&scope=openid&state=s&nonce=n{PKCE_PARAMS}"
    );
    let redirected = browser.sign_in(&issuer, &start, "grace").await;
    assert!(
        redirected.url.as_str().starts_with(REDIRECT_URI),
        "{}",
        redirected.url
    );
    assert_eq!(redirected.param("iss").as_deref(), Some(issuer.as_str()));
    let code = redirected.param("code").unwrap();
    let tokens: Value = browser
        .http
        .post(format!("{issuer}/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let claims = crate::support::oidc::jwt_claims(id_token);
    assert_eq!(claims["iss"], issuer.as_str());
    // Over TLS the cookies are Secure and host-bound.
    let session_cookie = if path.is_empty() {
        "__Host-ferrid_session"
    } else {
        "__Secure-ferrid_session"
    };
    assert!(browser
        .cookie(&format!("{issuer}/account"), session_cookie)
        .is_some());

    // X-Forwarded-For is believed from the proxy only. A revocation
    // (audited with the caller's address) through the proxy, by a client
    // claiming another address, is recorded with the client's real one;
    // straight to ferrid, bypassing the proxy, the claim is ignored too.
    let claiming = reqwest::Client::builder()
        .add_root_certificate(trusted.clone())
        .local_address(IpAddr::V4(CLIENT_SOURCE))
        .build()
        .unwrap();
    let direct_base = format!("http://{}{path}", node.address());
    for base in [&issuer, &direct_base] {
        // A token of its own for each, so the two events stay apart.
        let issued: Value = browser
            .http
            .post(format!("{issuer}/token"))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access_token = issued["access_token"].as_str().unwrap().to_owned();
        let revoked = claiming
            .post(format!("{base}/revoke"))
            .header("x-forwarded-for", "203.0.113.9")
            .basic_auth(&client_id, Some(&secret))
            .form(&[("token", access_token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK, "{base}");
    }
    let addresses = eventually(|| async {
        let addresses = revocation_addresses(dir.path(), &database.url, &issuer);
        (addresses.len() >= 2).then_some(addresses)
    })
    .await
    .unwrap();
    assert_eq!(
        addresses,
        [CLIENT_SOURCE.to_string(), CLIENT_SOURCE.to_string()],
        "the client's own address, never the proxy's or the claimed one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_at_the_root() {
    behind_nginx("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_at_a_path() {
    behind_nginx("/id").await;
}
