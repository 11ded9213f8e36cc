//! Batched intake at the store level, on SQLite and (with
//! `RIDEALONG_TEST_POSTGRES_URL`) on PostgreSQL: a batch of new requests gives
//! each its own answer, exactly as storing each alone would (stored, the
//! number's daily cap reached, or a second open request for the number), and
//! concurrent callers of `RequestIntake` all get theirs.

use chrono::TimeDelta;

use crate::helpers::{self, TestDb, default_now};
use ridealong::domain::consent::ConsentSource;
use ridealong::domain::status::RequestStatus;
use ridealong::store::{
    Intake, RequestIntake, RequestRecord, Store, StoreError, StoreResult, WriteTurns,
};
use ridealong::tokens;

const CAP: i64 = 3;

fn intake(phone: &str, confirm_phone: bool) -> Intake {
    let now = default_now();
    Intake {
        request: helpers::new_request("Ada Lovelace", phone),
        manage_token_hash: tokens::hash(&tokens::generate(tokens::MANAGE_PREFIX)),
        consent_source: ConsentSource::Api,
        confirm_phone,
        now,
        cap: CAP,
        since: now - TimeDelta::days(1),
    }
}

async fn fresh_store() -> (TestDb, Store) {
    let db = TestDb::create().await;
    let store = db.connect().await;
    store.migrate().await.expect("migrations apply");
    (db, store)
}

async fn stored_for(store: &Store, phone: &str) -> usize {
    store
        .request_times_for_phone(phone, default_now() - TimeDelta::days(2))
        .await
        .expect("requests read")
        .len()
}

