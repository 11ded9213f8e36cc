//! Confirmation codes at the store level, on SQLite and (with
//! `RIDEALONG_TEST_POSTGRES_URL`) on PostgreSQL. A code text claimed again
//! because its claim ran out (the notifier died before recording the text as
//! sent) goes out with a new code, and the earlier code, which may have reached
//! the seeker, keeps working beside it until its own expiry. A new code the
//! seeker asks for replaces the old one.

use chrono::{DateTime, TimeDelta, Utc};

use crate::helpers::{self, TestDb, default_now};
use ridealong::domain::consent::{CODE_LIFETIME, ConfirmedVia, ConsentSource, code_hash};
use ridealong::ids::RequestId;
use ridealong::store::{ConfirmOutcome, Intake, NewCodeOutcome, Store};
use ridealong::tokens;

const LEASE: TimeDelta = TimeDelta::minutes(2);
const FIRST: &str = "135790";
const SECOND: &str = "246801";

/// A fresh store with one unconfirmed request (its first code text due now);
/// the request's id and when it was made.
async fn unconfirmed_request() -> (TestDb, Store, RequestId, DateTime<Utc>) {
    let db = TestDb::create().await;
    let store = db.connect().await;
    store.migrate().await.expect("migrations apply");
    let now = default_now();
    let intake = Intake {
        request: helpers::new_request("Ada Lovelace", "+12025550143"),
        manage_token_hash: tokens::hash(&tokens::generate(tokens::MANAGE_PREFIX)),
        consent_source: ConsentSource::Api,
        confirm_phone: true,
        now,
        cap: 3,
        since: now - TimeDelta::days(1),
    };
    let stored = store
        .insert_requests_together(&[intake])
        .await
        .expect("batch stored")
        .pop()
        .expect("one answer")
        .expect("request stored")
        .expect("under the cap");
    (db, store, stored.id, now)
}

/// Claims the request's code text at `now` with `code`, as the notifier does.
async fn claim(store: &Store, id: RequestId, code: &str, now: DateTime<Utc>) {
    assert_eq!(store.due_code_texts(now, 10).await.expect("due"), vec![id]);
    let jobs = store
        .claim_code_texts(
            &[(id, code_hash(id, code))],
            now,
            now + LEASE,
            now + CODE_LIFETIME,
        )
        .await
        .expect("claimed");
    assert_eq!(jobs.len(), 1, "the text is claimed");
}

async fn confirm(store: &Store, id: RequestId, code: &str, now: DateTime<Utc>) -> ConfirmOutcome {
    store
        .confirm_with_code(id, &code_hash(id, code), ConfirmedVia::Api, now)
        .await
        .expect("code checked")
}

/// At `at`, the first code is refused as wrong and the second confirms.
async fn only_the_second_code_confirms(store: &Store, id: RequestId, at: DateTime<Utc>) {
    assert!(matches!(
        confirm(store, id, FIRST, at).await,
        ConfirmOutcome::Wrong { .. }
    ));
    assert_eq!(
        confirm(store, id, SECOND, at).await,
        ConfirmOutcome::Confirmed
    );
}

#[tokio::test]
async fn a_code_sent_before_its_claim_ran_out_keeps_working_beside_the_new_one() {
    for confirm_with in [FIRST, SECOND] {
        let (_db, store, id, t0) = unconfirmed_request().await;
        // Claimed and texted; the notifier died before recording the text as sent.
        claim(&store, id, FIRST, t0).await;
        assert!(
            store
                .due_code_texts(t0 + LEASE / 2, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // The claim runs out and the text goes out again, with a new code.
        let later = t0 + LEASE + TimeDelta::minutes(1);
        claim(&store, id, SECOND, later).await;
        assert_eq!(
            confirm(&store, id, confirm_with, later + TimeDelta::minutes(1)).await,
            ConfirmOutcome::Confirmed,
            "{confirm_with}"
        );
    }
}

#[tokio::test]
async fn the_earlier_code_still_ends_at_its_own_expiry() {
    let (_db, store, id, t0) = unconfirmed_request().await;
    claim(&store, id, FIRST, t0).await;
    let later = t0 + LEASE + TimeDelta::minutes(1);
    claim(&store, id, SECOND, later).await;
    let after_first_expired = t0 + CODE_LIFETIME + TimeDelta::minutes(1);
    only_the_second_code_confirms(&store, id, after_first_expired).await;
}

#[tokio::test]
async fn a_new_code_the_seeker_asks_for_replaces_the_old() {
    let (_db, store, id, t0) = unconfirmed_request().await;
    claim(&store, id, FIRST, t0).await;
    store.code_texts_sent(&[id]).await.expect("recorded");
    let asked = t0 + TimeDelta::minutes(5);
    assert_eq!(
        store.request_new_code(id, asked).await.expect("asked"),
        NewCodeOutcome::Queued
    );
    claim(&store, id, SECOND, asked).await;
    only_the_second_code_confirms(&store, id, asked).await;
}

/// The code-text queue holds only requests still waiting for their code: each
/// way out of `unconfirmed` drops a text not sent yet and voids the codes.
#[tokio::test]
async fn confirming_canceling_or_expiring_drops_the_queued_text_and_voids_the_codes() {
    for way_out in ["confirmed", "canceled", "expired"] {
        let (_db, store, id, t0) = unconfirmed_request().await;
        claim(&store, id, FIRST, t0).await;
        // The text failed and waits for its retry, still queued.
        store
            .code_text_failed(id, "failed", Some(t0 + TimeDelta::minutes(1)))
            .await
            .expect("recorded");
        let later = t0 + TimeDelta::minutes(2);
        match way_out {
            "confirmed" => assert_eq!(
                confirm(&store, id, FIRST, later).await,
                ConfirmOutcome::Confirmed
            ),
            "canceled" => {
                store.cancel_request(id, later).await.expect("canceled");
            }
            _ => assert_eq!(
                store
                    .expire_unconfirmed(later, later)
                    .await
                    .expect("expired"),
                1
            ),
        }
        assert!(
            store
                .due_code_texts(later, 10)
                .await
                .expect("due")
                .is_empty(),
            "{way_out}: no code text is left to send"
        );
        let request = store.request(id).await.expect("read").expect("stored");
        assert!(!request.confirmation.text_queued, "{way_out}");
        assert_eq!(request.confirmation.code_expires_at, None, "{way_out}");
        assert_eq!(
            request.confirmation.codes_sent, 1,
            "{way_out}: the count stays"
        );
    }
}
