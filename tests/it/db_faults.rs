//! The database goes away mid-run (PostgreSQL restarting, played by a proxy that
//! drops every connection and refuses new ones) and comes back: `/readyz` says
//! not ready meanwhile, writes are refused with 503 and store nothing, and the
//! service recovers by itself — the API, the matcher and the dispatcher work
//! again without a restart.
//!
//! PostgreSQL only (`RIDEALONG_TEST_POSTGRES_URL`): an embedded SQLite file cannot
//! go away like this.

use std::net::ToSocketAddrs;

use reqwest::StatusCode;

use crate::helpers::proxy::CuttableProxy;
use crate::helpers::{ADMIN_TOKEN, TestApp, TestDb, default_now, mentor_body, request_body};
use ridealong::store::Store;

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: std::net::SocketAddr) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("database URL");
    parsed
        .set_host(Some(&address.ip().to_string()))
        .expect("host");
    parsed.set_port(Some(address.port())).expect("port");
    parsed.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_rides_out_a_database_restart() {
    let db = TestDb::create().await;
    if !db.is_postgres() {
        eprintln!("database faults are played on PostgreSQL only: set RIDEALONG_TEST_POSTGRES_URL");
        return;
    }
    let url = reqwest::Url::parse(db.url()).expect("database URL");
    let server = (url.host_str().expect("host"), url.port().unwrap_or(5432))
        .to_socket_addrs()
        .expect("resolve")
        .next()
        .expect("an address");
    let proxy = CuttableProxy::start(server).await;
    let store = Store::connect(&through(db.url(), proxy.address()))
        .await
        .expect("connect through the proxy");
    let app = TestApp::spawn_on(db, store, default_now(), |_| {}).await;

    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    app.add_window(
        mentor_id,
        &serde_json::json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    assert_eq!(app.get("/readyz", None).await.0, StatusCode::OK);

    proxy.cut();
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        app.get("/healthz", None).await.0,
        StatusCode::OK,
        "the process is up"
    );
    let (status, body) = app
        .post(
            "/api/v1/requests",
            None,
            &request_body("Ada Lovelace", "+12015550199"),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");

    proxy.restore();
    let (status, body) = app.get("/readyz", None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ready again without a restart: {body}"
    );
    let (status, list) = app.get("/api/v1/requests", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(0),
        "the refused request was not stored"
    );

    // The same request now goes in, and the matcher (which kept running through
    // the outage) books it.
    let created = app
        .create_request(&request_body("Ada Lovelace", "+12015550199"))
        .await;
    app.settle().await;
    let request = app.request_as_seeker(&created).await;
    assert_eq!(request["status"], "scheduled", "{request}");
    app.stop().await;
}
