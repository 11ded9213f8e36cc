//! The seeker's pages over HTTP: the request form, its inline errors, the CSRF
//! and cross-site checks, the manage page with the booked time in the seeker's
//! zone and the reschedule history, cancelling, and that no seeker page ever
//! shows the mentor's number.
//!
//! The harness's default "now" is Monday 2026-11-30 12:00Z (07:00 EST).

use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::{ADMIN_TOKEN, TestApp, at, mentor_body, request_body};
use ridealong::telephony::player::{CallScript, MentorScript, SeekerScript};
use ridealong::web::pages::layout::local_time;

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
/// Monday 2026-11-30 10:00 in New York: the first slot of the 10:00 window.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";
/// Monday 10:15 in New York: the same commute's next slot, where a missed call
/// gets its second try.
const SECOND_TRY_SLOT: &str = "2026-11-30T15:15:00Z";

/// A browser-like client: keeps the CSRF cookie, does not follow redirects.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

/// One answer: status, headers and body text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
    }
}

impl Visitor {
    fn new(app: &TestApp) -> Visitor {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.base.clone(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(cookie) => request.header(header::COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.expect("request reaches the app");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            if let Some(pair) = text.split(';').next()
                && pair.starts_with("ridealong_csrf=")
            {
                self.cookie = Some(pair.to_owned());
            }
        }
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::ACCEPT, "text/html");
        self.send(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)], fetch_site: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", fetch_site)
            .form(fields);
        self.send(request).await
    }

    /// Opens the form and posts `fields` with the form's CSRF token.
    async fn submit_request(&mut self, fields: &[(&str, &str)]) -> Answer {
        let form = self.get("/request").await;
        assert_eq!(form.status, StatusCode::OK);
        let token = csrf_of(&form.body);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post("/request", &all, "same-origin").await
    }
}

/// The CSRF token in a page's form.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("end of value") + start;
    html[start..end].to_owned()
}

/// A complete, valid form: Ada in New York, weekdays, no times.
fn valid_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "Ada Lovelace"),
        ("phone", "(201) 555-0199"),
        ("timezone", "America/New_York"),
        ("topic", "interviews"),
        (
            "message",
            "I have applied for months and I am stuck. Could someone look at my approach?",
        ),
        ("days", "mon"),
        ("days", "tue"),
        ("days", "wed"),
        ("days", "thu"),
        ("days", "fri"),
        ("from", ""),
        ("until", ""),
        ("from", ""),
        ("until", ""),
        ("consent", "yes"),
    ]
}

/// `fields` with `name`'s values replaced by `value` (or removed when `None`).
fn with(
    fields: &[(&'static str, &'static str)],
    name: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut changed: Vec<_> = fields
        .iter()
        .copied()
        .filter(|(key, _)| *key != name)
        .collect();
    changed.extend(value.map(|value| (name, value)));
    changed
}

/// Every request, as the admin lists them.
async fn all_requests(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/requests", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("a list").clone()
}

/// The manage token in a `/r/{token}?…` location.
fn token_of(location: &str) -> &str {
    let rest = location.strip_prefix("/r/").expect("a manage link");
    rest.split('?').next().expect("token")
}

