//! The seeker's pages in headless Chromium: filling in the form on a phone and on
//! a laptop, the confirmation with the booked time in the seeker's zone,
//! confirming the number with the texted code (read from the fake Twilio),
//! cancelling through the confirm dialog, 44px touch targets, no sideways
//! scrolling, and a script in a message staying text. Screenshots go to
//! `target/browser-screenshots/`. Without chromedriver these tests say so and pass.

use fantoccini::Locator;
use serde_json::json;

use crate::helpers::browser::{Browser, LAPTOP, PHONE, Viewport};
use crate::helpers::privacy::code_in;
use crate::helpers::{TestApp, at, mentor_body};
use ridealong::web::pages::layout::local_time;

/// Monday 2026-11-30 10:00 in New York: the first slot of the mentor's window.
const FIRST_SLOT: &str = "2026-11-30T15:00:00Z";

/// The payload of the XSS check: it sets `window.__xss` if it ever runs.
const XSS: &str = r#"<script>window.__xss=1</script><img src=x onerror="window.__xss=1">"#;

/// A New York mentor with a weekday 10:00–10:30 window.
async fn mentor_with_window(app: &TestApp) {
    let (id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    app.add_window(
        id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
}

async fn type_into(browser: &Browser, id: &str, text: &str) {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|error| panic!("#{id}: {error}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|error| panic!("type into #{id}: {error}"));
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("click {css}: {error}"));
}

/// Fills in the request form the way a person does and sends it; waits for the
/// manage page's banner.
async fn fill_and_send(browser: &Browser, message: &str, screenshot: &str) {
    type_into(browser, "f-name", "Ada Lovelace").await;
    type_into(browser, "f-phone", "(201) 555-0199").await;
    browser
        .client
        .find(Locator::Id("f-timezone"))
        .await
        .expect("zone picker")
        .select_by_value("America/New_York")
        .await
        .expect("pick a zone");
    type_into(browser, "f-topic", "interviews").await;
    type_into(browser, "f-message", message).await;
    click(browser, "#f-consent").await;
    assert!(
        !browser.overflows_horizontally().await,
        "{screenshot} scrolls sideways"
    );
    browser.eval("window.scrollTo(0, 0); return true;").await;
    browser.check_page(screenshot).await;
    click(browser, "form.seeker-form button[type=submit]").await;
    browser
        .client
        .wait()
        .for_element(Locator::Css(".banner"))
        .await
        .expect("the confirmation banner");
}

/// Submits the form at `viewport` and checks the confirmation before and after
/// the matcher books the call.
async fn seeker_asks_for_a_call(viewport: Viewport, size: &str) {
    let app = TestApp::spawn().await;
    mentor_with_window(&app).await;
    let Some(browser) = Browser::launch(viewport).await else {
        app.stop().await;
        return;
    };
    browser.open(&app.url("/request")).await;
    let preselected = browser
        .eval(
            "const zone = Intl.DateTimeFormat().resolvedOptions().timeZone; \
             const picker = document.getElementById('f-timezone'); \
             const offered = [...picker.options].some((option) => option.value === zone); \
             return offered ? picker.value === zone : picker.value === '';",
        )
        .await;
    assert_eq!(
        preselected, true,
        "the browser's zone is preselected when offered"
    );
    let small = browser
        .eval(
            "return [...document.querySelectorAll( \
               'main button, main select, main textarea, main .days label, main .consent label, \
                main input:not([type=checkbox]):not([type=hidden])')] \
             .filter((element) => element.getBoundingClientRect().height < 44) \
             .map((element) => element.id || element.textContent.trim());",
        )
        .await;
    assert_eq!(small, json!([]), "touch targets under 44px at {size}");
    fill_and_send(
        &browser,
        "I have applied for months and I am stuck.",
        &format!("seeker-request-{size}"),
    )
    .await;
    let text = browser.text().await;
    assert!(
        text.contains("Thank you, Ada. Your request is in."),
        "{text}"
    );
    assert!(
        text.contains("We'll text you when it's booked") || text.contains("will call you on"),
        "either state reads well: {text}"
    );

    app.settle().await;
    let url = browser.client.current_url().await.expect("url").to_string();
    browser.open(&url).await;
    let text = browser.text().await;
    let local = local_time(at(FIRST_SLOT), chrono_tz::America::New_York);
    assert!(
        text.contains(&format!("Grace will call you on {local}")),
        "{text}"
    );
    assert!(text.contains("Keep this private link"), "{text}");
    assert!(
        !browser.overflows_horizontally().await,
        "the confirmation scrolls sideways at {size}"
    );
    browser.eval("window.scrollTo(0, 0); return true;").await;
    browser
        .check_page(&format!("seeker-confirmation-{size}"))
        .await;

    // Cancel, through the confirm dialog the site script adds.
    let manage = browser.client.current_url().await.expect("url");
    let canceled = manage.join("?canceled=1").expect("canceled url");
    click(&browser, "button[data-confirm]").await;
    let question = browser
        .client
        .get_alert_text()
        .await
        .expect("a confirm dialog");
    assert!(question.contains("Cancel this request?"), "{question}");
    browser
        .client
        .accept_alert()
        .await
        .expect("accept the dialog");
    browser
        .client
        .wait()
        .for_url(&canceled)
        .await
        .expect("the canceled page");
    let text = browser.text().await;
    assert!(text.contains("Your request is canceled."), "{text}");
    assert!(!text.contains("Cancel my request"), "{text}");
    browser.check_page(&format!("seeker-canceled-{size}")).await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_on_a_phone_asks_for_a_call_and_sees_when_it_comes() {
    seeker_asks_for_a_call(PHONE, "390x844").await;
}

#[tokio::test]
async fn a_seeker_on_a_laptop_asks_for_a_call_and_sees_when_it_comes() {
    seeker_asks_for_a_call(LAPTOP, "1280x800").await;
}

/// The seeker's number as the form has it, in E.164.
const SEEKER_PHONE: &str = "+12015550199";

/// With confirmation on: the form leads to "Confirm your number"; a wrong code
/// is explained next to the field; the code from the text confirms the number,
/// and the matcher then books the call; finally the seeker deletes the request
/// and the data.
async fn seeker_confirms_the_number(viewport: Viewport, size: &str) {
    let (app, fake) =
        TestApp::spawn_with_fake_twilio_and(|config| config.privacy.confirm_phone = true).await;
    mentor_with_window(&app).await;
    let Some(browser) = Browser::launch(viewport).await else {
        app.stop().await;
        return;
    };
    browser.open(&app.url("/request")).await;
    fill_and_send(
        &browser,
        "I have applied for months and I am stuck.",
        &format!("seeker-request-confirming-{size}"),
    )
    .await;
    let text = browser.text().await;
    assert!(text.contains("Confirm your number"), "{text}");
    assert!(
        text.contains("Replying YES to it confirms your number too."),
        "{text}"
    );
    let small = browser
        .eval(
            "return [...document.querySelectorAll( \
               'main button, main input[type=text], main .erase-form label')] \
             .filter((element) => element.getBoundingClientRect().height < 44) \
             .map((element) => element.id || element.textContent.trim());",
        )
        .await;
    assert_eq!(small, json!([]), "touch targets under 44px at {size}");
    assert!(
        !browser.overflows_horizontally().await,
        "the confirm step scrolls sideways at {size}"
    );
    browser.eval("window.scrollTo(0, 0); return true;").await;
    browser
        .check_page(&format!("seeker-confirm-step-{size}"))
        .await;
    let manage = browser.client.current_url().await.expect("url");

    app.notify_due().await;
    let texted = fake
        .messages()
        .into_iter()
        .rfind(|message| message.to == SEEKER_PHONE)
        .expect("the code was texted");
    let code = code_in(&texted.body);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    type_into(&browser, "f-code", wrong).await;
    click(&browser, "form.code-form button[type=submit]").await;
    browser
        .client
        .wait()
        .for_element(Locator::Id("f-code-error"))
        .await
        .expect("the wrong code's error");
    let text = browser.text().await;
    assert!(text.contains("That code is not right."), "{text}");
    let focused = browser
        .eval("return document.activeElement.className;")
        .await;
    assert_eq!(focused, "error-summary", "focus moves to the summary");
    let described = browser
        .eval("return document.getElementById('f-code').getAttribute('aria-describedby');")
        .await;
    assert_eq!(described, "f-code-hint f-code-error");
    assert!(
        !browser.overflows_horizontally().await,
        "the refused code scrolls sideways at {size}"
    );
    browser
        .check_page(&format!("seeker-confirm-wrong-code-{size}"))
        .await;

    type_into(&browser, "f-code", &code).await;
    click(&browser, "form.code-form button[type=submit]").await;
    let confirmed = manage.join("?confirmed=1").expect("confirmed url");
    browser
        .client
        .wait()
        .for_url(&confirmed)
        .await
        .expect("back on the manage page");
    let text = browser.text().await;
    assert!(
        text.contains("Thank you, your number is confirmed."),
        "{text}"
    );
    assert!(!text.contains("The 6-digit code from the text"), "{text}");
    browser.eval("window.scrollTo(0, 0); return true;").await;
    browser
        .check_page(&format!("seeker-confirmed-{size}"))
        .await;

    app.settle().await;
    browser.open(confirmed.as_str()).await;
    let text = browser.text().await;
    let local = local_time(at(FIRST_SLOT), chrono_tz::America::New_York);
    assert!(
        text.contains(&format!("Grace will call you on {local}")),
        "{text}"
    );

    // Delete the request and the data: tick the box, then the button.
    click(&browser, "label[for=f-understand]").await;
    browser
        .check_page(&format!("seeker-erase-ticked-{size}"))
        .await;
    click(&browser, "form.erase-form button[type=submit]").await;
    let erased = manage.join("?erased=1").expect("erased url");
    browser
        .client
        .wait()
        .for_url(&erased)
        .await
        .expect("the erased page");
    let text = browser.text().await;
    assert!(
        text.contains("Your request and your data are deleted."),
        "{text}"
    );
    assert!(!text.contains("I have applied"), "{text}");
    assert!(
        !browser.overflows_horizontally().await,
        "the erased page scrolls sideways at {size}"
    );
    browser.check_page(&format!("seeker-erased-{size}")).await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_seeker_on_a_phone_confirms_the_number_with_the_texted_code() {
    seeker_confirms_the_number(PHONE, "390x844").await;
}

#[tokio::test]
async fn a_seeker_on_a_laptop_confirms_the_number_with_the_texted_code() {
    seeker_confirms_the_number(LAPTOP, "1280x800").await;
}

#[tokio::test]
async fn a_script_in_a_message_shows_as_text_and_never_runs() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::launch(PHONE).await else {
        app.stop().await;
        return;
    };
    browser.open(&app.url("/request")).await;
    fill_and_send(&browser, XSS, "seeker-xss-request-390x844").await;
    let message = browser
        .client
        .find(Locator::Css("dd.message"))
        .await
        .expect("the message on the manage page")
        .text()
        .await
        .expect("its text");
    assert_eq!(message, XSS, "the payload is shown as typed");
    let ran = browser
        .eval("return typeof window.__xss === 'undefined';")
        .await;
    assert_eq!(ran, true, "the payload never ran");
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main img, main script').length;")
            .await,
        0,
        "no element was made from it"
    );
    browser.check_page("seeker-xss-manage-390x844").await;

    // The form shown again with an error keeps the payload as text too.
    browser.open(&app.url("/request")).await;
    type_into(&browser, "f-message", XSS).await;
    click(&browser, "form.seeker-form button[type=submit]").await;
    browser
        .client
        .wait()
        .for_element(Locator::Css(".error-summary"))
        .await
        .expect("the error summary");
    let kept = browser
        .eval("return document.getElementById('f-message').value;")
        .await;
    assert_eq!(kept, XSS);
    assert_eq!(
        browser
            .eval("return typeof window.__xss === 'undefined';")
            .await,
        true
    );
    let focused = browser
        .eval("return document.activeElement.className;")
        .await;
    assert_eq!(focused, "error-summary", "focus moves to the summary");
    assert!(
        !browser.overflows_horizontally().await,
        "the form with errors scrolls sideways"
    );
    browser.check_page("seeker-request-errors-390x844").await;
    browser.close().await;
    app.stop().await;
}
