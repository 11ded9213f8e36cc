//! Outside checkers over the pages the browser tests see: the Nu Html Checker
//! (vnu, the W3C's validator) and axe-core (WCAG 2.1 A and AA, plus axe's best
//! practices). Both must find nothing.
//!
//! The checker is a vnu web service at `RIDEALONG_VNU_URL` and axe-core the file
//! at `RIDEALONG_AXE_JS`; `.ci/run` installs both from npm (pinned) and sets them,
//! so in CI the checks must run. Without them a test says so and skips the check.

use serde_json::Value;

/// Names the vnu web service (`http://127.0.0.1:8888`).
pub const VNU_ENV: &str = "RIDEALONG_VNU_URL";
/// Names axe-core's `axe.min.js`.
pub const AXE_ENV: &str = "RIDEALONG_AXE_JS";

/// What the axe run looks for: WCAG 2.1 levels A and AA, and best practices.
pub const AXE_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// Fails the test with every error the Nu Html Checker reports for `html`, the
/// page `name`.
pub async fn assert_valid_html(name: &str, html: &str) {
    let Some(service) = std::env::var(VNU_ENV).ok().filter(|url| !url.is_empty()) else {
        eprintln!("{name}: HTML not validated (set {VNU_ENV} to a vnu web service)");
        return;
    };
    let answer = reqwest::Client::new()
        .post(format!("{}/?out=json", service.trim_end_matches('/')))
        .header("content-type", "text/html; charset=utf-8")
        .header("user-agent", "ridealong-tests")
        .body(html.to_owned())
        .send()
        .await
        .expect("the Nu Html Checker answers");
    let status = answer.status();
    let text = answer.text().await.expect("the checker's report");
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|error| {
        panic!("the checker answered {status}, not JSON ({error}): {text}")
    });
    let errors: Vec<String> = report["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|message| message["type"] == "error" || message["subType"] == "fatal")
        .map(|message| {
            format!(
                "line {}: {} [{}]",
                message["lastLine"],
                message["message"].as_str().unwrap_or_default(),
                message["extract"].as_str().unwrap_or_default().trim()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "the Nu Html Checker found {} error(s) on {name}:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// axe-core's source, or `None` (with a note) when none is configured.
pub fn axe_source(name: &str) -> Option<String> {
    let Some(path) = std::env::var(AXE_ENV).ok().filter(|path| !path.is_empty()) else {
        eprintln!("{name}: accessibility not checked (set {AXE_ENV} to axe.min.js)");
        return None;
    };
    Some(std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {path}: {error}")))
}

/// Fails the test with every violation in `results`, axe's answer for the page
/// `name`.
pub fn assert_no_violations(name: &str, results: &Value) {
    let violations = results["violations"].as_array().expect("violations");
    let described: Vec<String> = violations
        .iter()
        .map(|violation| {
            let targets: Vec<String> = violation["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|node| node["target"].to_string())
                .collect();
            format!(
                "{} ({}): {} at {}",
                violation["id"].as_str().unwrap_or_default(),
                violation["impact"].as_str().unwrap_or("?"),
                violation["help"].as_str().unwrap_or_default(),
                targets.join(", ")
            )
        })
        .collect();
    assert!(
        described.is_empty(),
        "axe-core found {} violation(s) on {name}:\n{}",
        described.len(),
        described.join("\n")
    );
}
