//! The page frame over HTTP: security headers on every page, the CSRF cookie, the
//! assets, and a page (not JSON) for a browser that asks for a missing page.

use reqwest::header;

use crate::helpers::TestApp;
use crate::helpers::browser::{Browser, LAPTOP, PHONE};

#[tokio::test]
async fn the_front_page_is_served_under_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let csp = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let cookie = headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.starts_with("ridealong_csrf="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    let body = response.text().await.expect("body");
    assert!(body.contains("Ask for a call") && body.contains("href=\"/request\""));
    app.stop().await;
}

#[tokio::test]
async fn a_browser_that_already_has_a_csrf_token_keeps_it() {
    let app = TestApp::spawn().await;
    let token = "A".repeat(43);
    let response = app
        .http
        .get(app.url("/"))
        .header(header::COOKIE, format!("ridealong_csrf={token}"))
        .send()
        .await
        .expect("GET /");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    app.stop().await;
}

#[tokio::test]
async fn assets_are_served_with_their_types() {
    let app = TestApp::spawn().await;
    for (path, kind) in [
        ("/assets/site.css", "text/css"),
        ("/assets/site.js", "text/javascript"),
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("GET asset");
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_missing_page_is_a_page_for_browsers_and_json_for_clients() {
    let app = TestApp::spawn().await;
    let page = app
        .http
        .get(app.url("/no-such-page"))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 404);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("<h1>Not found</h1>")
    );

    let (status, body) = app.get("/no-such-page", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}

#[tokio::test]
async fn the_front_page_fits_a_phone_and_a_laptop_in_a_real_browser() {
    let app = TestApp::spawn().await;
    for (viewport, name) in [(PHONE, "home-390x844"), (LAPTOP, "home-1280x800")] {
        let Some(browser) = Browser::launch(viewport).await else {
            app.stop().await;
            return;
        };
        browser.open(&app.url("/")).await;
        let text = browser.text().await;
        assert!(
            text.contains("Stuck in your job search? Ask for help."),
            "{text}"
        );
        let width = browser.eval("return window.innerWidth;").await;
        assert_eq!(
            width, viewport.width,
            "the viewport is what the test asked for"
        );
        assert!(
            !browser.overflows_horizontally().await,
            "{name} scrolls sideways"
        );
        browser.check_page(name).await;
        browser.close().await;
    }
    app.stop().await;
}