#[tokio::test]
async fn a_batch_answers_each_request_as_storing_it_alone_would() {
    let (_db, store) = fresh_store().await;
    let capped = "+12025550100";
    // The capped number made its three requests today (each canceled since).
    for hours in 1..=3 {
        let token = tokens::hash(&tokens::generate(tokens::MANAGE_PREFIX));
        store
            .insert_request(
                &helpers::new_request("Ada Lovelace", capped),
                RequestStatus::Canceled,
                &token,
                default_now() - TimeDelta::hours(hours),
            )
            .await
            .expect("earlier request stored");
    }
    let batch = [
        intake("+12025550101", true),
        intake("+12025550102", false),
        intake("+12025550101", true),
        intake(capped, true),
        intake("+12025550103", true),
    ];

    let answers = store
        .insert_requests_together(&batch)
        .await
        .expect("the batch commits");

    assert_eq!(answers.len(), batch.len());
    let stored = |answer: &StoreResult<Option<RequestRecord>>| {
        answer
            .as_ref()
            .expect("stored")
            .as_ref()
            .expect("under the cap")
            .clone()
    };
    let first = stored(&answers[0]);
    assert_eq!(first.status, RequestStatus::Unconfirmed);
    assert_eq!(first.manage_token_hash, batch[0].manage_token_hash);
    let second = stored(&answers[1]);
    assert_eq!(second.status, RequestStatus::Pending);
    assert!(
        matches!(answers[2], Err(StoreError::Conflict(_))),
        "a second open request for a number in the same batch is refused: {:?}",
        answers[2]
    );
    assert!(
        matches!(answers[3], Ok(None)),
        "the capped number is refused: {:?}",
        answers[3]
    );
    let last = answers[4]
        .as_ref()
        .expect("stored")
        .as_ref()
        .expect("under the cap");
    assert_eq!(last.phone, "+12025550103");

    assert_eq!(stored_for(&store, "+12025550101").await, 1);
    assert_eq!(stored_for(&store, capped).await, 3);
    let ids = [first.id, second.id, last.id];
    for (id, owned) in ids.into_iter().zip([&batch[0], &batch[1], &batch[4]]) {
        let read = store.request(id).await.expect("read").expect("stored");
        assert_eq!(read.manage_token_hash, owned.manage_token_hash);
        assert_eq!(read.phone, owned.request.phone.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_each_get_their_own_answer() {
    let (_db, store) = fresh_store().await;
    let intake_writer = RequestIntake::start(store.clone(), WriteTurns::for_store(&store));
    let mut callers = tokio::task::JoinSet::new();
    for n in 0..64 {
        let writer = intake_writer.clone();
        callers.spawn(async move {
            let phone = format!("+1212555{:04}", 100 + n);
            (phone.clone(), writer.insert(intake(&phone, true)).await)
        });
    }
    // Two at once for one number: one is stored, the other refused.
    for _ in 0..2 {
        let writer = intake_writer.clone();
        callers.spawn(async move {
            let phone = "+13125550100".to_owned();
            (phone.clone(), writer.insert(intake(&phone, true)).await)
        });
    }

    let mut ids = std::collections::HashSet::new();
    let (mut shared_stored, mut shared_refused) = (0, 0);
    while let Some(joined) = callers.join_next().await {
        let (phone, answer) = joined.expect("caller finished");
        match answer {
            Ok(Some(record)) => {
                assert_eq!(record.phone, phone);
                assert!(ids.insert(record.id), "ids are distinct");
                if phone == "+13125550100" {
                    shared_stored += 1;
                }
            }
            Err(StoreError::Conflict(_)) if phone == "+13125550100" => shared_refused += 1,
            other => panic!("{phone}: unexpected answer {other:?}"),
        }
    }
    assert_eq!((shared_stored, shared_refused), (1, 1));
    assert_eq!(ids.len(), 65);
}

/// An insert answers with the new request's record built from what it inserted
/// (the database returns only its id, hash and time): that record must be the
/// one a read of the request gives, field for field, on every insert path, with
/// the clock at a nanosecond the database cannot keep.
#[tokio::test]
async fn every_insert_answers_the_record_a_read_gives() {
    let (_db, store) = fresh_store().await;
    let at = |intake: Intake| Intake {
        now: intake.now + TimeDelta::nanoseconds(123_456_789),
        ..intake
    };
    let mut answered = Vec::new();
    for (phone, status) in [
        ("+12025550111", RequestStatus::Unconfirmed),
        ("+12025550112", RequestStatus::Pending),
    ] {
        let seeded = at(intake(phone, true));
        answered.push(
            store
                .insert_request(
                    &seeded.request,
                    status,
                    &seeded.manage_token_hash,
                    seeded.now,
                )
                .await
                .expect("seeded"),
        );
    }
    for (phone, confirm) in [("+12025550113", true), ("+12025550114", false)] {
        let alone = store
            .insert_request_within_cap(&at(intake(phone, confirm)))
            .await;
        answered.push(alone.expect("stored").expect("under the cap"));
    }
    let batch = [
        at(intake("+12025550115", true)),
        at(intake("+12025550116", false)),
    ];
    for answer in store
        .insert_requests_together(&batch)
        .await
        .expect("the batch commits")
    {
        answered.push(answer.expect("stored").expect("under the cap"));
    }
    let writer = RequestIntake::start(store.clone(), WriteTurns::for_store(&store));
    for (phone, confirm) in [("+12025550117", true), ("+12025550118", false)] {
        let written = writer.insert(at(intake(phone, confirm))).await;
        answered.push(written.expect("stored").expect("under the cap"));
    }

    assert_eq!(answered.len(), 8);
    for answer in answered {
        let read = store
            .request(answer.id)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(answer, read);
    }
}

/// SQLite only: the intake writer's connection leaves checkpoints to the task
/// beside it, which must still copy every commit into the database file, or the
/// write-ahead log would grow without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_writers_commits_are_checkpointed_beside_it() {
    let (db, store) = fresh_store().await;
    if db.is_postgres() {
        return;
    }
    let intake_writer = RequestIntake::start(store.clone(), WriteTurns::for_store(&store));
    // One at a time: a commit each.
    for n in 0..40 {
        let phone = format!("+1415555{:04}", 100 + n);
        let stored = intake_writer.insert(intake(&phone, true)).await;
        assert!(matches!(stored, Ok(Some(_))), "{phone}: {stored:?}");
    }

    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        intake_writer.log_checkpointed(),
    )
    .await
    .expect("the commits are checkpointed");

    // SQLite's own account, in the write-ahead log's index: the frames in the
    // log (`mxFrame`, at byte 16) are all copied back (`nBackfill`, at 96).
    let shm = std::fs::read(format!("{}-shm", db.sqlite_path().display())).expect("log index");
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().expect("four bytes"));
    let (frames, copied) = (word(16), word(96));
    assert!(frames > 0, "the requests went through the log");
    assert_eq!(
        copied, frames,
        "every frame in the log is in the database file"
    );
    assert_eq!(stored_for(&store, "+14155550139").await, 1);
}