/// The request as its seeker sees it through the API, by manage token.
async fn api_view(app: &TestApp, token: &str) -> Value {
    let requests = all_requests(app).await;
    let id = requests.last().expect("a stored request")["id"].clone();
    let (status, body) = app
        .get(&format!("/api/v1/requests/{id}?token={token}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A New York mentor, Grace Hopper, with a weekday 10:00–10:30 window.
async fn mentor_with_window(app: &TestApp) -> i64 {
    let (id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    app.add_window(
        id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    id
}

/// The mentor's number in every shape a page could print it.
fn assert_no_mentor_number(html: &str) {
    for shape in [
        MENTOR_PHONE,
        "2015550123",
        "201-555-0123",
        "(201) 555-0123",
        "201 555 0123",
        "555-0123",
        "5550123",
    ] {
        assert!(
            !html.contains(shape),
            "the mentor's number ({shape}) is on a seeker page"
        );
    }
}

#[tokio::test]
async fn the_form_has_every_field_a_time_zone_picker_and_the_consent_wording() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let page = seeker.get("/request").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(seeker.cookie.is_some(), "the CSRF cookie is set");
    let html = &page.body;
    for id in [
        "f-name",
        "f-phone",
        "f-timezone",
        "f-topic",
        "f-message",
        "f-from-1",
        "f-until-1",
        "f-consent",
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\"")),
            "no label for {id}"
        );
        assert!(html.contains(&format!("id=\"{id}\"")), "no input {id}");
    }
    assert!(
        html.contains("<select id=\"f-timezone\" name=\"timezone\" required data-browser-zone")
    );
    assert!(html.contains("<option value=\"America/New_York\">"));
    assert!(html.contains(r#"type="checkbox" name="consent" value="yes" required"#));
    assert!(
        html.contains("This is my phone number, and I agree that ridealong may call and text it")
    );
    assert!(html.contains("never shown to the mentor"));
    assert!(
        html.contains("between 8:00 AM and 9:00 PM"),
        "the default is said truthfully"
    );
    assert!(html.contains(r#"name="days" value="mon" id="f-days" checked"#));
    assert!(
        html.contains(r#"name="days" value="sat">"#),
        "weekends start unticked"
    );
    assert!(!csrf_of(html).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_valid_form_stores_the_request_and_redirects_to_its_manage_page() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let answer = seeker.submit_request(&valid_form()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().to_owned();
    assert!(
        location.starts_with("/r/rar_") && location.ends_with("?new=1"),
        "{location}"
    );

    let requests = all_requests(&app).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["name"], "Ada Lovelace");
    assert_eq!(requests[0]["phone"], SEEKER_PHONE);
    assert_eq!(
        requests[0]["availability"],
        json!([]),
        "weekdays, no times: the default"
    );
    let view = api_view(&app, token_of(&location)).await;
    assert_eq!(view["status"], "pending");

    let page = seeker.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Thank you, Ada. Your request is in."));
    assert!(
        page.body
            .contains("We&#39;ll text you when it&#39;s booked")
            || page.body.contains("We'll text you when it's booked"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("{}{location}", app.base).replace("?new=1", "")),
        "the full private link"
    );
    app.stop().await;
}

#[tokio::test]
async fn days_and_times_on_the_form_become_the_requests_availability() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let mut fields: Vec<_> = valid_form()
        .into_iter()
        .filter(|(key, _)| !matches!(*key, "days" | "from" | "until"))
        .collect();
    fields.extend([
        ("days", "mon"),
        ("days", "wed"),
        ("from", "17:00"),
        ("until", "19:00"),
        ("from", ""),
        ("until", ""),
    ]);
    let answer = seeker.submit_request(&fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let view = api_view(&app, token_of(answer.location())).await;
    assert_eq!(
        view["availability"],
        json!([{ "weekdays": ["mon", "wed"], "start": "17:00", "end": "19:00" }])
    );

    // Weekend days without times: all of calling hours on those days.
    let mut seeker = Visitor::new(&app);
    let mut fields: Vec<_> = valid_form()
        .into_iter()
        .filter(|(key, _)| !matches!(*key, "days" | "phone"))
        .collect();
    fields.extend([("days", "sat"), ("phone", "+12015550142")]);
    let answer = seeker.submit_request(&fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let view = api_view(&app, token_of(answer.location())).await;
    assert_eq!(
        view["availability"],
        json!([{ "weekdays": ["sat"], "start": "08:00", "end": "21:00" }])
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_input_shows_every_error_next_to_its_field_keeps_what_was_typed_and_stores_nothing()
{
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let mut fields = with(&valid_form(), "phone", Some("12"));
    fields = with(&fields, "topic", Some(" "));
    fields = with(&fields, "consent", None);
    fields = with(
        &fields,
        "message",
        Some("I am <script>stuck</script> & tired"),
    );
    fields.retain(|(key, value)| !(*key == "from" && value.is_empty()));
    fields.push(("from", "17:00"));
    let answer = seeker.submit_request(&fields).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = &answer.body;

    // The summary links to each field, in the form's order.
    assert!(html.contains(r#"class="error-summary" role="alert""#));
    let phone = html.find(r##"href="#f-phone""##).expect("phone in summary");
    let topic = html.find(r##"href="#f-topic""##).expect("topic in summary");
    let until = html
        .find(r##"href="#f-until-1""##)
        .expect("until in summary");
    let consent = html
        .find(r##"href="#f-consent""##)
        .expect("consent in summary");
    assert!(phone < topic && topic < until && until < consent);

    // Each message sits next to its field and the field points at it.
    for id in ["f-phone", "f-topic", "f-until-1", "f-consent"] {
        assert!(
            html.contains(&format!("<p class=\"error\" id=\"{id}-error\">")),
            "no error for {id}"
        );
        assert!(
            html.contains(&format!("{id}-error\"")),
            "{id} is not described by its error"
        );
    }
    assert!(html.contains(r#"aria-describedby="f-phone-hint f-phone-error""#));
    assert!(html.contains("Add the time you can take calls until."));
    assert!(html.contains("Give the topic in a few words."));
    assert!(html.contains("Tick the box to agree"));

    // What was typed is kept, escaped.
    assert!(html.contains(r#"value="Ada Lovelace""#));
    assert!(html.contains(r#"value="12""#));
    assert!(html.contains("I am &lt;script&gt;stuck&lt;/script&gt; &amp; tired</textarea>"));
    assert!(html.contains(r#"<option value="America/New_York" selected>"#));
    assert!(html.contains(r#"name="from" type="time" value="17:00""#));
    assert!(!html.contains(r#"name="consent" value="yes" required checked"#));

    assert!(all_requests(&app).await.is_empty(), "nothing stored");
    app.stop().await;
}

#[tokio::test]
async fn no_day_ticked_and_a_blank_phone_are_inline_errors_too() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let fields: Vec<_> = valid_form()
        .into_iter()
        .filter(|(key, _)| *key != "days")
        .map(|(key, value)| (key, if key == "phone" { " " } else { value }))
        .collect();
    let answer = seeker.submit_request(&fields).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer
            .body
            .contains(r#"<p class="error" id="f-days-error">Tick at least one day"#)
    );
    assert!(
        answer
            .body
            .contains(r#"<p class="error" id="f-phone-error">Give the number we should call."#)
    );
    assert!(all_requests(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_or_from_another_site_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let form = seeker.get("/request").await;
    let token = csrf_of(&form.body);

    // No token at all.
    let answer = seeker.post("/request", &valid_form(), "same-origin").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("nothing was saved"));

    // A token that is not this browser's.
    let other = "B".repeat(43);
    let mut fields = vec![("csrf", other.as_str())];
    fields.extend(valid_form());
    assert_eq!(
        seeker.post("/request", &fields, "same-origin").await.status,
        StatusCode::FORBIDDEN
    );

    // The right token, but the browser says the post came from another site.
    let mut fields = vec![("csrf", token.as_str())];
    fields.extend(valid_form());
    assert_eq!(
        seeker.post("/request", &fields, "cross-site").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        seeker.post("/request", &fields, "same-site").await.status,
        StatusCode::FORBIDDEN
    );

    // A post with no cookie (another site's form in a browser that withholds it).
    let mut stranger = Visitor::new(&app);
    assert_eq!(
        stranger.post("/request", &fields, "none").await.status,
        StatusCode::FORBIDDEN
    );

    assert!(all_requests(&app).await.is_empty(), "nothing stored");

    // The same fields, same-origin, go through.
    assert_eq!(
        seeker.post("/request", &fields, "same-origin").await.status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

#[tokio::test]
async fn a_second_open_request_for_the_same_phone_is_a_friendly_message_on_the_phone_field() {
    let app = TestApp::spawn().await;
    app.create_request(&request_body("Ada", SEEKER_PHONE)).await;
    let mut seeker = Visitor::new(&app);
    let answer = seeker.submit_request(&valid_form()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer.body.contains(
            r#"<p class="error" id="f-phone-error">This number already has a request open"#
        ),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(r#"value="(201) 555-0199""#));
    assert_eq!(all_requests(&app).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_manage_page_shows_the_booked_time_in_the_seekers_zone_and_the_mentors_first_name_only()
{
    let app = TestApp::spawn().await;
    mentor_with_window(&app).await;
    let mut seeker = Visitor::new(&app);
    let answer = seeker.submit_request(&valid_form()).await;
    let location = answer.location().to_owned();
    app.settle().await;

    let view = api_view(&app, token_of(&location)).await;
    assert_eq!(view["status"], "scheduled", "{view}");
    let starts_at = at(view["call"]["starts_at"].as_str().expect("starts_at"));
    assert_eq!(starts_at, at(FIRST_SLOT));

    let page = seeker.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    let local = local_time(starts_at, chrono_tz::America::New_York);
    assert_eq!(local, "Monday, November 30, 10:00 AM EST");
    assert!(
        html.contains(&format!(
            r#"<time datetime="{}">{local}</time>"#,
            starts_at.to_rfc3339()
        )),
        "{html}"
    );
    assert!(html.contains("Grace will call you on"));
    assert!(html.contains("Your number ending in 0199"));
    assert!(
        !html.contains("555-0199") && !html.contains(SEEKER_PHONE),
        "only the last digits"
    );
    assert!(
        !html.contains("Hopper"),
        "the mentor's full name stays private"
    );
    assert!(
        html.contains("+15005550006"),
        "the service number the call comes from"
    );
    assert!(html.contains(r#"data-confirm="#) && html.contains("Cancel my request"));
    assert_no_mentor_number(html);
    app.stop().await;
}

#[tokio::test]
async fn cancelling_from_the_manage_page_cancels_the_request_and_its_call() {
    let app = TestApp::spawn().await;
    mentor_with_window(&app).await;
    let mut seeker = Visitor::new(&app);
    let location = seeker
        .submit_request(&valid_form())
        .await
        .location()
        .to_owned();
    app.settle().await;
    let token = token_of(&location).to_owned();
    let call_id = api_view(&app, &token).await["call"]["id"].clone();

    let page = seeker.get(&format!("/r/{token}")).await;
    let csrf = csrf_of(&page.body);
    let cancel = format!("/r/{token}/cancel");

    // Without the token or from another site: refused, nothing changes.
    assert_eq!(
        seeker.post(&cancel, &[], "same-origin").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        seeker
            .post(&cancel, &[("csrf", &csrf)], "cross-site")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(api_view(&app, &token).await["status"], "scheduled");

    let answer = seeker
        .post(&cancel, &[("csrf", &csrf)], "same-origin")
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), format!("/r/{token}?canceled=1"));
    assert_eq!(api_view(&app, &token).await["status"], "canceled");
    let (_, call) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(call["status"], "canceled");
    assert_eq!(call["outcome"], "canceled");

    let page = seeker.get(answer.location()).await;
    assert!(page.body.contains("Your request is canceled."));
    assert!(
        !page.body.contains("Cancel my request"),
        "nothing left to cancel"
    );
    assert_no_mentor_number(&page.body);

    // Cancelling twice is harmless.
    let again = seeker
        .post(&cancel, &[("csrf", &csrf)], "same-origin")
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_manage_token_is_a_not_found_page() {
    let app = TestApp::spawn().await;
    let mut seeker = Visitor::new(&app);
    let page = seeker.get("/r/rar_not-a-real-token").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<h1>Not found</h1>"));

    let form = seeker.get("/request").await;
    let csrf = csrf_of(&form.body);
    let answer = seeker
        .post(
            "/r/rar_not-a-real-token/cancel",
            &[("csrf", &csrf)],
            "same-origin",
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A request made on the form and booked into the first slot, whose call the
/// fake Twilio then plays with the seeker doing `seeker`; returns the app, the
/// fake (kept alive), the visitor and the manage token.
async fn play_first_call(seeker: SeekerScript) -> (TestApp, FakeTwilio, Visitor, String) {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    fake.script_for(
        MENTOR_PHONE,
        CallScript {
            mentor: MentorScript::Answers { presses: Some('1') },
            seeker,
            mentor_hangs_up_during_announcement: false,
            mentor_after_call: None,
        },
    );
    mentor_with_window(&app).await;
    let mut visitor = Visitor::new(&app);
    let location = visitor
        .submit_request(&valid_form())
        .await
        .location()
        .to_owned();
    app.settle().await;
    app.clock.set(at(FIRST_SLOT));
    app.dispatch_due().await;
    fake.wait_for_plays(1).await;
    app.settle().await;
    let token = token_of(&location).to_owned();
    (app, fake, visitor, token)
}

#[tokio::test]
async fn a_missed_call_shows_in_the_history_with_the_new_time() {
    let (app, _fake, mut seeker, token) = play_first_call(SeekerScript::NoAnswer).await;
    let view = api_view(&app, &token).await;
    assert_eq!(view["call"]["starts_at"], SECOND_TRY_SLOT, "{view}");
    let page = seeker.get(&format!("/r/{token}")).await;
    let html = &page.body;
    let zone = chrono_tz::America::New_York;
    assert!(html.contains("Earlier calls"));
    let missed = format!(
        "{}</time>: you didn't pick up; we booked another time",
        local_time(at(FIRST_SLOT), zone)
    );
    assert!(html.contains(&missed), "{html}");
    assert!(html.contains(&format!(
        "Grace will call you on <strong><time datetime=\"{}\">{}</time>",
        at(SECOND_TRY_SLOT).to_rfc3339(),
        local_time(at(SECOND_TRY_SLOT), zone)
    )));
    assert_no_mentor_number(html);
    app.stop().await;
}

#[tokio::test]
async fn a_call_that_took_place_says_so_and_how_long_it_lasted() {
    let (app, _fake, mut seeker, token) =
        play_first_call(SeekerScript::Answers { talk_seconds: 540 }).await;
    assert_eq!(api_view(&app, &token).await["status"], "completed");
    let page = seeker.get(&format!("/r/{token}")).await;
    let html = &page.body;
    assert!(html.contains("Call done"));
    assert!(html.contains("Your call took place."));
    let talked = format!(
        "{}</time>: you talked for 9 minutes",
        local_time(at(FIRST_SLOT), chrono_tz::America::New_York)
    );
    assert!(html.contains(&talked), "{html}");
    assert!(
        !html.contains("Cancel my request"),
        "nothing left to cancel"
    );
    assert_no_mentor_number(html);
    app.stop().await;
}
