//! Health probes and the OpenAPI document.

use crate::helpers::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn health_and_readiness_answer_when_the_database_does() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/mentors",
        "/api/v1/mentors/{id}",
        "/api/v1/mentors/{id}/windows",
        "/api/v1/mentors/{id}/windows/{wid}",
        "/api/v1/mentors/{id}/pauses",
        "/api/v1/mentors/{id}/pauses/{pid}",
        "/api/v1/mentors/{id}/slots",
        "/api/v1/requests",
        "/api/v1/requests/{id}",
        "/api/v1/calls",
        "/api/v1/calls/{id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_the_error_shape() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = app
        .send(reqwest::Method::PUT, "/api/v1/requests", None, None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    app.stop().await;
}
