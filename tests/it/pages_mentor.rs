//! The mentor's pages over HTTP: sign-in with a code texted to the mentor's phone,
//! the dashboard's forms (checked against the JSON API), CSRF, privacy, and the
//! calendar feed (parsed with a standard iCalendar parser, times compared with the
//! API's).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use reqwest::header;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{
    self, ADMIN_TOKEN, SERVICE_NUMBER, TestApp, default_now, mentor_body, request_body,
    twilio_client,
};
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";

/// A browser as far as the pages care: it keeps cookies, follows no redirects (so
/// tests see them), and says its posts come from the same site.
pub(crate) struct Visitor {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Visitor {
    fn new(app: &TestApp) -> Visitor {
        Visitor {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().expect("cookies");
        cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, response: &Response) {
        let mut cookies = self.cookies.lock().expect("cookies");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("a name=value pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&self, path: &str) -> Response {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET reaches the app");
        self.keep_cookies(&response);
        response
    }

    /// `GET path` as a page: status and HTML.
    pub(crate) async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    async fn post_with(&self, path: &str, fields: &[(&str, &str)], fetch_site: &str) -> Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .header("sec-fetch-site", fetch_site)
            .form(fields)
            .send()
            .await
            .expect("POST reaches the app");
        self.keep_cookies(&response);
        response
    }

    /// Posts `fields` plus the CSRF token, as a form on one of our pages would.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf();
        let mut all = fields.to_vec();
        all.push(("csrf", &token));
        self.post_with(path, &all, "same-origin").await
    }

    fn csrf(&self) -> String {
        self.cookies
            .lock()
            .expect("cookies")
            .get("ridealong_csrf")
            .cloned()
            .expect("a CSRF cookie: open a page first")
    }

    fn has_session(&self) -> bool {
        self.cookies
            .lock()
            .expect("cookies")
            .contains_key("ridealong_session")
    }
}

/// The value of the hidden CSRF field in `html`.
fn csrf_in(html: &str) -> &str {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    let end = html[start..].find('"').expect("closing quote");
    &html[start..start + end]
}

/// The one group of six digits in a text.
fn code_in(body: &str) -> String {
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|group| group.len() == 6)
        .collect();
    assert_eq!(groups.len(), 1, "exactly one 6-digit group in {body:?}");
    groups[0].to_owned()
}

