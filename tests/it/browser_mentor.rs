//! The mentor's pages in a real browser (headless Chromium), at a phone's and a
//! laptop's size: sign in with the code texted to the phone, add a commute window,
//! see the slot preview, and see a booked call whose message carries an XSS payload
//! shown as plain text. Screenshots go to `target/browser-screenshots/`.

use fantoccini::Locator;
use serde_json::json;

use crate::helpers::browser::{Browser, LAPTOP, PHONE, Viewport};
use crate::helpers::{TestApp, mentor_body, request_body};

const MENTOR_PHONE: &str = "+12015550123";
const SEEKER_PHONE: &str = "+12015550199";
const XSS: &str = r#"<script>window.__xss=1</script><img src=x onerror="window.__xss=1">"#;

/// The one group of six digits in a text.
fn code_in(body: &str) -> String {
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|group| group.len() == 6)
        .collect();
    assert_eq!(groups.len(), 1, "exactly one 6-digit group in {body:?}");
    groups[0].to_owned()
}

async fn fill(browser: &Browser, css: &str, text: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
        .send_keys(text)
        .await
        .expect("type");
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
        .click()
        .await
        .expect("click");
}

async fn wait_for(browser: &Browser, css: &str) {
    browser
        .client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("waiting for {css}: {error}"));
}

async fn mentor_journey(viewport: Viewport, size: &str) {
    let (app, fake) = TestApp::spawn_with_fake_twilio().await;
    app.create_mentor(&mentor_body("Grace Hopper", MENTOR_PHONE))
        .await;
    let Some(browser) = Browser::launch(viewport).await else {
        app.stop().await;
        return;
    };

    // Not signed in: the dashboard sends the mentor to sign in.
    browser.open(&app.url("/mentor")).await;
    wait_for(&browser, "#f-phone").await;
    assert!(browser.text().await.contains("Mentor sign-in"));
    fill(&browser, "#f-phone", "+1 201 555 0123").await;
    if size == "390x844" {
        browser.check_page(&format!("mentor-signin-{size}")).await;
    }
    click(
        &browser,
        "form[action='/mentor/sign-in'] button[type=submit]",
    )
    .await;
    wait_for(&browser, "#f-code").await;
    let messages = fake.wait_for_texts_to(MENTOR_PHONE, 1).await;
    assert_eq!(fake.messages().len(), 1, "{messages:?}");
    assert_eq!(messages[0].to, MENTOR_PHONE);
    fill(&browser, "#f-code", &code_in(&messages[0].body)).await;
    click(
        &browser,
        "form[action='/mentor/sign-in/code'] button[type=submit]",
    )
    .await;
    wait_for(&browser, "#windows").await;
    assert!(browser.text().await.contains("Hello, Grace Hopper"));

    // Add a Mon–Fri 07:30–08:15 window in the mentor's zone (preselected).
    for day in ["mon", "tue", "wed", "thu", "fri"] {
        click(&browser, &format!("input[name=weekdays][value={day}]")).await;
    }
    // Time inputs take keystrokes in the browser's locale format; set them the way
    // the picker would.
    browser
        .eval(
            "document.querySelector('#f-start').value = '07:30';
             document.querySelector('#f-end').value = '08:15'; return true;",
        )
        .await;
    let zone = browser
        .eval("return document.querySelector('#f-timezone').value;")
        .await;
    assert_eq!(zone, "America/New_York");
    click(
        &browser,
        "form[action='/mentor/windows#windows'] button[type=submit]",
    )
    .await;
    wait_for(&browser, "ul.slot-list").await;
    let text = browser.text().await;
    assert!(
        text.contains("Mon, Tue, Wed, Thu, Fri · 07:30–08:15"),
        "{text}"
    );
    // Now is Monday 07:00 in New York: the first slots are this morning's.
    assert!(text.contains("Monday, November 30, 7:30 AM EST"), "{text}");
    assert!(text.contains("Tuesday, December 1, 8:00 AM EST"), "{text}");

    // A seeker asks for help; the matcher books them into Tuesday's window.
    let mut request = request_body("Ada Lovelace", SEEKER_PHONE);
    request["message"] = json!(format!("I am stuck. {XSS}"));
    let created = app.create_request(&request).await;
    app.settle().await;
    assert_eq!(app.request_as_seeker(&created).await["status"], "scheduled");

    browser.open(&app.url("/mentor")).await;
    wait_for(&browser, "article.call").await;
    let call = browser
        .client
        .find(Locator::Css("article.call"))
        .await
        .expect("the call")
        .text()
        .await
        .expect("its text");
    assert!(call.contains("Tuesday, December 1, 8:00 AM EST"), "{call}");
    assert!(call.contains("Ada"), "{call}");
    assert!(!call.contains("Lovelace"), "{call}");
    let message = browser
        .client
        .find(Locator::Css("article.call p.message"))
        .await
        .expect("the message")
        .text()
        .await
        .expect("its text");
    assert_eq!(message, format!("I am stuck. {XSS}"));
    assert_eq!(
        browser.eval("return typeof window.__xss;").await,
        "undefined",
        "the payload ran"
    );
    let text = browser.text().await;
    for phone in [SEEKER_PHONE, "555-0199", "555 0199", "5550199"] {
        assert!(!text.contains(phone), "the seeker's phone is on the page");
    }
    assert!(
        !browser.overflows_horizontally().await,
        "the dashboard scrolls sideways at {size}"
    );
    browser
        .check_page(&format!("mentor-dashboard-{size}"))
        .await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_mentor_on_a_phone_signs_in_adds_a_window_and_sees_slots_and_a_call() {
    mentor_journey(PHONE, "390x844").await;
}

#[tokio::test]
async fn a_mentor_on_a_laptop_signs_in_adds_a_window_and_sees_slots_and_a_call() {
    mentor_journey(LAPTOP, "1280x800").await;
}
