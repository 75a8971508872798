//! A real browser for the console's tests: headless Chromium driven over
//! WebDriver (Debian's `chromium` and `chromium-driver`, installed by
//! `scripts/test`), with axe-core's automated accessibility check
//! (fetched by `scripts/test` into `target/axe-core/`).
//!
//! Where the browser or axe-core is missing, the tests are skipped with a
//! note, except in CI (`CI` set), where that is a failure.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use super::receiver::free_port;

/// A chromedriver process, stopped on drop.
pub struct Driver {
    process: Child,
    port: u16,
    axe: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn tool(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn missing(what: &str) -> Option<Driver> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing; scripts/test installs it"
    );
    eprintln!("SKIPPED: {what} is missing (run scripts/test, which installs it)");
    None
}

impl Driver {
    /// Starts chromedriver, or `None` (outside CI) when the browser or
    /// axe-core is not installed.
    pub fn start() -> Option<Driver> {
        let chromedriver = tool("BROWSER_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = tool("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium");
        let axe_path = std::env::var_os("BROWSER_TEST_AXE_JS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/axe-core/axe.min.js"),
            PathBuf::from,
        );
        if !chromedriver.exists() || !chromium.exists() {
            return missing("Chromium or chromedriver");
        }
        let Ok(axe) = std::fs::read_to_string(&axe_path) else {
            return missing("axe-core (target/axe-core/axe.min.js)");
        };
        let port = free_port();
        let process = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Driver { process, port, axe })
    }

    /// A new browser window with its own profile (cookies).
    pub async fn browser(&self) -> Chromium {
        let chromium = tool("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // As root in a container: no sandbox; and no calls home,
                // which this machine's closed network refuses.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-quic", "--window-size=1280,1000", "--lang=en-US"
                ]
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session");
        Chromium {
            client,
            axe: self.axe.clone(),
        }
    }
}

/// A command of a WebDriver extension (WebAuthn's virtual
/// authenticators, W3C WebAuthn §11), which fantoccini does not name.
#[derive(Debug)]
struct Extension {
    /// Below `session/{id}/`.
    path: String,
    method: http::Method,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for Extension {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// One browser window.
pub struct Chromium {
    /// The WebDriver client.
    pub client: Client,
    axe: String,
}

impl Chromium {
    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The address shown.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// Waits (up to 15 s) until the browser shows a page at `path`, as a
    /// click's navigation may still be under way when the click returns.
    pub async fn arrive(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if url.path() == path && self.ready().await {
                return;
            }
            assert!(Instant::now() < deadline, "expected {path}, still at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s) until the page holds `text`.
    pub async fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.ready().await && self.html().await.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "expected {text:?} in {}",
                self.html().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ready(&self) -> bool {
        self.client
            .execute("return document.readyState;", vec![])
            .await
            .ok()
            .and_then(|state| state.as_str().map(|state| state == "complete"))
            .unwrap_or(false)
    }

    /// The page's HTML.
    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Types `text` into the field matched by `css`, replacing its value.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no field {css}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks the element matched by `css` (a button or link).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("nothing to click at {css}"))
            .click()
            .await
            .expect("click");
    }

    /// The text of the element matched by `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no element {css}"))
            .text()
            .await
            .expect("text")
    }

    /// An attribute of the element matched by `css`.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no element {css}"))
            .attr(name)
            .await
            .expect("attribute")
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    /// Runs axe-core's WCAG 2.1 A and AA rules on the page and asserts
    /// there is no violation.
    pub async fn assert_accessible(&self, what: &str) {
        self.client
            .execute(&format!("{}\nreturn true;", self.axe), vec![])
            .await
            .expect("load axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(result => done(JSON.stringify(result.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)
                   })))))
                   .catch(error => done('error: ' + error));",
                vec![],
            )
            .await
            .expect("run axe-core");
        let violations = result.as_str().unwrap_or_default().to_owned();
        assert_eq!(
            violations, "[]",
            "accessibility violations on {what}: {violations}"
        );
    }

    /// Saves a screenshot as `name`.png under `BROWSER_TEST_SCREENSHOTS`,
    /// when set (docs/admin.md shows the ones the tests take).
    pub async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("BROWSER_TEST_SCREENSHOTS") {
            let png = self.client.screenshot().await.expect("screenshot");
            let path = PathBuf::from(dir).join(format!("{name}.png"));
            std::fs::write(&path, png).expect("write screenshot");
        }
    }

    /// Adds a virtual authenticator, as a laptop's built-in one: CTAP2
    /// over the internal transport, discoverable credentials, user
    /// verification that always succeeds. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let added = self
            .client
            .issue_cmd(Extension {
                path: "webauthn/authenticator".into(),
                method: http::Method::POST,
                body: Some(json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true
                })),
            })
            .await
            .expect("add a virtual authenticator");
        added.as_str().expect("authenticator id").to_owned()
    }

    /// The credentials (passkeys) the virtual authenticator `id` holds.
    pub async fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        let listed = self
            .client
            .issue_cmd(Extension {
                path: format!("webauthn/authenticator/{id}/credentials"),
                method: http::Method::GET,
                body: None,
            })
            .await
            .expect("list credentials");
        listed.as_array().cloned().unwrap_or_default()
    }

    /// Closes the window.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
