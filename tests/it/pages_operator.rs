//! The operator's pages over HTTP: sign-in with the admin token, a session cookie,
//! mentors created and paused through forms, requests and calls with filters,
//! outcome counts per week, CSRF refusals, and escaped user text.

use std::collections::{BTreeMap, HashMap};

use chrono::Datelike;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{self, ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use ridealong::secret::Secret;
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";

/// A browser stand-in: keeps cookies, follows no redirects, reads CSRF tokens.
pub(crate) struct Visitor {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

/// A page as answered: status, `Location` if any, body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    pub(crate) body: String,
}

impl Visitor {
    fn new(app: &TestApp) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, self.cookie_header())
        };
        let response = request.send().await.expect("request reaches the app");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().expect("ascii").to_owned());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().expect("ascii").to_owned())
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().expect("a pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.expect("body");
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts `fields` as a form, as a same-origin browser would.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(fields);
        self.send(request).await
    }

    /// Opens `path` and posts its form with the page's CSRF token and `fields`.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(page).await;
        assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.body);
        let token = csrf_token(&form.body);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    async fn sign_in(&mut self) {
        let answer = self
            .submit(
                "/operator/sign-in",
                "/operator/sign-in",
                &[("token", ADMIN_TOKEN)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/operator"));
    }
}

/// The CSRF token in a page's form.
fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}

pub(crate) async fn signed_in(app: &TestApp) -> Visitor {
    let mut visitor = Visitor::new(app);
    visitor.sign_in().await;
    visitor
}

