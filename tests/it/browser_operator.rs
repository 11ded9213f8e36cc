//! The operator's pages in headless Chromium at a phone's and a laptop's size:
//! sign in with the admin token, add a mentor, see the lists; nothing scrolls
//! sideways except tables inside their own scroll box.

use fantoccini::Locator;
use serde_json::json;

use crate::helpers::browser::{Browser, LAPTOP, PHONE, Viewport};
use crate::helpers::{ADMIN_TOKEN, TestApp, mentor_body, request_body};

/// Fills the field with `id` with `text`.
async fn fill(browser: &Browser, id: &str, text: &str) {
    let field = browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|error| panic!("#{id}: {error}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// Clicks the submit button of the form around `#{id}`; callers wait for what the
/// next page shows.
async fn submit(browser: &Browser, id: &str) {
    let form = browser
        .client
        .find(Locator::XPath(&format!("//*[@id='{id}']/ancestor::form")))
        .await
        .expect("the form");
    let button = form
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("its button");
    button.click().await.expect("submit");
}

/// Waits until an element matching `locator` is on the page. Errors while the
/// browser is between pages count as "not yet"; polling stops after 30 s.
async fn wait_for(browser: &Browser, locator: Locator<'_>) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match browser.client.find(locator).await {
            Ok(_) => return,
            Err(error) if tokio::time::Instant::now() > deadline => {
                panic!("{locator:?} never appeared: {error}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

/// Waits until the page's `<h1>` reads `title`.
async fn wait_for_heading(browser: &Browser, title: &str) {
    wait_for(
        browser,
        Locator::XPath(&format!("//h1[normalize-space()='{title}']")),
    )
    .await;
}

async fn operator_round(app: &TestApp, viewport: Viewport, size: &str, long_name_id: i64) -> bool {
    let Some(browser) = Browser::launch(viewport).await else {
        return false;
    };
    browser.open(&app.url("/operator")).await;
    wait_for_heading(&browser, "Operator sign-in").await;
    fill(&browser, "f-token", "wrong-token-0123456789").await;
    submit(&browser, "f-token").await;
    wait_for(&browser, Locator::Id("f-token-error")).await;
    assert!(browser.text().await.contains("That is not the admin token"));
    browser
        .check_page(&format!("operator-sign-in-refused-{size}"))
        .await;
    fill(&browser, "f-token", ADMIN_TOKEN).await;
    submit(&browser, "f-token").await;
    wait_for_heading(&browser, "Overview").await;
    assert!(
        !browser.overflows_horizontally().await,
        "the overview scrolls sideways at {size}"
    );
    browser
        .check_page(&format!("operator-overview-{size}"))
        .await;

    // Add a mentor through the form.
    browser.open(&app.url("/operator/mentors")).await;
    wait_for_heading(&browser, "Mentors").await;
    let name = format!("Katherine Johnson {size}");
    fill(&browser, "f-name", &name).await;
    fill(&browser, "f-phone", "+1 201 555 0142").await;
    browser
        .client
        .find(Locator::Id("f-timezone"))
        .await
        .expect("the zone picker")
        .select_by_value("America/Chicago")
        .await
        .expect("choose Chicago");
    fill(&browser, "f-topics", "careers, <b>engineering</b>").await;
    submit(&browser, "f-name").await;
    wait_for_heading(&browser, "Mentor added").await;
    let text = browser.text().await;
    assert!(
        text.contains("shown only now") && text.contains("ram_"),
        "{text}"
    );
    assert!(
        !browser.overflows_horizontally().await,
        "the token wraps at {size}"
    );

    browser.open(&app.url("/operator/mentors")).await;
    wait_for_heading(&browser, "Mentors").await;
    let text = browser.text().await;
    assert!(
        text.contains(&name) && text.contains("<b>engineering</b>"),
        "{text}"
    );
    assert!(
        !browser.overflows_horizontally().await,
        "the mentor list at {size}"
    );

    // A name with no place to break wraps instead of widening the page.
    browser
        .open(&app.url(&format!("/operator/mentors/{long_name_id}")))
        .await;
    wait_for(&browser, Locator::Css("h1")).await;
    assert!(
        !browser.overflows_horizontally().await,
        "a long name at {size}"
    );

    browser.open(&app.url("/operator/requests")).await;
    wait_for_heading(&browser, "Requests").await;
    assert!(browser.text().await.contains("Ada Lovelace"));
    assert!(
        !browser.overflows_horizontally().await,
        "the request list at {size}"
    );

    // An error page is a page too.
    browser.open(&app.url("/operator/no-such-page")).await;
    browser.check_page(&format!("not-found-{size}")).await;

    browser.open(&app.url("/operator/calls")).await;
    wait_for_heading(&browser, "Calls").await;
    assert!(browser.text().await.contains("Grace Hopper"));
    assert!(
        !browser.overflows_horizontally().await,
        "the call list at {size}"
    );
    browser.check_page(&format!("operator-calls-{size}")).await;
    browser.close().await;
    true
}

#[tokio::test]
async fn the_operator_signs_in_adds_a_mentor_and_reads_the_lists_on_a_phone_and_a_laptop() {
    let app = TestApp::spawn().await;
    let (mentor_id, _) = app
        .create_mentor(&mentor_body("Grace Hopper", "+12015550123"))
        .await;
    app.add_window(
        mentor_id,
        &json!({ "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "10:30" }),
    )
    .await;
    let (long_name_id, _) = app
        .create_mentor(&mentor_body(&"W".repeat(100), "+12015550124"))
        .await;
    app.create_request(&request_body("Ada Lovelace", "+12015550199"))
        .await;
    app.settle().await;
    for (viewport, size) in [(PHONE, "390x844"), (LAPTOP, "1280x800")] {
        if !operator_round(&app, viewport, size, long_name_id).await {
            break;
        }
    }
    app.stop().await;
}