async fn location(response: &Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// Asks for a code for `phone` from the sign-in page; returns the page shown next.
async fn ask_for_code(visitor: &Visitor, phone: &str) -> (StatusCode, String) {
    let (status, html) = visitor.page("/mentor/sign-in").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csrf_in(&html), visitor.csrf());
    let response = visitor.submit("/mentor/sign-in", &[("phone", phone)]).await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn enter_code(visitor: &Visitor, phone: &str, code: &str) -> Response {
    visitor
        .submit("/mentor/sign-in/code", &[("phone", phone), ("code", code)])
        .await
}

/// A mentor who exists, and a visitor signed in as them.
pub(crate) async fn signed_in_mentor(app: &TestApp, fake: &FakeTwilio) -> (i64, String, Visitor) {
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    (id, token, sign_in(app, fake, MENTOR_PHONE).await)
}

/// A browser signed in as the mentor at `phone`, with the code texted to it.
pub(crate) async fn sign_in(app: &TestApp, fake: &FakeTwilio, phone: &str) -> Visitor {
    let visitor = Visitor::new(app);
    let sent_before = fake.texts_to(phone).len();
    ask_for_code(&visitor, phone).await;
    let messages = fake.wait_for_texts_to(phone, sent_before + 1).await;
    assert_eq!(messages.len(), sent_before + 1, "one text with the code");
    let code = code_in(&messages.last().expect("a text").body);
    let response = enter_code(&visitor, phone, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(visitor.has_session());
    visitor
}

#[tokio::test]
async fn a_mentor_signs_in_with_the_code_texted_to_their_phone() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);

    let (status, html) = visitor.page("/mentor").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");

    // Typed with spaces and punctuation, read as the stored E.164 number.
    let (status, html) = ask_for_code(&visitor, "+1 (201) 555-0123").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("If this number belongs to a mentor"),
        "{html}"
    );
    let messages = fake.wait_for_texts_to(MENTOR_PHONE, 1).await;
    assert_eq!(fake.messages().len(), 1, "{messages:?}");
    assert_eq!(messages[0].to, MENTOR_PHONE);
    assert_eq!(messages[0].from, SERVICE_NUMBER);
    let code = code_in(&messages[0].body);

    let response = enter_code(&visitor, MENTOR_PHONE, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).await, "/mentor");
    let session_cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("ascii").to_owned())
        .find(|cookie| cookie.starts_with("ridealong_session="))
        .expect("a session cookie");
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "plain http: {session_cookie}"
    );

    let (status, html) = visitor.page("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Hello, Grace Hopper"), "{html}");

    // The code is used up.
    let other = Visitor::new(&app);
    other.page("/mentor/sign-in").await;
    let again = enter_code(&other, MENTOR_PHONE, &code).await;
    assert_ne!(again.status(), StatusCode::SEE_OTHER);

    // Sign-out ends the session.
    let response = visitor.submit("/mentor/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!visitor.has_session());
    let (status, _) = visitor.page("/mentor").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_phone_gets_the_same_page_and_no_text() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let known = ask_for_code(&Visitor::new(&app), MENTOR_PHONE).await;
    let unknown = ask_for_code(&Visitor::new(&app), "+12015550100").await;
    assert_eq!(known.0, unknown.0);
    fake.wait_for_texts_to(MENTOR_PHONE, 1).await;
    let notice = |html: &str| {
        let start = html.find("<p class=\"notice\">").expect("the notice");
        let end = html[start..].find("</p>").expect("its end");
        html[start..start + end].to_owned()
    };
    assert_eq!(notice(&known.1), notice(&unknown.1));
    assert_eq!(
        fake.messages().len(),
        1,
        "only the mentor's phone got a text"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_page_answers_without_waiting_for_the_text() {
    // Twilio holds every text until the test lets them go, and the app's client
    // would wait minutes for it: a page that waited for its text would answer a
    // mentor's phone that much later than any other, and tell them apart.
    let fake = FakeTwilio::start().await;
    let client = twilio_client(&fake, Duration::from_secs(300));
    let app = TestApp::spawn_with(default_now(), |config| {
        config.provider = Arc::new(client);
    })
    .await;
    fake.use_clock(app.clock.clone());
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    fake.hold_texts_until(usize::MAX);
    let visitor = Visitor::new(&app);
    let (status, html) = tokio::time::timeout(
        Duration::from_secs(60),
        ask_for_code(&visitor, MENTOR_PHONE),
    )
    .await
    .expect("the page answers while its text is held");
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("If this number belongs to a mentor"),
        "{html}"
    );
    fake.wait_for_held_texts(1).await;
    assert!(fake.messages().is_empty(), "the text is still held");
    fake.release_texts();
    let texts = fake.wait_for_texts_to(MENTOR_PHONE, 1).await;
    let response = enter_code(&visitor, MENTOR_PHONE, &code_in(&texts[0].body)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn a_phone_that_is_not_a_number_is_refused_inline_keeping_what_was_typed() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let visitor = Visitor::new(&app);
    let (status, html) = ask_for_code(&visitor, "call me <maybe>").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("value=\"call me &lt;maybe&gt;\""), "{html}");
    assert!(html.contains("class=\"error\""), "{html}");
    assert!(fake.messages().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_national_number_is_read_in_the_country_of_the_browsers_time_zone() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);
    let (_, html) = visitor.page("/mentor/sign-in").await;
    assert!(
        html.contains(r#"name="timezone" value="" data-browser-zone"#),
        "the page's script fills in the browser's zone: {html}"
    );

    // Without a zone (no script), and with no default region, a national
    // number has no country: refused in a whole sentence, keeping what was typed.
    let response = visitor
        .submit("/mentor/sign-in", &[("phone", "(201) 555-0123")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(
        html.contains("That does not look like a phone number; add the country code"),
        "{html}"
    );
    assert!(fake.messages().is_empty());

    // With the browser's zone, the same number is read in its country.
    let response = visitor
        .submit(
            "/mentor/sign-in",
            &[
                ("phone", "(201) 555-0123"),
                ("timezone", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let texts = fake.wait_for_texts_to(MENTOR_PHONE, 1).await;
    let response = enter_code(&visitor, MENTOR_PHONE, &code_in(&texts[0].body)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_codes_void_the_code() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);
    ask_for_code(&visitor, MENTOR_PHONE).await;
    let code = code_in(&fake.wait_for_texts_to(MENTOR_PHONE, 1).await[0].body);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let response = enter_code(&visitor, MENTOR_PHONE, wrong).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.expect("body");
        assert!(html.contains("That code is not right"), "{html}");
    }
    let response = enter_code(&visitor, MENTOR_PHONE, &code).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!visitor.has_session());
    app.stop().await;
}

#[tokio::test]
async fn an_expired_code_is_refused_and_a_new_code_replaces_the_old() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);
    ask_for_code(&visitor, MENTOR_PHONE).await;
    let expired = code_in(&fake.wait_for_texts_to(MENTOR_PHONE, 1).await[0].body);
    app.clock.advance(TimeDelta::minutes(10));
    let response = enter_code(&visitor, MENTOR_PHONE, &expired).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    ask_for_code(&visitor, MENTOR_PHONE).await;
    let first = code_in(&fake.wait_for_texts_to(MENTOR_PHONE, 2).await[1].body);
    ask_for_code(&visitor, MENTOR_PHONE).await;
    let second = code_in(&fake.wait_for_texts_to(MENTOR_PHONE, 3).await[2].body);
    if first != second {
        let response = enter_code(&visitor, MENTOR_PHONE, &first).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    app.clock.advance(TimeDelta::minutes(9));
    let response = enter_code(&visitor, MENTOR_PHONE, &second).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_cannot_flood_a_phone_with_texts() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);
    for _ in 0..8 {
        let (status, _) = ask_for_code(&visitor, MENTOR_PHONE).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The cap is decided before a text is sent: five were sent, no more are coming.
    fake.wait_for_texts_to(MENTOR_PHONE, 5).await;
    assert_eq!(fake.messages().len(), 5, "five texts an hour at most");
    app.clock.advance(TimeDelta::minutes(61));
    ask_for_code(&visitor, MENTOR_PHONE).await;
    fake.wait_for_texts_to(MENTOR_PHONE, 6).await;
    assert_eq!(fake.messages().len(), 6);
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_and_its_forms_require_sign_in() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let visitor = Visitor::new(&app);
    let response = visitor.get("/mentor").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).await, "/mentor/sign-in");
    let response = visitor
        .submit(
            "/mentor/windows",
            &[("weekdays", "mon"), ("start", "07:30"), ("end", "08:15")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).await, "/mentor/sign-in");
    let (_, mentor) = app
        .get(&format!("/api/v1/mentors/{id}"), Some(&token))
        .await;
    assert_eq!(mentor["windows"], json!([]));
    app.stop().await;
}

/// Mentor `id` as the API shows them.
async fn api_mentor(app: &TestApp, id: i64) -> Value {
    let (status, mentor) = app
        .get(&format!("/api/v1/mentors/{id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{mentor}");
    mentor
}

#[tokio::test]
async fn windows_pauses_and_settings_changed_on_the_dashboard_show_in_the_api() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (id, _, visitor) = signed_in_mentor(&app, &fake).await;

    let (_, html) = visitor.page("/mentor").await;
    assert!(html.contains("Add a window to see your slots."), "{html}");
    // The zone picker defaults to the mentor's zone.
    assert!(
        html.contains("<option value=\"America/New_York\" selected>"),
        "{html}"
    );

    let response = visitor
        .submit(
            "/mentor/windows",
            &[
                ("weekdays", "mon"),
                ("weekdays", "wed"),
                ("start", "07:30"),
                ("end", "08:15"),
                ("timezone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).await, "/mentor#windows");
    let mentor = api_mentor(&app, id).await;
    let windows = mentor["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 1, "{mentor}");
    assert_eq!(windows[0]["weekdays"], json!(["mon", "wed"]));
    assert_eq!(windows[0]["start"], "07:30");
    assert_eq!(windows[0]["end"], "08:15");
    assert_eq!(windows[0]["timezone"], "America/Chicago");
    let window_id = windows[0]["id"].as_i64().expect("id");

    // The preview lists the same slots as the API's next 7 days, in the mentor's zone.
    let (_, html) = visitor.page("/mentor").await;
    assert!(
        html.contains("Mon, Wed · 07:30–08:15 · America/Chicago"),
        "{html}"
    );
    let (_, slots) = app
        .get(
            &format!(
                "/api/v1/mentors/{id}/slots?from=2026-11-30T12:00:00Z&to=2026-12-07T12:00:00Z"
            ),
            Some(ADMIN_TOKEN),
        )
        .await;
    let slots = slots.as_array().expect("slots");
    assert_eq!(slots.len(), 6, "{slots:?}");
    for slot in slots {
        let starts_at = slot["starts_at"].as_str().expect("start");
        let rfc3339 = DateTime::parse_from_rfc3339(starts_at)
            .expect("RFC 3339")
            .with_timezone(&Utc)
            .to_rfc3339();
        assert!(
            html.contains(&format!("<time datetime=\"{rfc3339}\">")),
            "{starts_at} in {html}"
        );
    }
    // 07:30 Chicago is 08:30 in New York, the mentor's zone.
    assert!(
        html.contains("Wednesday, December 2, 8:30 AM EST"),
        "{html}"
    );

    // A refused window keeps what was typed and says why next to the field.
    let response = visitor
        .submit(
            "/mentor/windows",
            &[
                ("start", "09:00"),
                ("end", "09:00"),
                ("timezone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"f-weekdays-error\""), "{html}");
    assert!(html.contains("value=\"09:00\""), "{html}");
    assert!(
        html.contains("<option value=\"Europe/Paris\" selected>"),
        "{html}"
    );
    assert_eq!(
        api_mentor(&app, id).await["windows"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Pauses.
    let response = visitor
        .submit(
            "/mentor/pauses",
            &[("from", "2026-12-21"), ("to", "2027-01-03")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mentor = api_mentor(&app, id).await;
    assert_eq!(mentor["pauses"][0]["from"], "2026-12-21");
    assert_eq!(mentor["pauses"][0]["to"], "2027-01-03");
    let pause_id = mentor["pauses"][0]["id"].as_i64().expect("id");
    let response = visitor
        .submit(
            "/mentor/pauses",
            &[("from", "2027-01-03"), ("to", "2026-12-21")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"f-to-error\""), "{html}");
    assert!(html.contains("value=\"2027-01-03\""), "{html}");

    // Call length and capacity.
    let response = visitor
        .submit(
            "/mentor/settings",
            &[("call_minutes", "20"), ("max_calls_per_window", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mentor = api_mentor(&app, id).await;
    assert_eq!(mentor["call_minutes"], 20);
    assert_eq!(mentor["max_calls_per_window"], 1);
    let response = visitor
        .submit(
            "/mentor/settings",
            &[("call_minutes", "60"), ("max_calls_per_window", "")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "longer than the window"
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"f-call_minutes-error\""), "{html}");
    assert!(html.contains("value=\"60\""), "{html}");
    let response = visitor
        .submit(
            "/mentor/settings",
            &[("call_minutes", "15"), ("max_calls_per_window", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api_mentor(&app, id).await["max_calls_per_window"],
        Value::Null
    );

    // Removing.
    let response = visitor
        .submit(&format!("/mentor/pauses/{pause_id}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = visitor
        .submit(&format!("/mentor/windows/{window_id}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mentor = api_mentor(&app, id).await;
    assert_eq!(mentor["windows"], json!([]));
    assert_eq!(mentor["pauses"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_form_without_the_token_or_from_another_site_changes_nothing() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (id, _, visitor) = signed_in_mentor(&app, &fake).await;
    let window = [("weekdays", "mon"), ("start", "07:30"), ("end", "08:15")];
    let response = visitor
        .post_with("/mentor/windows", &window, "same-origin")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no token");

    let token = visitor.csrf();
    let mut with_token = window.to_vec();
    with_token.push(("csrf", &token));
    let response = visitor
        .post_with("/mentor/windows", &with_token, "cross-site")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "another site");
    let response = visitor
        .post_with("/mentor/windows", &with_token, "same-site")
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a sibling subdomain"
    );

    let mut wrong_token = window.to_vec();
    wrong_token.push(("csrf", "A234567890123456789012345678901234567890123"));
    let response = visitor
        .post_with("/mentor/windows", &wrong_token, "same-origin")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "a wrong token");

    let response = visitor
        .post_with("/mentor/sign-out", &[], "cross-site")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(api_mentor(&app, id).await["windows"], json!([]));
    assert_eq!(
        visitor.page("/mentor").await.0,
        StatusCode::OK,
        "still signed in"
    );
    app.stop().await;
}

/// A mentor with a weekday window and one seeker booked into it, whose message is
/// `message`; returns the mentor's id and token and the signed-in visitor.
async fn mentor_with_a_booked_call(
    app: &TestApp,
    fake: &FakeTwilio,
    message: &str,
) -> (i64, String, Visitor) {
    let (id, token, visitor) = signed_in_mentor(app, fake).await;
    app.add_window(
        id,
        &json!({"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "07:30", "end": "08:15"}),
    )
    .await;
    let mut request = request_body("Ada Lovelace", SEEKER_PHONE);
    request["message"] = json!(message);
    request["topic"] = json!("interviews & <b>offers</b>");
    let created = app.create_request(&request).await;
    app.settle().await;
    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["status"], "scheduled", "{seen}");
    (id, token, visitor)
}

#[tokio::test]
async fn upcoming_calls_show_the_seekers_first_name_topic_and_message_but_never_their_phone() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let message = "Stuck after 40 applications. <script>alert(1)</script>";
    let (_, token, visitor) = mentor_with_a_booked_call(&app, &fake, message).await;
    let (_, calls) = app.get("/api/v1/calls", Some(&token)).await;
    let starts_at = calls[0]["starts_at"].as_str().expect("start").to_owned();

    let (status, html) = visitor.page("/mentor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ada"), "{html}");
    assert!(!html.contains("Lovelace"), "first name only: {html}");
    assert!(
        html.contains("interviews &amp; &lt;b&gt;offers&lt;/b&gt;"),
        "{html}"
    );
    assert!(
        html.contains("Stuck after 40 applications. &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    let start = DateTime::parse_from_rfc3339(&starts_at)
        .expect("RFC 3339")
        .with_timezone(&Utc);
    assert!(
        html.contains(&format!("<time datetime=\"{}\">", start.to_rfc3339())),
        "{html}"
    );
    for phone in [SEEKER_PHONE, "5550199", "555-0199", "555 0199"] {
        assert!(
            !html.contains(phone),
            "the seeker's phone {phone} is on the page"
        );
    }
    app.stop().await;
}

/// One parsed VEVENT: its properties by name.
type Event = BTreeMap<String, String>;

/// Parses `body` with the `ical` crate; also checks the framing rules the parser
/// forgives (CRLF line ends, lines of at most 75 octets).
fn parse_calendar(body: &str) -> Vec<Event> {
    assert!(body.ends_with("\r\n"));
    for line in body.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line break in {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .expect("a valid calendar");
    assert!(calendars.next().is_none());
    let version = calendar
        .properties
        .iter()
        .find(|property| property.name == "VERSION")
        .and_then(|property| property.value.clone());
    assert_eq!(version.as_deref(), Some("2.0"));
    calendar
        .events
        .into_iter()
        .map(|event| {
            let event: Event = event
                .properties
                .into_iter()
                .map(|property| (property.name, property.value.unwrap_or_default()))
                .collect();
            for required in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"] {
                assert!(event.contains_key(required), "{required} in {event:?}");
            }
            event
        })
        .collect()
}

fn ics_time(text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .unwrap_or_else(|_| panic!("a UTC DATE-TIME: {text}"))
        .and_utc()
}

fn api_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// Makes a calendar link on the dashboard; returns its path.
async fn make_calendar_link(app: &TestApp, visitor: &Visitor) -> String {
    let response = visitor.submit("/mentor/calendar", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    let start = html.find(&app.base).expect("the link on the page") + app.base.len();
    let end = html[start..].find('"').expect("end of the link");
    let path = html[start..start + end].to_owned();
    assert!(
        path.starts_with("/calendar/rac_") && path.ends_with(".ics"),
        "{path}"
    );
    path
}

#[tokio::test]
async fn the_calendar_feed_parses_and_its_times_equal_the_apis() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (id, token, visitor) =
        mentor_with_a_booked_call(&app, &fake, "Could we talk about interviews?").await;
    // A pause on Thursday, and a window in another zone.
    app.post(
        &format!("/api/v1/mentors/{id}/pauses"),
        Some(&token),
        &json!({"from": "2026-12-03", "to": "2026-12-03"}),
    )
    .await;
    app.add_window(
        id,
        &json!({"weekdays": ["sat"], "start": "23:30", "end": "00:30", "timezone": "Europe/London"}),
    )
    .await;
    let path = make_calendar_link(&app, &visitor).await;

    let response = app.http.get(app.url(&path)).send().await.expect("GET feed");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    assert!(
        !body.contains(SEEKER_PHONE) && !body.contains(MENTOR_PHONE),
        "{body}"
    );
    let events = parse_calendar(&body);

    // The booked call, at the API's times.
    let (_, calls) = app.get("/api/v1/calls", Some(&token)).await;
    let call = &calls[0];
    let call_events: Vec<&Event> = events
        .iter()
        .filter(|event| event["UID"].starts_with("call-"))
        .collect();
    assert_eq!(call_events.len(), 1, "{events:?}");
    let event = call_events[0];
    assert_eq!(event["UID"], format!("call-{}@ridealong", call["id"]));
    assert_eq!(ics_time(&event["DTSTART"]), api_time(&call["starts_at"]));
    assert_eq!(ics_time(&event["DTEND"]), api_time(&call["ends_at"]));
    assert_eq!(
        event["SUMMARY"],
        "ridealong call: Ada — interviews & <b>offers</b>"
    );

    // The windows' occurrences: each of the API's slots in the next 14 days lies in
    // one, and each occurrence starts with a slot.
    let windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = events
        .iter()
        .filter(|event| event["UID"].starts_with("window-"))
        .map(|event| (ics_time(&event["DTSTART"]), ics_time(&event["DTEND"])))
        .collect();
    let now = helpers::default_now();
    let (status, slots) = app
        .get(
            &format!(
                "/api/v1/mentors/{id}/slots?from={}&to={}",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                (now + TimeDelta::days(14)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{slots}");
    let slots: Vec<(DateTime<Utc>, DateTime<Utc>)> = slots
        .as_array()
        .expect("slots")
        .iter()
        .map(|slot| (api_time(&slot["starts_at"]), api_time(&slot["ends_at"])))
        .collect();
    assert!(!slots.is_empty());
    for (start, end) in &slots {
        assert!(
            windows.iter().any(|(from, to)| from <= start && end <= to),
            "slot {start} outside every window event"
        );
    }
    for (from, _) in &windows {
        assert!(
            slots.iter().any(|(start, _)| start == from),
            "window event at {from} has no slot"
        );
    }
    // Weekdays 07:30 New York (12:30 UTC), Thursday paused; Saturday 23:30 London.
    assert!(windows.contains(&(
        helpers::at("2026-12-01T12:30:00Z"),
        helpers::at("2026-12-01T13:15:00Z")
    )));
    assert!(
        !windows
            .iter()
            .any(|(from, _)| *from == helpers::at("2026-12-03T12:30:00Z"))
    );
    assert!(windows.contains(&(
        helpers::at("2026-12-05T23:30:00Z"),
        helpers::at("2026-12-06T00:30:00Z")
    )));

    // Unknown tokens are 404; a new link turns the old one off.
    let response = app
        .http
        .get(app.url("/calendar/rac_nope.ics"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let new_path = make_calendar_link(&app, &visitor).await;
    assert_ne!(new_path, path);
    let old = app.http.get(app.url(&path)).send().await.expect("GET");
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    let new = app.http.get(app.url(&new_path)).send().await.expect("GET");
    assert_eq!(new.status(), StatusCode::OK);
    let (_, html) = visitor.page("/mentor").await;
    assert!(
        !html.contains("/calendar/rac_"),
        "the link is shown only when made"
    );
    app.stop().await;
}

/// Grace signed in, with weekday calls 10:00–10:30 New York time, and Alan
/// with 11:00–11:30; a seeker booked into Grace's Monday 10:00. Returns Grace's
/// id, the visitor and the call's id.
async fn grace_with_a_call_and_alan_free(
    app: &TestApp,
    fake: &FakeTwilio,
) -> (i64, Visitor, i64, Value) {
    let (id, _, visitor) = signed_in_mentor(app, fake).await;
    let weekdays = json!(["mon", "tue", "wed", "thu", "fri"]);
    app.add_window(
        id,
        &json!({"weekdays": weekdays, "start": "10:00", "end": "10:30"}),
    )
    .await;
    let (alan, _) = app
        .create_mentor(&mentor_body("Alan Turing", "+12015550124"))
        .await;
    app.add_window(
        alan,
        &json!({"weekdays": weekdays, "start": "11:00", "end": "11:30"}),
    )
    .await;
    let created = app
        .create_request(&request_body("Ada Lovelace", SEEKER_PHONE))
        .await;
    app.settle().await;
    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["call"]["starts_at"], "2026-11-30T15:00:00Z", "{seen}");
    let call = seen["call"]["id"].as_i64().expect("a call");
    (id, visitor, call, created)
}

async fn call_status(app: &TestApp, id: i64) -> Value {
    let (_, call) = app
        .get(&format!("/api/v1/calls/{id}"), Some(ADMIN_TOKEN))
        .await;
    call["status"].clone()
}

#[tokio::test]
async fn a_mentor_who_cannot_make_a_call_gives_it_back_from_the_dashboard() {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    let (_, visitor, call, created) = grace_with_a_call_and_alan_free(&app, &fake).await;
    let (_, html) = visitor.page("/mentor").await;
    let action = format!("/mentor/calls/{call}/cancel");
    assert!(html.contains(&action), "{html}");
    assert!(html.contains("make it"), "{html}");

    let response = visitor.post_with(&action, &[], "same-origin").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(call_status(&app, call).await, "scheduled");

    let response = visitor.submit(&action, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(call_status(&app, call).await, "canceled");
    app.settle().await;
    let seen = app.request_as_seeker(&created).await;
    assert_eq!(seen["call"]["mentor_name"], "Alan Turing", "{seen}");
    let (_, html) = visitor.page("/mentor").await;
    assert!(!html.contains(&action), "the call left her list: {html}");
    app.stop().await;
}

#[tokio::test]
async fn a_resting_mentor_reads_so_on_the_dashboard_and_im_back_ends_it() {
    let (app, fake) = TestApp::spawn_with_fake_twilio_and(|config| {
        config.rest = ridealong::domain::rest::RestPolicy {
            misses_before_rest: 1,
        }
    })
    .await;
    let (id, visitor, _, _) = grace_with_a_call_and_alan_free(&app, &fake).await;
    let (_, html) = visitor.page("/mentor").await;
    assert!(!html.contains("action=\"/mentor/resume\""), "{html}");

    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::NoAnswer,
            seeker: SeekerScript::Answers { talk_seconds: 60 },
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    app.clock.set(helpers::at("2026-11-30T15:00:00Z"));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    assert_eq!(api_mentor(&app, id).await["resting"], true);

    let (_, html) = visitor.page("/mentor").await;
    assert!(html.contains("resting"), "{html}");
    assert!(html.contains("action=\"/mentor/resume\""), "{html}");
    let response = visitor
        .post_with("/mentor/resume", &[], "same-origin")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(api_mentor(&app, id).await["resting"], true);
    let response = visitor.submit("/mentor/resume", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(api_mentor(&app, id).await["resting"], false);
    let (_, html) = visitor.page("/mentor").await;
    assert!(!html.contains("action=\"/mentor/resume\""), "{html}");
    app.stop().await;
}
