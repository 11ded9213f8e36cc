//! The consent and privacy steps of the pages over HTTP, with phone confirmation
//! on: the request form leads to "Confirm your number", wrong, malformed, locked
//! and expired codes are explained next to the field, a new code can be texted
//! (up to the limit), the right code makes the request pending and then booked;
//! a code that cannot be texted says why; erasing needs its box ticked and leaves
//! a page that says what is kept; erased seekers read "(erased)" on the mentor's
//! and the operator's pages; forged posts change nothing; and the operator sees
//! the consent kept with each request.
//!
//! Texts go to a fake Twilio; `notify_due()` sends the code texts that are due, so
//! a test reads the code from `fake.messages()` without waiting. A mentor's
//! sign-in code goes out in the background: a test waits for it.

use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde_json::{Value, json};

use crate::helpers::fake_twilio::FakeTwilio;
use crate::helpers::privacy::code_in;
use crate::helpers::{self, ADMIN_TOKEN, TestApp, mentor_body, request_body};
use ridealong::domain::consent::current_wording;
use ridealong::store::OptOutSource;

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";

/// A browser-like client: keeps its cookies, does not follow redirects.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
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
            cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header(header::COOKIE, cookie)
            .send()
            .await
            .expect("request reaches the app");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("name=value");
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(known, _)| known != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
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

    /// Posts `fields` as they are (no CSRF token added), saying the post came
    /// from `fetch_site`.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)], fetch_site: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", fetch_site)
            .form(fields);
        self.send(request).await
    }

    /// Opens `page` and posts `fields` to `action` with that page's CSRF token,
    /// as the page's form does.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(page).await;
        assert_eq!(form.status, StatusCode::OK, "{page}: {}", form.body);
        let token = csrf_of(&form.body);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all, "same-origin").await
    }
}

/// The CSRF token in a page's form.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("end of value") + start;
    html[start..end].to_owned()
}

/// A complete, valid request form: Ada in New York, weekdays, no times.
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
        ("consent", "yes"),
    ]
}