async fn api_mentors(app: &TestApp) -> Vec<Value> {
    let (status, mentors) = app.get("/api/v1/mentors", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    mentors.as_array().expect("list").clone()
}

const NEW_MENTOR: &[(&str, &str)] = &[
    ("name", "Grace Hopper"),
    ("phone", "(201) 555-0123"),
    ("timezone", "America/New_York"),
    ("topics", "interviews, Data analysis"),
    ("call_minutes", "20"),
    ("max_calls_per_window", "2"),
];

#[tokio::test]
async fn operator_pages_send_a_browser_that_is_not_signed_in_to_the_sign_in_page() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    for path in [
        "/operator",
        "/operator/mentors",
        "/operator/mentors/1",
        "/operator/requests",
        "/operator/calls?status=ended",
        "/operator/calls/1",
        "/operator/webhooks",
    ] {
        let answer = visitor.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            answer.location.as_deref(),
            Some("/operator/sign-in"),
            "{path}"
        );
    }
    // A form posted with a valid CSRF token but no session changes nothing.
    let answer = visitor
        .submit("/operator/sign-in", "/operator/mentors", NEW_MENTOR)
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(api_mentors(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_admin_token_is_refused_inline_and_signs_nobody_in() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    let answer = visitor
        .submit(
            "/operator/sign-in",
            "/operator/sign-in",
            &[("token", "not-the-admin-token-at-all")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer.body.contains("That is not the admin token"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("id=\"f-token-error\""),
        "the error sits by the field"
    );
    assert!(
        !answer.body.contains("not-the-admin-token-at-all"),
        "what was typed is not echoed"
    );
    assert!(!visitor.cookies.contains_key("ridealong_session"));
    let answer = visitor.get("/operator").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn changing_the_admin_token_signs_the_operator_out() {
    let app = TestApp::spawn().await;
    let mut operator = signed_in(&app).await;
    assert_eq!(operator.get("/operator").await.status, StatusCode::OK);

    // The same token after a restart: still signed in.
    let app = app.restart_with(|_| {}).await;
    operator.base = app.url("");
    assert_eq!(operator.get("/operator").await.status, StatusCode::OK);

    // A new token: the session it did not sign in is over, and the old token
    // signs nobody in any more; the new one does.
    let new_token = "a-new-admin-token-after-a-volunteer-left";
    let app = app
        .restart_with(|config| config.admin_token = Some(Secret::new(new_token)))
        .await;
    operator.base = app.url("");
    let answer = operator.get("/operator").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/operator/sign-in"));
    let sign_in = "/operator/sign-in";
    let refused = operator
        .submit(sign_in, sign_in, &[("token", ADMIN_TOKEN)])
        .await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    let answer = operator
        .submit(sign_in, sign_in, &[("token", new_token)])
        .await;
    assert_eq!(answer.location.as_deref(), Some("/operator"));
    assert_eq!(operator.get("/operator").await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn the_admin_token_signs_the_browser_in_until_it_signs_out() {
    let app = TestApp::spawn().await;
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/operator/sign-in").await;
    assert!(form.body.contains("type=\"password\""), "{}", form.body);
    let token = csrf_token(&form.body);
    let answer = visitor
        .post(
            "/operator/sign-in",
            &[("csrf", &token), ("token", ADMIN_TOKEN)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/operator"));
    let session = answer
        .set_cookies
        .iter()
        .find(|cookie| cookie.starts_with("ridealong_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains(ADMIN_TOKEN),
        "the cookie is not the admin token"
    );

    let overview = visitor.get("/operator").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("<h1>Overview</h1>"),
        "{}",
        overview.body
    );
    assert!(!overview.body.contains(ADMIN_TOKEN));
    // Signed in, the sign-in page goes straight to the overview.
    assert_eq!(
        visitor.get("/operator/sign-in").await.location.as_deref(),
        Some("/operator")
    );

    let token = csrf_token(&overview.body);
    let answer = visitor
        .post("/operator/sign-out", &[("csrf", &token)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/operator/sign-in"));
    assert_eq!(visitor.get("/operator").await.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn without_an_admin_token_the_operator_pages_are_off_and_say_how_to_turn_them_on() {
    let app = TestApp::spawn_with(helpers::default_now(), |config| config.admin_token = None).await;
    let mut visitor = Visitor::new(&app);
    let page = visitor.get("/operator/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("RIDEALONG_ADMIN_TOKEN"), "{}", page.body);
    assert!(!page.body.contains("type=\"password\""));
    assert_eq!(visitor.get("/operator").await.status, StatusCode::SEE_OTHER);
    let home = visitor.get("/").await;
    let token = csrf_token_or_cookie(&visitor, &home.body);
    let answer = visitor
        .post(
            "/operator/sign-in",
            &[("csrf", &token), ("token", ADMIN_TOKEN)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(!visitor.cookies.contains_key("ridealong_session"));
    app.stop().await;
}

/// The page's CSRF token, or (on a page without a form) the cookie's, which is the
/// same value.
fn csrf_token_or_cookie(visitor: &Visitor, html: &str) -> String {
    if html.contains("name=\"csrf\"") {
        csrf_token(html)
    } else {
        visitor.cookies["ridealong_csrf"].clone()
    }
}

#[tokio::test]
async fn a_mentor_created_on_the_page_is_in_the_api_and_its_token_is_shown_once() {
    let app = TestApp::spawn().await;
    let mut visitor = signed_in(&app).await;
    let answer = visitor
        .submit("/operator/mentors", "/operator/mentors", NEW_MENTOR)
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let created = answer.location.expect("to the page that shows the token");
    assert!(
        !answer
            .set_cookies
            .iter()
            .any(|cookie| !cookie.contains("HttpOnly")),
        "{:?}",
        answer.set_cookies
    );
    let answer = visitor.get(&created).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let marker = "id=\"api-token\">";
    let start = answer.body.find(marker).expect("the token is shown") + marker.len();
    let token = answer.body[start..]
        .split('<')
        .next()
        .expect("token")
        .to_owned();
    assert!(token.starts_with("ram_"), "{token}");
    assert!(
        answer.body.contains("/mentor"),
        "says where mentors sign in"
    );

    let mentors = api_mentors(&app).await;
    let mentor = &mentors[0];
    assert_eq!(mentor["name"], "Grace Hopper");
    assert_eq!(mentor["phone"], MENTOR_PHONE);
    assert_eq!(mentor["timezone"], "America/New_York");
    assert_eq!(mentor["topics"], json!(["interviews", "Data analysis"]));
    assert_eq!(mentor["call_minutes"], 20);
    assert_eq!(mentor["max_calls_per_window"], 2);
    let own = format!("/api/v1/mentors/{}", mentor["id"]);
    assert_eq!(
        app.get(&own, Some(&token)).await.0,
        StatusCode::OK,
        "the token works"
    );

    let again = visitor.get(&created).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!again.body.contains(&token), "shown only once");
    assert!(again.body.contains("was shown once"));
    assert_eq!(api_mentors(&app).await.len(), 1, "reloading adds nobody");
    // The page shows only the token of its own mentor.
    let (_, other_token) = app
        .create_mentor(&mentor_body("Alan Kay", "+12015550124"))
        .await;
    visitor
        .cookies
        .insert("ridealong_new_mentor_token".to_owned(), other_token.clone());
    assert!(!visitor.get(&created).await.body.contains(&other_token));

    let list = visitor.get("/operator/mentors").await;
    assert!(list.body.contains("Grace Hopper") && list.body.contains("America/New_York"));
    assert!(!list.body.contains(&token), "the token is shown only once");
    let detail = visitor
        .get(&format!("/operator/mentors/{}", mentor["id"]))
        .await;
    assert!(
        detail.body.contains(MENTOR_PHONE),
        "the operator sees the mentor's number"
    );
    assert!(!detail.body.contains(&token));
    app.stop().await;
}

#[tokio::test]
async fn invalid_mentor_input_is_shown_next_to_its_field_keeps_what_was_typed_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let mut visitor = signed_in(&app).await;
    for (field, value) in [
        ("phone", "911"),
        ("timezone", "Mars/Olympus"),
        ("call_minutes", "ten"),
        ("call_minutes", "2"),
        ("max_calls_per_window", "0"),
        ("name", " "),
    ] {
        let fields: Vec<(&str, &str)> = NEW_MENTOR
            .iter()
            .map(|&(name, old)| (name, if name == field { value } else { old }))
            .collect();
        let answer = visitor
            .submit("/operator/mentors", "/operator/mentors", &fields)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        assert!(
            answer.body.contains(&format!("id=\"f-{field}-error\"")),
            "{field}={value}: {}",
            answer.body
        );
        assert!(answer.body.contains("class=\"error-summary\""));
        if field != "name" {
            assert!(
                answer.body.contains("value=\"Grace Hopper\""),
                "the name is kept"
            );
        }
    }
    assert!(api_mentors(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn no_form_is_accepted_without_its_csrf_token_or_from_another_site() {
    let app = TestApp::spawn().await;
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let mut visitor = signed_in(&app).await;
    let page = visitor.get("/operator/mentors").await;
    let token = csrf_token(&page.body);
    let pauses = format!("/operator/mentors/{mentor_id}/pauses");
    let pause = [("from", "2026-12-21"), ("to", "2027-01-03")];

    // No token, a wrong token.
    let mut fields = NEW_MENTOR.to_vec();
    assert_eq!(
        visitor.post("/operator/mentors", &fields).await.status,
        StatusCode::FORBIDDEN
    );
    fields.push(("csrf", "A-forged-token-of-the-right-length-000000000"));
    assert_eq!(
        visitor.post("/operator/mentors", &fields).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        visitor.post(&pauses, &pause).await.status,
        StatusCode::FORBIDDEN
    );

    // The right token, but the browser says the post came from another site.
    let mut fields = NEW_MENTOR.to_vec();
    fields.push(("csrf", &token));
    for site in ["cross-site", "same-site"] {
        let request = visitor
            .http
            .post(format!("{}/operator/mentors", visitor.base))
            .header("sec-fetch-site", site)
            .form(&fields);
        let answer = visitor.send(request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{site}");
        assert!(answer.body.contains("nothing was saved"));
    }
    // Sign-in and sign-out are forms too.
    let mut stranger = Visitor::new(&app);
    stranger.get("/operator/sign-in").await;
    let answer = stranger
        .post("/operator/sign-in", &[("token", ADMIN_TOKEN)])
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(!stranger.cookies.contains_key("ridealong_session"));
    assert_eq!(
        visitor.post("/operator/sign-out", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        visitor.get("/operator").await.status,
        StatusCode::OK,
        "still signed in"
    );

    assert_eq!(api_mentors(&app).await.len(), 1, "no mentor was added");
    let (_, mentor) = app
        .get(&format!("/api/v1/mentors/{mentor_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(mentor["pauses"], json!([]), "no pause was added");
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_is_paused_and_unpaused_from_their_page() {
    let app = TestApp::spawn().await;
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let mut visitor = signed_in(&app).await;
    let page = format!("/operator/mentors/{mentor_id}");
    let action = format!("{page}/pauses");

    let refused = visitor
        .submit(
            &page,
            &action,
            &[("from", "2026-12-03"), ("to", "2026-11-29")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("id=\"f-to-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"2026-12-03\""),
        "what was typed is kept"
    );

    // Today (Monday 2026-11-30) is inside the pause.
    let added = visitor
        .submit(
            &page,
            &action,
            &[("from", "2026-11-29"), ("to", "2026-12-03")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let (_, mentor) = app
        .get(&format!("/api/v1/mentors/{mentor_id}"), Some(ADMIN_TOKEN))
        .await;
    let pauses = mentor["pauses"].as_array().expect("pauses");
    assert_eq!(pauses.len(), 1, "{mentor}");
    assert_eq!(pauses[0]["from"], "2026-11-29");
    assert_eq!(pauses[0]["to"], "2026-12-03");
    let list = visitor.get("/operator/mentors").await;
    assert!(list.body.contains("until 2026-12-03"), "{}", list.body);

    let remove = format!("{page}/pauses/{}/delete", pauses[0]["id"]);
    let removed = visitor.submit(&page, &remove, &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let (_, mentor) = app
        .get(&format!("/api/v1/mentors/{mentor_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(mentor["pauses"], json!([]));
    assert_eq!(
        visitor.submit(&page, &remove, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/operator/mentors/999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/operator/mentors/abc").await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

/// A mentor with weekday 10:00-10:30 New York windows (two 15-minute slots a day)
/// and two requests booked into Monday's slots, the second then canceled.
/// Returns (mentor id, booked request, canceled request).
async fn two_requests_one_canceled(app: &TestApp) -> (i64, Value, Value) {
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let booked = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    let canceled = app
        .create_request(&request_body("Alan Turing", "+12015550188"))
        .await;
    app.settle().await;
    let path = format!("/api/v1/requests/{}", canceled["id"]);
    assert_eq!(
        app.delete(&path, Some(ADMIN_TOKEN)).await.0,
        StatusCode::NO_CONTENT
    );
    (mentor_id, booked, canceled)
}

#[tokio::test]
async fn request_and_call_filters_show_only_what_matches_and_refuse_bad_values_inline() {
    let app = TestApp::spawn().await;
    let (mentor_id, booked, canceled) = two_requests_one_canceled(&app).await;
    let mut visitor = signed_in(&app).await;

    let all = visitor.get("/operator/requests").await;
    assert_eq!(all.status, StatusCode::OK);
    let row = |request: &Value| format!("data-request=\"{}\"", request["id"]);
    assert!(all.body.contains(&row(&booked)) && all.body.contains(&row(&canceled)));
    assert!(
        all.body.find(&row(&canceled)) < all.body.find(&row(&booked)),
        "newest first"
    );
    let only = visitor.get("/operator/requests?status=canceled").await;
    assert!(only.body.contains(&row(&canceled)) && !only.body.contains(&row(&booked)));
    assert!(
        only.body.contains("<option value=\"canceled\" selected>"),
        "{}",
        only.body
    );
    let scheduled = visitor.get("/operator/requests?status=scheduled").await;
    assert!(scheduled.body.contains(&row(&booked)) && !scheduled.body.contains(&row(&canceled)));
    assert!(
        scheduled.body.contains("2026-11-30 15:00 UTC"),
        "{}",
        scheduled.body
    );
    assert!(
        scheduled.body.contains("10:00 AM EST"),
        "the seeker's own zone"
    );
    assert!(
        !all.body.contains(SEEKER_PHONE),
        "no seeker numbers on operator lists"
    );
    let mentors = visitor.get("/operator/mentors").await;
    let start = mentors
        .body
        .find(&format!("data-mentor=\"{mentor_id}\""))
        .expect("the mentor's row");
    let row = &mentors.body[start..];
    assert!(row.contains("class=\"windows\">1<"), "{row}");
    assert!(
        row.contains("class=\"calls-this-week\">1<"),
        "the canceled call does not count: {row}"
    );

    let (_, calls) = app.get("/api/v1/calls", Some(ADMIN_TOKEN)).await;
    let calls = calls.as_array().expect("calls").clone();
    assert_eq!(calls.len(), 2);
    let call_row = |status: &str| {
        let call = calls
            .iter()
            .find(|call| call["status"] == status)
            .expect(status);
        format!("data-call=\"{}\"", call["id"])
    };
    let page = visitor.get("/operator/calls?status=canceled").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&call_row("canceled")) && !page.body.contains(&call_row("scheduled"))
    );
    let page = visitor
        .get(&format!("/operator/calls?mentor_id={mentor_id}&status="))
        .await;
    assert!(
        page.body.contains(&call_row("canceled")) && page.body.contains(&call_row("scheduled"))
    );
    let page = visitor.get("/operator/calls?status=ended").await;
    assert!(page.body.contains("No calls match."));

    for (path, field) in [
        ("/operator/requests?status=bogus", "status"),
        ("/operator/requests?status=%3Cscript%3E", "status"),
        ("/operator/calls?status=done", "status"),
        ("/operator/calls?mentor_id=abc", "mentor_id"),
        ("/operator/calls?mentor_id=999", "mentor_id"),
        ("/operator/calls?status=a&status=b", "status"),
    ] {
        let answer = visitor.get(path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            answer.body.contains(&format!("id=\"f-{field}-error\"")),
            "{path}: {}",
            answer.body
        );
        assert!(!answer.body.contains("<script>"), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_calls_page_links_to_its_event_log() {
    let app = TestApp::spawn().await;
    let (_, booked, _) = two_requests_one_canceled(&app).await;
    let request = app.request_as_seeker(&booked).await;
    let call_id = request["call"]["id"].as_i64().expect("booked call");
    let mut visitor = signed_in(&app).await;
    let list = visitor.get("/operator/calls").await;
    assert!(
        list.body
            .contains(&format!("href=\"/operator/calls/{call_id}\""))
    );
    let page = visitor.get(&format!("/operator/calls/{call_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Event log") && page.body.contains("<code>booked</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Grace Hopper") && page.body.contains("Ada Lovelace"));
    assert!(!page.body.contains(SEEKER_PHONE));
    assert_eq!(
        visitor.get("/operator/calls/999").await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn user_text_shows_escaped_on_every_operator_page() {
    let app = TestApp::spawn().await;
    let payload = "<script>alert(1)</script>";
    let mut mentor = mentor_body(&format!("Eve {payload}"), MENTOR_PHONE);
    mentor["topics"] = json!([payload]);
    let (mentor_id, _) = app.create_mentor(&mentor).await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let mut request = request_body(&format!("Mallory {payload}"), SEEKER_PHONE);
    request["topic"] = json!(payload);
    request["message"] = json!(format!("{payload} \"quoted\" & <b>bold</b>"));
    let created = app.create_request(&request).await;
    app.settle().await;
    let call_id = app.request_as_seeker(&created).await["call"]["id"].clone();

    let mut visitor = signed_in(&app).await;
    for path in [
        "/operator/mentors".to_owned(),
        format!("/operator/mentors/{mentor_id}"),
        "/operator/requests".to_owned(),
        "/operator/calls".to_owned(),
        format!("/operator/calls/{call_id}"),
    ] {
        let page = visitor.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<b>bold"), "{path}");
    }
    app.stop().await;
}

/// The ISO week (`2026-W49`) of an RFC 3339 instant.
fn iso_week(instant: &str) -> String {
    let week = at(instant).iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

#[tokio::test]
async fn outcome_counts_per_week_count_the_calls_the_api_shows() {
    let (app, fake): (TestApp, FakeTwilio) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker: SeekerScript::Answers { talk_seconds: 75 },
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    // Week 49: one completed call (Monday 15:00 UTC) and one canceled (15:15).
    let (_, booked, _) = two_requests_one_canceled(&app).await;
    assert_eq!(
        app.request_as_seeker(&booked).await["call"]["starts_at"],
        "2026-11-30T15:00:00Z"
    );
    app.clock.set(at("2026-11-30T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    // Week 50: one more completed call, the next Monday.
    app.clock.set(at("2026-12-07T12:00:00Z"));
    app.create_request(&request_body("Grace Brewster", "+12015550177"))
        .await;
    app.settle().await;
    app.clock.set(at("2026-12-07T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(2).await;

    let (_, calls) = app.get("/api/v1/calls", Some(ADMIN_TOKEN)).await;
    let mut expected: HashMap<(String, String), u64> = HashMap::new();
    for call in calls.as_array().expect("calls") {
        if let Some(outcome) = call["outcome"].as_str() {
            let week = iso_week(call["starts_at"].as_str().expect("start"));
            *expected
                .entry((week.clone(), outcome.to_owned()))
                .or_default() += 1;
            *expected.entry((week, "all".to_owned())).or_default() += 1;
        }
    }
    assert_eq!(
        expected.get(&("2026-W49".to_owned(), "completed".to_owned())),
        Some(&1)
    );
    assert_eq!(
        expected.get(&("2026-W49".to_owned(), "canceled".to_owned())),
        Some(&1)
    );
    assert_eq!(
        expected.get(&("2026-W50".to_owned(), "completed".to_owned())),
        Some(&1)
    );

    let mut visitor = signed_in(&app).await;
    let overview = visitor.get("/operator").await;
    assert_eq!(overview.status, StatusCode::OK);
    for ((week, outcome), count) in &expected {
        let cell = format!("data-week=\"{week}\" data-outcome=\"{outcome}\">{count}<");
        assert!(overview.body.contains(&cell), "{cell} in {}", overview.body);
    }
    for week in ["2026-W49", "2026-W50"] {
        for outcome in ["mentor_no_answer", "seeker_no_answer", "failed"] {
            let cell = format!("data-week=\"{week}\" data-outcome=\"{outcome}\">0<");
            assert!(overview.body.contains(&cell), "{cell}");
        }
    }
    assert!(
        overview.body.contains("data-week=\"2026-W43\""),
        "eight weeks back"
    );
    assert!(!overview.body.contains("data-week=\"2026-W42\""));
    let calls_page = visitor.get("/operator/calls?status=ended").await;
    assert!(
        calls_page.body.contains("1:15"),
        "talk time: {}",
        calls_page.body
    );
    app.stop().await;
}

#[tokio::test]
async fn the_webhooks_page_shows_deliveries_and_failures_without_payloads() {
    let receiver = crate::webhooks::Receiver::start().await;
    receiver.answer_with(|post| {
        if post.json["data"]["status"] == "canceled" {
            crate::webhooks::Answer::Status(500)
        } else {
            crate::webhooks::Answer::Status(204)
        }
    });
    let config = receiver.config(std::time::Duration::from_secs(10));
    let app = TestApp::spawn_with(helpers::default_now(), move |app| {
        app.webhooks = Some(config)
    })
    .await;
    let (_, _, canceled) = two_requests_one_canceled(&app).await;
    let canceled = canceled["id"].as_i64().expect("id");
    let report = app.deliver_webhooks_now().await;
    assert_eq!(report.retrying, 1, "{report:?}");
    let posts = receiver.posts();
    let failing = posts
        .iter()
        .find(|post| post.json["data"]["status"] == "canceled")
        .expect("the cancellation was posted");

    let mut visitor = signed_in(&app).await;
    let page = visitor.get("/operator/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains(r#"href="/operator/webhooks" aria-current="page""#),
        "{body}"
    );
    assert!(body.contains("Webhooks are on"), "{body}");
    assert!(body.contains(r#"data-figure="failed""#), "{body}");
    // The failing event is listed under "Not delivered" and under the recent ones.
    let failing_row = format!(r#"data-webhook-id="{}" data-status="pending""#, failing.id);
    assert_eq!(body.matches(&failing_row).count(), 2, "{body}");
    assert!(body.contains("http_500"), "{body}");
    assert!(body.contains(&format!(r#"href="/operator/requests/{canceled}""#)));
    assert!(body.contains(r#"data-status="delivered""#), "{body}");
    for secret in [
        SEEKER_PHONE,
        "Ada Lovelace",
        "interviews",
        receiver.secret.as_str(),
    ] {
        assert!(!body.contains(secret), "{secret} on the page");
    }
    // Every page links to it.
    let overview = visitor.get("/operator").await;
    assert!(overview.body.contains(r#"href="/operator/webhooks""#));
    app.stop().await;

    let app = TestApp::spawn().await;
    let mut visitor = signed_in(&app).await;
    let page = visitor.get("/operator/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Webhooks are off"), "{}", page.body);
    assert!(page.body.contains("No events yet."), "{}", page.body);
    app.stop().await;
}

#[tokio::test]
async fn the_mentor_list_shows_who_rests_and_each_answer_rate() {
    let app = TestApp::spawn().await;
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let mut visitor = signed_in(&app).await;
    let row = |html: &str| {
        let start = html
            .find(&format!("data-mentor=\"{mentor_id}\""))
            .expect("her row");
        let end = html[start..].find("</tr>").expect("row end") + start;
        html[start..end].to_owned()
    };
    let page = visitor.get("/operator/mentors").await;
    let before = row(&page.body);
    assert!(before.contains("<td class=\"resting\">no</td>"), "{before}");
    assert!(
        before.contains("<td class=\"answer-rate\">–</td>"),
        "{before}"
    );

    helpers::set_resting(&app.store, mentor_id, helpers::default_now()).await;
    let page = visitor.get("/operator/mentors").await;
    let after = row(&page.body);
    assert!(after.contains("since 2026-11-30"), "{after}");
    assert_eq!(api_mentors(&app).await[0]["resting"], true);
    app.stop().await;
}

#[tokio::test]
async fn the_overview_counts_booked_completed_and_recovered_calls_week_by_week() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    // Week 49: a call missed (booked), its second try called off by the seeker's
    // call-back, which completed (completed, recovered).
    let request = crate::call_back::recovered_by_a_call_back(&app, &fake).await;
    assert_eq!(app.request_as_seeker(&request).await["status"], "completed");

    let mut visitor = signed_in(&app).await;
    let overview = visitor.get("/operator").await;
    assert_eq!(overview.status, StatusCode::OK);
    for (figure, value) in [
        ("booked", "1"),
        ("completed", "1"),
        ("recovered", "1"),
        ("completion-rate", "100%"),
    ] {
        let cell = format!("data-week=\"2026-W49\" data-figure=\"{figure}\">{value}<");
        assert!(overview.body.contains(&cell), "{cell} in {}", overview.body);
    }
    let idle = "data-week=\"2026-W48\" data-figure=\"completion-rate\">–<";
    assert!(overview.body.contains(idle), "{idle}");
    app.stop().await;
}
