//! Headless Chromium driven over WebDriver (fantoccini + chromedriver), for tests
//! that must see the pages the way a person's browser does.
//!
//! The driver is `RIDEALONG_CHROMEDRIVER` when set (then a missing or broken
//! driver fails the test; `.ci/run` sets it), else `/usr/bin/chromedriver` when
//! Debian's `chromium-driver` is installed; with neither, browser tests say so and
//! pass without running. Screenshots go to `target/browser-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::audit;

/// Names the chromedriver binary; when set, browser tests must run.
pub const DRIVER_ENV: &str = "RIDEALONG_CHROMEDRIVER";
/// Names the Chromium binary (default `/usr/bin/chromium`).
pub const CHROMIUM_ENV: &str = "RIDEALONG_CHROMIUM";

/// A phone-sized viewport (iPhone 12–15).
pub const PHONE: Viewport = Viewport {
    width: 390,
    height: 844,
    mobile: true,
};
/// A laptop-sized viewport.
pub const LAPTOP: Viewport = Viewport {
    width: 1280,
    height: 800,
    mobile: false,
};

/// The size of the page area, and whether to emulate a touch phone.
#[derive(Clone, Copy, Debug)]
pub struct Viewport {
    /// CSS pixels across.
    pub width: u32,
    /// CSS pixels down.
    pub height: u32,
    /// Emulate a phone (touch, device pixel ratio 3).
    pub mobile: bool,
}

/// One headless Chromium session and the chromedriver that runs it.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at `viewport`, or `None` (with a
    /// note on stderr) when no driver is installed and none is required.
    pub async fn launch(viewport: Viewport) -> Option<Browser> {
        let driver_path = match std::env::var(DRIVER_ENV) {
            Ok(path) if !path.is_empty() => PathBuf::from(path),
            _ if Path::new("/usr/bin/chromedriver").exists() => {
                PathBuf::from("/usr/bin/chromedriver")
            }
            _ => {
                eprintln!(
                    "no chromedriver: install Debian's chromium and chromium-driver (or set {DRIVER_ENV}) to run the browser tests"
                );
                return None;
            }
        };
        let chromium =
            std::env::var(CHROMIUM_ENV).unwrap_or_else(|_| "/usr/bin/chromium".to_owned());

        let port = free_port();
        // The browser keeps the machine's clock: Chromium does not start under
        // libfaketime, which CI preloads to run the tests at fixed instants.
        let mut driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .env_remove("LD_PRELOAD")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", driver_path.display()));
        // chromedriver says when it listens; wait for that line, not for a timer.
        let stdout = driver.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .expect("read chromedriver output")
                .expect("chromedriver exited before it started");
            if line.contains("started successfully") {
                break;
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--window-size={},{}", viewport.width, viewport.height),
        ];
        args.push("--force-device-scale-factor=1".to_owned());
        let mut options = json!({ "binary": chromium, "args": args });
        if viewport.mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": viewport.width, "height": viewport.height, "pixelRatio": 3.0, "touch": true },
                "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            });
        }
        let mut capabilities = Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        // chromedriver listens on loopback: plain HTTP, no TLS stack needed.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("start a Chromium session");
        Some(Browser { client, driver })
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("open page");
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("body text")
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .expect("run script")
    }

    /// Whether the page is wider than the viewport (a horizontal scrollbar on a
    /// phone is a layout bug).
    pub async fn overflows_horizontally(&self) -> bool {
        self.eval("return document.documentElement.scrollWidth > window.innerWidth;")
            .await
            .as_bool()
            .expect("a boolean")
    }

    /// Saves a screenshot as `target/browser-screenshots/{name}.png` for review.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Records the page as it stands under `name`: a screenshot, then the Nu Html
    /// Checker over its markup and axe-core over the rendered page; either
    /// finding anything fails the test (see [`super::audit`]).
    pub async fn check_page(&self, name: &str) {
        self.screenshot(name).await;
        let html = self
            .eval(
                "return (document.doctype ? new XMLSerializer().serializeToString(document.doctype) : '') \
                 + document.documentElement.outerHTML;",
            )
            .await;
        audit::assert_valid_html(name, html.as_str().expect("the page's markup")).await;
        let Some(axe) = audit::axe_source(name) else {
            return;
        };
        // WebDriver runs scripts outside the page's Content-Security-Policy.
        self.client
            .execute(&format!("{axe}\n;return true;"), Vec::new())
            .await
            .expect("load axe-core");
        let results = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: arguments[0] } })
                    .then(results => done({ violations: results.violations }))
                    .catch(error => done({ error: String(error) }));",
                vec![serde_json::json!(audit::AXE_TAGS)],
            )
            .await
            .expect("run axe-core");
        assert!(
            results["error"].is_null(),
            "axe-core failed on {name}: {results}"
        );
        audit::assert_no_violations(name, &results);
    }

    /// Ends the browser session and the driver.
    pub async fn close(mut self) {
        self.client.close().await.expect("close browser");
        let _ = self.driver.kill().await;
    }
}

/// Where screenshots go: the build's target directory.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