/// An app that confirms numbers, texting through a fake Twilio.
async fn confirming_app() -> (TestApp, FakeTwilio) {
    TestApp::spawn_with_fake_twilio_and(|config| config.privacy.confirm_phone = true).await
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

/// A request made on the form: the manage page it lands on (`/r/{token}?new=1`)
/// and its token.
async fn ask_on_the_form(app: &TestApp) -> (Visitor, String, String) {
    let mut seeker = Visitor::new(app);
    let answer = seeker.submit("/request", "/request", &valid_form()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().to_owned();
    let token = location
        .strip_prefix("/r/")
        .and_then(|rest| rest.split('?').next())
        .expect("a manage link")
        .to_owned();
    (seeker, location, token)
}

/// Sends the due code texts and returns the newest code texted to the seeker.
async fn texted_code(app: &TestApp, fake: &FakeTwilio) -> String {
    app.notify_due().await;
    let text = fake
        .texts_to(SEEKER_PHONE)
        .pop()
        .expect("a text to the seeker");
    code_in(&text.body)
}

/// The only request, as the admin sees it through the API.
async fn the_request(app: &TestApp) -> Value {
    let (status, list) = app.get("/api/v1/requests", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let id = list[0]["id"].as_i64().expect("a request");
    let (status, request) = app
        .get(&format!("/api/v1/requests/{id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, StatusCode::OK, "{request}");
    request
}

/// Posts `code` on the manage page's code form.
async fn enter_code(seeker: &mut Visitor, token: &str, code: &str) -> Answer {
    let page = format!("/r/{token}");
    let action = format!("/r/{token}/confirm");
    seeker.submit(&page, &action, &[("code", code)]).await
}

/// A code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn the_form_leads_to_the_confirm_step_and_the_right_code_makes_the_request_pending_then_booked()
 {
    let (app, fake) = confirming_app().await;
    // The background notifier may pick the code text up at any moment: held at
    // Twilio, it stays "being texted" while the page is read.
    fake.hold_texts_until(usize::MAX);
    let (mut seeker, location, token) = ask_on_the_form(&app).await;
    assert!(location.ends_with("?new=1"), "{location}");
    assert_eq!(the_request(&app).await["status"], "unconfirmed");

    let page = seeker.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(
        html.contains("Thank you, Ada. Your request is in."),
        "{html}"
    );
    assert!(html.contains("One more step: confirm your number below"));
    assert!(html.contains(r#"<h2 id="confirm-heading">Confirm your number</h2>"#));
    assert!(html.contains(&format!(r#"action="/r/{token}/confirm""#)));
    assert!(html.contains(r#"<label for="f-code">The 6-digit code from the text</label>"#));
    assert!(html.contains(
        r#"name="code" type="text" inputmode="numeric" pattern="[0-9 -]*" autocomplete="one-time-code""#
    ));
    assert!(html.contains(r#"aria-describedby="f-code-hint""#));
    assert!(html.contains("Replying <strong>YES</strong> to it confirms your number too."));
    assert!(html.contains("We are texting you a 6-digit code."));
    assert!(html.contains("Text me a new code"));
    assert!(html.contains("Your number ending in 0199") && !html.contains("555-0199"));

    fake.release_texts();
    let code = texted_code(&app, &fake).await;
    let page = seeker.get(&format!("/r/{token}")).await;
    assert!(
        page.body
            .contains("We texted you a 6-digit code. It works until"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&code), "the page never shows the code");

    let answer = enter_code(
        &mut seeker,
        &token,
        &format!(" {} {} ", &code[..3], &code[3..]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), format!("/r/{token}?confirmed=1"));
    let request = the_request(&app).await;
    assert_eq!(request["status"], "pending", "{request}");
    assert_eq!(request["consent"]["source"], "web");
    assert_eq!(request["consent"]["confirmed_via"], "web");
    assert!(request["consent"]["confirmed_at"].is_string());

    let page = seeker.get(answer.location()).await;
    assert!(page.body.contains("Thank you, your number is confirmed."));
    assert!(!page.body.contains("f-code"), "no code form any more");

    // A mentor only now, so that no matcher run could book the request before
    // it was seen pending.
    mentor_with_window(&app).await;
    app.settle().await;
    assert_eq!(the_request(&app).await["status"], "scheduled");
    let page = seeker.get(&format!("/r/{token}")).await;
    assert!(
        page.body.contains("Grace will call you on"),
        "{}",
        page.body
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_or_malformed_code_is_explained_next_to_the_field_and_keeps_the_page() {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;

    let answer = enter_code(&mut seeker, &token, wrong(&code)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = &answer.body;
    assert!(
        html.contains(
            r#"<p class="error" id="f-code-error">That code is not right. Check the text and try again: 4 more tries before the code stops working.</p>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="f-code-hint f-code-error""#));
    assert!(html.contains(r##"<a href="#f-code">That code is not right."##));
    assert!(html.contains("What you asked") && html.contains("I have applied for months"));
    assert!(html.contains("Text me a new code"));

    let answer = enter_code(&mut seeker, &token, "12ab56").await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer
            .body
            .contains(r#"id="f-code-error">Enter the 6 digits from the text.</p>"#)
    );
    assert_eq!(the_request(&app).await["status"], "unconfirmed");

    // Malformed entries are not tries: the next wrong one has three left.
    let answer = enter_code(&mut seeker, &token, wrong(&code)).await;
    assert!(answer.body.contains("3 more tries"), "{}", answer.body);
    app.stop().await;
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code_and_a_new_code_works() {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;
    for left in (1..=4).rev() {
        let answer = enter_code(&mut seeker, &token, wrong(&code)).await;
        let tries = if left == 1 { "try" } else { "tries" };
        assert!(
            answer.body.contains(&format!("{left} more {tries}")),
            "{}",
            answer.body
        );
    }
    let locked =
        "That code was entered wrong 5 times, so it no longer works. Ask for a new code below.";
    let answer = enter_code(&mut seeker, &token, wrong(&code)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains(locked), "{}", answer.body);
    let answer = enter_code(&mut seeker, &token, &code).await;
    assert!(
        answer.body.contains(locked),
        "the right code no longer works either"
    );
    assert_eq!(the_request(&app).await["status"], "unconfirmed");
    let page = seeker.get(&format!("/r/{token}")).await;
    assert!(
        page.body
            .contains("The code was entered wrong 5 times and no longer works.")
    );

    // Held at Twilio, the new code stays "on its way" while the page is read,
    // whenever the background notifier picks it up.
    fake.hold_texts_until(usize::MAX);
    let answer = seeker
        .submit(&format!("/r/{token}"), &format!("/r/{token}/code"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), format!("/r/{token}?code=sent#confirm"));
    let page = seeker.get(&format!("/r/{token}?code=sent")).await;
    assert!(
        page.body.contains("A new code is on its way."),
        "{}",
        page.body
    );

    fake.release_texts();
    let new_code = texted_code(&app, &fake).await;
    assert_eq!(fake.texts_to(SEEKER_PHONE).len(), 2);
    let answer = enter_code(&mut seeker, &token, &new_code).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(the_request(&app).await["status"], "pending");
    app.stop().await;
}

#[tokio::test]
async fn new_codes_stop_at_five_and_the_page_says_so() {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let manage = format!("/r/{token}");
    let new_code = format!("/r/{token}/code");
    for _ in 0..4 {
        app.notify_due().await;
        let answer = seeker.submit(&manage, &new_code, &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    }
    app.notify_due().await;
    assert_eq!(fake.texts_to(SEEKER_PHONE).len(), 5);

    let page = seeker.get(&manage).await;
    assert!(!page.body.contains("Text me a new code"), "{}", page.body);
    assert!(
        page.body
            .contains("We have sent this request 5 codes, the most we send for one request.")
    );

    // A post from an older copy of the page is refused with the same words.
    let csrf = csrf_of(&page.body);
    let answer = seeker
        .post(&new_code, &[("csrf", &csrf)], "same-origin")
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.body.contains(
        r#"<p class="error" id="new-code-error" role="alert">We have sent this request 5 codes"#
    ));
    app.notify_due().await;
    assert_eq!(fake.texts_to(SEEKER_PHONE).len(), 5, "no sixth text");

    // The last code still works.
    let code = texted_code(&app, &fake).await;
    let answer = enter_code(&mut seeker, &token, &code).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_code_asks_for_a_new_one() {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;
    app.clock.advance(chrono::TimeDelta::minutes(31));
    let answer = enter_code(&mut seeker, &token, &code).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains(
            r#"id="f-code-error">That code has expired: codes work for 30 minutes. Ask for a new code below.</p>"#
        ),
        "{}",
        answer.body
    );
    let page = seeker.get(&format!("/r/{token}")).await;
    assert!(page.body.contains("The code we texted has expired"));
    assert_eq!(the_request(&app).await["status"], "unconfirmed");
    app.stop().await;
}

#[tokio::test]
async fn a_number_that_opted_out_or_cannot_get_texts_is_told_why_no_code_came() {
    let (app, fake) = confirming_app().await;
    app.store
        .opt_out(SEEKER_PHONE, OptOutSource::Provider, helpers::default_now())
        .await
        .expect("opt out");
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    app.notify_due().await;
    assert_eq!(
        fake.texts_to(SEEKER_PHONE).len(),
        0,
        "no text to a number that said STOP"
    );
    let page = seeker.get(&format!("/r/{token}")).await;
    assert!(
        page.body
            .contains("We cannot text your code: this number replied STOP to one of our texts."),
        "{}",
        page.body
    );
    assert!(page.body.contains("text <strong>START</strong> to"));
    assert!(page.body.contains("+15005550006"));

    // Another seeker whose number cannot get texts.
    let other = "+12015550142";
    fake.invalid_number(other);
    let created = app.create_request(&request_body("Bo", other)).await;
    app.notify_due().await;
    let mut seeker = Visitor::new(&app);
    let page = seeker
        .get(&format!(
            "/r/{}",
            created["manage_token"].as_str().expect("token")
        ))
        .await;
    assert!(
        page.body
            .contains("your number ending in 0142 cannot get texts."),
        "{}",
        page.body
    );
    app.stop().await;
}

#[tokio::test]
async fn posts_to_the_new_routes_without_the_token_or_from_another_site_are_refused_and_change_nothing()
 {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;
    let page = seeker.get(&format!("/r/{token}")).await;
    let csrf = csrf_of(&page.body);
    let other = "B".repeat(43);
    let mut stranger = Visitor::new(&app);

    for (action, field) in [
        ("confirm", ("code", code.as_str())),
        ("code", ("x", "")),
        ("erase", ("understand", "yes")),
    ] {
        let path = format!("/r/{token}/{action}");
        let refused = [
            seeker.post(&path, &[field], "same-origin").await,
            seeker
                .post(&path, &[("csrf", &other), field], "same-origin")
                .await,
            seeker
                .post(&path, &[("csrf", &csrf), field], "cross-site")
                .await,
            seeker
                .post(&path, &[("csrf", &csrf), field], "same-site")
                .await,
            stranger
                .post(&path, &[("csrf", &csrf), field], "none")
                .await,
        ];
        for answer in refused {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{action}: {}",
                answer.body
            );
            assert!(answer.body.contains("nothing was saved"));
        }
    }

    let request = the_request(&app).await;
    assert_eq!(request["status"], "unconfirmed", "{request}");
    assert_eq!(request["name"], "Ada Lovelace");
    assert!(request["erased_at"].is_null());
    app.notify_due().await;
    assert_eq!(
        fake.texts_to(SEEKER_PHONE).len(),
        1,
        "no new code was texted"
    );

    // The same posts from the page go through.
    let answer = seeker
        .post(
            &format!("/r/{token}/confirm"),
            &[("csrf", &csrf), ("code", &code)],
            "same-origin",
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    app.stop().await;
}

#[tokio::test]
async fn erasing_needs_the_box_ticked_and_then_leaves_only_what_cannot_tell_who_asked() {
    let (app, fake) = confirming_app().await;
    mentor_with_window(&app).await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;
    enter_code(&mut seeker, &token, &code).await;
    app.settle().await;
    let booked = the_request(&app).await;
    assert_eq!(booked["status"], "scheduled", "{booked}");
    let call_id = booked["call"]["id"].as_i64().expect("a booked call");

    let manage = format!("/r/{token}");
    let erase = format!("/r/{token}/erase");
    let page = seeker.get(&manage).await;
    assert!(page.body.contains("Delete my request and my data"));
    assert!(
        page.body
            .contains(r#"<label for="f-understand">I understand this cannot be undone</label>"#)
    );

    // Without the box: nothing is erased, and the page says why.
    let answer = seeker.submit(&manage, &erase, &[]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains(
        r#"<p class="error" id="f-understand-error">Tick the box to confirm that you want your request and your data deleted. Nothing was deleted.</p>"#
    ), "{}", answer.body);
    assert!(
        answer
            .body
            .contains(r#"aria-invalid="true" aria-describedby="f-understand-error""#)
    );
    let request = the_request(&app).await;
    assert_eq!(request["status"], "scheduled");
    assert_eq!(request["name"], "Ada Lovelace");

    let answer = seeker
        .submit(&manage, &erase, &[("understand", "yes")])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), format!("/r/{token}?erased=1"));
    let request = the_request(&app).await;
    assert_eq!(request["status"], "canceled", "{request}");
    for field in ["name", "phone", "topic", "message"] {
        assert_eq!(request[field], "", "{field} is erased");
    }
    assert_eq!(request["availability"], json!([]));
    assert!(request["erased_at"].is_string(), "{request}");
    let (_, call) = app
        .get(&format!("/api/v1/calls/{call_id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(call["status"], "canceled");

    let page = seeker.get(answer.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(
        html.contains("Your request and your data are deleted."),
        "{html}"
    );
    assert!(html.contains("What we keep cannot tell anyone who you are"));
    assert!(html.contains(r#"<span class="status">Deleted</span>"#));
    for gone in [
        "Ada",
        "interviews",
        "I have applied",
        "0199",
        "What you asked",
    ] {
        assert!(!html.contains(gone), "{gone} is still on the page");
    }
    assert!(
        !html.contains("<form method=\"post\""),
        "nothing left to post"
    );

    // Erasing twice is harmless.
    let csrf = csrf_of(&seeker.get("/request").await.body);
    let again = seeker
        .post(
            &erase,
            &[("csrf", &csrf), ("understand", "yes")],
            "same-origin",
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // The mentor's past calls and the operator's pages say "(erased)".
    let texts_before = fake.texts_to(MENTOR_PHONE).len();
    let mut mentor = Visitor::new(&app);
    mentor
        .submit(
            "/mentor/sign-in",
            "/mentor/sign-in",
            &[("phone", MENTOR_PHONE)],
        )
        .await;
    let sign_in_text = fake
        .wait_for_texts_to(MENTOR_PHONE, texts_before + 1)
        .await
        .pop()
        .expect("the sign-in code");
    let signed_in = mentor
        .submit(
            "/mentor/sign-in",
            "/mentor/sign-in/code",
            &[
                ("phone", MENTOR_PHONE),
                ("code", &code_in(&sign_in_text.body)),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let dashboard = mentor.get("/mentor").await;
    let past = &dashboard.body[dashboard.body.find("id=\"past\"").expect("past calls")..];
    assert!(
        past.contains(r#"<span class="muted erased">(erased)</span>"#),
        "{past}"
    );

    let mut operator = Visitor::new(&app);
    let answer = operator
        .submit(
            "/operator/sign-in",
            "/operator/sign-in",
            &[("token", ADMIN_TOKEN)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let id = request["id"].as_i64().expect("id");
    for path in [
        "/operator/requests".to_owned(),
        "/operator/calls".to_owned(),
        format!("/operator/calls/{call_id}"),
        format!("/operator/requests/{id}"),
    ] {
        let page = operator.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("(erased)"), "{path}: {}", page.body);
        assert!(!page.body.contains("Ada"), "{path}");
    }
    let list = operator.get("/operator/requests").await;
    assert!(
        list.body
            .contains(r#"<span class="status erased">erased</span>"#)
    );
    let detail = operator.get(&format!("/operator/requests/{id}")).await;
    assert!(
        detail
            .body
            .contains(r#"<p class="problem" id="erased" role="note"><strong>Erased "#)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_operator_sees_the_consent_kept_with_each_request() {
    let (app, fake) = confirming_app().await;
    let (mut seeker, _, token) = ask_on_the_form(&app).await;
    let code = texted_code(&app, &fake).await;
    enter_code(&mut seeker, &token, &code).await;
    let from_web = the_request(&app).await["id"].as_i64().expect("id");
    let from_api = app
        .create_request(&request_body("Bo", "+12015550142"))
        .await["id"]
        .as_i64()
        .expect("id");
    app.notify_due().await;

    let mut operator = Visitor::new(&app);
    operator
        .submit(
            "/operator/sign-in",
            "/operator/sign-in",
            &[("token", ADMIN_TOKEN)],
        )
        .await;
    let version = current_wording().version;
    let list = operator.get("/operator/requests").await;
    assert!(
        list.body.contains(&format!(
            r#"<a href="/operator/requests/{from_web}">{from_web}</a>"#
        )),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!(
        r#"<span data-consent-version="{version}">{version}</span><br><span class="muted">via web; confirmed: web</span>"#
    )));
    assert!(list.body.contains("via api; confirmed: no"));

    let page = operator
        .get(&format!("/operator/requests/{from_web}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(
        html.contains(&format!(
            r#"<dd data-consent-version="{version}">version {version} (current)</dd>"#
        )),
        "{html}"
    );
    assert!(html.contains(r#"<dd data-consent-source="web">on the web form, <time"#));
    assert!(html.contains(r#"<dd data-confirmed-via="web">code entered on the web page, <time"#));
    let wording = current_wording().text.replace('\'', "&#39;");
    assert!(
        html.contains(&wording) || html.contains(current_wording().text),
        "the wording itself"
    );
    assert!(html.contains("Ada Lovelace"));
    assert!(
        !html.contains(SEEKER_PHONE) && !html.contains("555-0199"),
        "no seeker number"
    );

    let page = operator
        .get(&format!("/operator/requests/{from_api}"))
        .await;
    let html = &page.body;
    assert!(
        html.contains(r#"<dd data-consent-source="api">on the API, <time"#),
        "{html}"
    );
    assert!(html.contains("<dd>not yet</dd>"), "{html}");
    assert!(
        html.contains("<dt>Code texts</dt><dd>1 of 5</dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>Wrong entries</dt><dd>0 of 5</dd>"));

    assert_eq!(
        operator.get("/operator/requests/999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        operator.get("/operator/requests/x").await.status,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn without_confirmation_the_page_has_no_code_step_and_the_operator_reads_not_required() {
    let app = TestApp::spawn().await;
    let (mut seeker, location, _) = ask_on_the_form(&app).await;
    let page = seeker.get(&location).await;
    assert!(!page.body.contains("Confirm your number"));
    assert!(!page.body.contains("f-code"));
    assert!(page.body.contains("Delete my request and my data"));
    let id = the_request(&app).await["id"].as_i64().expect("id");

    let mut operator = Visitor::new(&app);
    operator
        .submit(
            "/operator/sign-in",
            "/operator/sign-in",
            &[("token", ADMIN_TOKEN)],
        )
        .await;
    let page = operator.get(&format!("/operator/requests/{id}")).await;
    assert!(
        page.body.contains(
            r#"<dd data-confirmed-via="not_required">not required (confirmation was off)</dd>"#
        ),
        "{}",
        page.body
    );
    app.stop().await;
}

#[tokio::test]
async fn the_code_and_erase_buttons_are_rate_limited_per_address() {
    let (app, _fake) = TestApp::spawn_with_fake_twilio_and(|config| {
        config.privacy.confirm_phone = true;
        config.limits.per_ip_per_minute = std::num::NonZeroU32::new(3);
    })
    .await;
    // One post: the request itself.
    let created = app.create_request(&request_body("Ada", SEEKER_PHONE)).await;
    let token = created["manage_token"].as_str().expect("token");
    let mut seeker = Visitor::new(&app);
    let page = seeker.get(&format!("/r/{token}")).await;
    let csrf = csrf_of(&page.body);
    let confirm = format!("/r/{token}/confirm");
    for _ in 0..2 {
        let answer = seeker
            .post(&confirm, &[("csrf", &csrf), ("code", "12")], "same-origin")
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    for path in [
        confirm,
        format!("/r/{token}/code"),
        format!("/r/{token}/erase"),
    ] {
        let answer = seeker
            .post(
                &path,
                &[("csrf", &csrf), ("understand", "yes")],
                "same-origin",
            )
            .await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(answer.headers.contains_key(header::RETRY_AFTER));
    }
    assert!(the_request(&app).await["erased_at"].is_null());
    app.stop().await;
}
