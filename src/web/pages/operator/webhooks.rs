//! `/operator/webhooks`: whether outbound webhooks are on, how many events are
//! waiting, delivered and given up, the events not delivered yet (retried or
//! given up, with the last failure), and the most recent events. Payloads are
//! not shown: each row names the event's type, ids and delivery state.

use axum::extract::State;
use maud::{Markup, html};

use super::super::csrf::CsrfToken;
use super::super::error::PageError;
use super::{Operator, Section, frame, scroll_table, utc};
use crate::ids::RequestId;
use crate::store::{WebhookDelivery, WebhookEventKind};
use crate::web::AppState;

/// Rows in each table.
const ROWS: u32 = 100;

/// `GET /operator/webhooks`.
pub async fn webhooks(
    _: Operator,
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Markup, PageError> {
    let enabled = state.store.webhooks_enabled().await?;
    let counts = state.store.webhook_counts().await?;
    let undelivered = state.store.recent_webhook_events(true, ROWS).await?;
    let recent = state.store.recent_webhook_events(false, ROWS).await?;
    let figures = [
        ("pending", counts.pending, "waiting to be delivered"),
        ("delivered", counts.delivered, "delivered"),
        ("failed", counts.failed, "given up after 24 hours"),
    ];
    Ok(frame(
        "Webhooks",
        &csrf,
        Section::Webhooks,
        html! {
            h1 { "Webhooks" }
            @if enabled {
                p { "Webhooks are on: " code { "call.ended" } " and " code { "request.updated" }
                    " events are posted to " code { "RIDEALONG_WEBHOOK_URL" } ", signed per the Standard Webhooks specification, and retried for 24 hours." }
            } @else {
                p data-webhooks="off" { "Webhooks are off. Set " code { "RIDEALONG_WEBHOOK_URL" } " and "
                    code { "RIDEALONG_WEBHOOK_SECRET" } " and restart to have events posted." }
            }
            ul.figures {
                @for (key, value, label) in figures {
                    li data-figure=(key) { span { strong { (value) } " " (label) } }
                }
            }
            h2 { "Not delivered" }
            @if undelivered.is_empty() {
                p.empty { "No event is being retried or was given up." }
            } @else {
                p.hint { "Events that failed at least once and are retried, or were given up; newest first. Times in UTC." }
                (deliveries_table("Not delivered", &undelivered))
            }
            h2 { "Recent events" }
            @if recent.is_empty() {
                p.empty { "No events yet." }
            } @else {
                p.hint { "The newest " (ROWS) " at most, newest first. Times in UTC." }
                (deliveries_table("Recent events", &recent))
            }
        },
    ))
}

fn deliveries_table(label: &str, deliveries: &[WebhookDelivery]) -> Markup {
    scroll_table(
        label,
        &[
            "#",
            "Event",
            "About",
            "Happened",
            "Status",
            "Tries",
            "Last answer",
            "Next try or delivered",
        ],
        html! {
            @for delivery in deliveries {
                @let job = &delivery.job;
                tr data-event=(job.id) data-webhook-id=(job.webhook_id) data-status=(delivery.status) {
                    td { (job.id) }
                    td { code { (job.kind.type_name()) } br; span.muted { (job.webhook_id) } }
                    td { (about(job.request_id, &job.kind)) }
                    td { (utc(job.occurred_at)) }
                    td { span.status { (delivery.status) } }
                    td { (job.attempts) }
                    td {
                        @match (&delivery.last_error, delivery.last_status_code) {
                            (Some(error), _) => { (error) }
                            (None, Some(code)) => { (code) }
                            (None, None) => { "—" }
                        }
                    }
                    td {
                        @if let Some(delivered) = delivery.delivered_at {
                            (utc(delivered))
                        } @else if delivery.status == "pending" {
                            (utc(delivery.next_attempt_at))
                        } @else if let Some(last) = delivery.last_attempt_at {
                            "last tried " (utc(last))
                        } @else {
                            "—"
                        }
                    }
                }
            }
        },
    )
}

/// The request and call an event is about, linked, with what it says.
fn about(request_id: RequestId, kind: &WebhookEventKind) -> Markup {
    html! {
        a href={ "/operator/requests/" (request_id) } { "request " (request_id) }
        @match kind {
            WebhookEventKind::CallEnded { call_id, outcome, .. } => {
                ", " a href={ "/operator/calls/" (call_id) } { "call " (call_id) }
                br; span.muted { (outcome.as_str().replace('_', " ")) }
            }
            WebhookEventKind::RequestUpdated { status, previous_status, .. } => {
                br; span.muted {
                    @if let Some(previous) = previous_status { (previous.as_str()) " → " }
                    (status.as_str())
                }
            }
        }
    }
}
