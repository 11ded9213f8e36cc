//! Booking guarantees at the store level, on SQLite and (with
//! `RIDEALONG_TEST_POSTGRES_URL`) on PostgreSQL:
//! - two matchers on separate pools racing over the same database never book a
//!   mentor's slot twice or a request twice, and every scheduled request has exactly
//!   one scheduled call;
//! - `Store::book` skips a booking whose slot is taken or whose request is no longer
//!   pending, and leaves nothing behind for it;
//! - a canceled call frees its slot, and `booked_calls` no longer counts it;
//! - a dial is logged once even when a callback brought its provider id first.
//!
//! "Now" is always Monday 2026-11-30 12:00 UTC (07:00 in New York), never the wall
//! clock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::helpers::{self, TestDb, at, default_now};
use ridealong::clock::ManualClock;
use ridealong::domain::matching::{Booking, MatchPolicy};
use ridealong::domain::mentor::{MentorInput, NewMentor, RangeInput, parse_window};
use ridealong::domain::schedule::Slot;
use ridealong::domain::status::{CallStatus, Outcome, RequestStatus};
use ridealong::ids::{CallId, MentorId, RequestId};
use ridealong::scheduler::matcher::{MatchReport, Matcher};
use ridealong::store::{CallFilter, CallRecord, CancelOutcome, CanceledCall, RequestFilter, Store};
use ridealong::tokens;

/// A distinct valid US number for every `n` below 2,000 (fictional 555-01xx lines
/// in twenty area codes).
fn phone(n: usize) -> String {
    const AREA_CODES: [u16; 20] = [
        201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
        225, 228,
    ];
    assert!(n < 2000, "phone numbers run out at 2000");
    format!("+1{}5550{}", AREA_CODES[n / 100], 100 + n % 100)
}

/// A migrated fresh database and a pool to it.
async fn fresh_store() -> (TestDb, Store) {
    let db = TestDb::create().await;
    let store = db.connect().await;
    store.migrate().await.expect("migrations apply");
    (db, store)
}

/// Registers a New York mentor with 15-minute calls; returns the id.
async fn add_mentor(store: &Store, name: &str, phone: &str, cap: Option<u32>) -> MentorId {
    let topics = ["Interviews".to_owned()];
    let mentor = NewMentor::parse(
        MentorInput {
            name,
            phone,
            timezone: "America/New_York",
            topics: &topics,
            call_minutes: None,
            max_calls_per_window: cap,
        },
        None,
    )
    .expect("valid mentor");
    let token = tokens::generate(tokens::MENTOR_PREFIX);
    store
        .insert_mentor(&mentor, &tokens::hash(&token), default_now())
        .await
        .expect("mentor stored")
        .id
}

/// Adds a window on `weekdays` from `start` to `end` in New York.
async fn add_window(store: &Store, mentor_id: MentorId, weekdays: &[&str], start: &str, end: &str) {
    let weekdays: Vec<String> = weekdays.iter().map(|day| (*day).to_owned()).collect();
    let window = parse_window(
        RangeInput {
            weekdays: &weekdays,
            start,
            end,
            timezone: None,
        },
        chrono_tz::America::New_York,
        15,
    )
    .expect("valid window");
    store
        .insert_window(mentor_id, &window, default_now())
        .await
        .expect("window stored");
}

/// Stores a pending New York request with no stated availability, made at
/// `created_at`; returns the id.
async fn add_request(store: &Store, phone: &str, created_at: DateTime<Utc>) -> RequestId {
    let request = helpers::new_request("Ada", phone);
    let token = tokens::generate(tokens::MANAGE_PREFIX);
    store
        .insert_request(
            &request,
            RequestStatus::Pending,
            &tokens::hash(&token),
            created_at,
        )
        .await
        .expect("request stored")
        .id
}

/// The 15-minute slot starting at `start` (RFC 3339).
fn slot(start: &str) -> Slot {
    let starts_at = at(start);
    Slot {
        starts_at,
        ends_at: starts_at + TimeDelta::minutes(15),
    }
}

fn booking(request_id: RequestId, mentor_id: MentorId, slot: Slot) -> Booking {
    Booking {
        request_id,
        mentor_id,
        slot,
    }
}

/// Every call, by id.
async fn all_calls(store: &Store) -> Vec<CallRecord> {
    store
        .calls(CallFilter {
            limit: 100_000,
            ..CallFilter::default()
        })
        .await
        .expect("list calls")
}

/// The calls of request `request_id`.
async fn calls_of(store: &Store, request_id: RequestId) -> Vec<CallRecord> {
    all_calls(store)
        .await
        .into_iter()
        .filter(|call| call.request_id == request_id)
        .collect()
}

async fn request_status(store: &Store, id: RequestId) -> RequestStatus {
    store
        .request(id)
        .await
        .expect("read request")
        .expect("request exists")
        .status
}

fn is_live(status: CallStatus) -> bool {
    matches!(
        status,
        CallStatus::Scheduled | CallStatus::Dialing | CallStatus::InProgress
    )
}

/// Checks the booking invariants over the whole database; returns the number of
/// scheduled calls.
async fn assert_booking_invariants(store: &Store, context: &str) -> usize {
    let calls = all_calls(store).await;
    let requests = store
        .requests(RequestFilter {
            limit: 100_000,
            ..RequestFilter::default()
        })
        .await
        .expect("list requests");

    let mut holders: HashMap<(MentorId, DateTime<Utc>), Vec<CallId>> = HashMap::new();
    let mut live: HashMap<RequestId, Vec<CallId>> = HashMap::new();
    for call in &calls {
        if call.status != CallStatus::Canceled {
            holders
                .entry((call.mentor_id, call.starts_at))
                .or_default()
                .push(call.id);
        }
        if is_live(call.status) {
            live.entry(call.request_id).or_default().push(call.id);
        }
    }
    for ((mentor, starts_at), ids) in &holders {
        assert_eq!(
            ids.len(),
            1,
            "{context}: mentor {mentor} is booked twice at {starts_at}: calls {ids:?}"
        );
    }
    for (request, ids) in &live {
        assert_eq!(
            ids.len(),
            1,
            "{context}: request {request} has several live calls: {ids:?}"
        );
    }

    let status: HashMap<RequestId, RequestStatus> = requests
        .iter()
        .map(|request| (request.id, request.status))
        .collect();
    for request in &requests {
        let scheduled: Vec<&CallRecord> = calls
            .iter()
            .filter(|call| call.request_id == request.id && call.status == CallStatus::Scheduled)
            .collect();
        match request.status {
            RequestStatus::Scheduled => {
                assert_eq!(
                    scheduled.len(),
                    1,
                    "{context}: scheduled request {} has {} scheduled calls",
                    request.id,
                    scheduled.len()
                );
                assert_eq!(
                    request.call.as_ref().map(|call| call.id),
                    Some(scheduled[0].id),
                    "{context}: request {} shows the wrong call",
                    request.id
                );
            }
            RequestStatus::Pending => assert!(
                !live.contains_key(&request.id),
                "{context}: pending request {} has a live call",
                request.id
            ),
            _ => {}
        }
    }
    for call in calls
        .iter()
        .filter(|call| call.status == CallStatus::Scheduled)
    {
        assert_eq!(
            status.get(&call.request_id),
            Some(&RequestStatus::Scheduled),
            "{context}: call {} is scheduled but its request is not",
            call.id
        );
    }
    calls
        .iter()
        .filter(|call| call.status == CallStatus::Scheduled)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_matchers_racing_on_separate_pools_never_book_a_slot_or_a_request_twice() {
    let (db, first) = fresh_store().await;
    let second = db.connect().await;
    let now = default_now();
    let clock = Arc::new(ManualClock::new(now));
    let policy = MatchPolicy::default();
    let left = Matcher::new(first.clone(), clock.clone(), policy);
    let right = Matcher::new(second.clone(), clock, policy);

    // Each round adds a mentor whose Wednesday 10:00-10:45 New York window holds
    // three slots on each of the two Wednesdays in the horizon (2 and 9 December):
    // six slots, against eight new requests plus those left over from earlier
    // rounds. Earlier mentors are full, so each round books exactly six calls.
    const ROUNDS: usize = 20;
    const SLOTS_PER_ROUND: usize = 6;
    const REQUESTS_PER_ROUND: usize = 8;
    let mut next_phone = 0;
    for round in 0..ROUNDS {
        let mentor = add_mentor(&first, "Grace Hopper", &phone(1900 + round), None).await;
        add_window(&first, mentor, &["wed"], "10:00", "10:45").await;
        for _ in 0..REQUESTS_PER_ROUND {
            let made = now - TimeDelta::days(1) + TimeDelta::seconds(next_phone as i64);
            add_request(&first, &phone(next_phone), made).await;
            next_phone += 1;
        }

        let (a, b) = tokio::join!(left.run_once(), right.run_once());
        let context = format!("round {round}");
        let a: MatchReport = a.unwrap_or_else(|error| panic!("{context}: first: {error:#}"));
        let b: MatchReport = b.unwrap_or_else(|error| panic!("{context}: second: {error:#}"));
        assert_eq!(
            a.booked + b.booked,
            SLOTS_PER_ROUND,
            "{context}: the two runs together fill the new mentor's slots: {a:?} {b:?}"
        );
        let scheduled = assert_booking_invariants(&first, &context).await;
        assert_eq!(scheduled, SLOTS_PER_ROUND * (round + 1), "{context}");

        let mentor_calls = first
            .calls(CallFilter {
                mentor_id: Some(mentor),
                limit: 100,
                ..CallFilter::default()
            })
            .await
            .expect("list calls");
        let starts: HashSet<DateTime<Utc>> =
            mentor_calls.iter().map(|call| call.starts_at).collect();
        let expected: HashSet<DateTime<Utc>> = [
            "2026-12-02T15:00:00Z",
            "2026-12-02T15:15:00Z",
            "2026-12-02T15:30:00Z",
            "2026-12-09T15:00:00Z",
            "2026-12-09T15:15:00Z",
            "2026-12-09T15:30:00Z",
        ]
        .into_iter()
        .map(at)
        .collect();
        assert_eq!(starts, expected, "{context}: the new mentor's calls");
    }

    let pending = first
        .requests(RequestFilter {
            status: Some(RequestStatus::Pending),
            limit: 100_000,
            ..RequestFilter::default()
        })
        .await
        .expect("list requests");
    assert_eq!(
        pending.len(),
        ROUNDS * (REQUESTS_PER_ROUND - SLOTS_PER_ROUND)
    );
    second.close().await;
    first.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_booking_one_slot_for_different_requests_at_once_book_it_once() {
    let (db, first) = fresh_store().await;
    let second = db.connect().await;
    let now = default_now();
    let mentor = add_mentor(&first, "Grace Hopper", &phone(1999), None).await;

    for round in 0..20 {
        let left_request = add_request(&first, &phone(2 * round), now).await;
        let right_request = add_request(&first, &phone(2 * round + 1), now).await;
        let starts_at = at("2026-12-01T15:00:00Z") + TimeDelta::minutes(15 * round as i64);
        let taken = Slot {
            starts_at,
            ends_at: starts_at + TimeDelta::minutes(15),
        };
        let left = [booking(left_request, mentor, taken)];
        let right = [booking(right_request, mentor, taken)];
        let (a, b) = tokio::join!(first.book(&left, now), second.book(&right, now));
        let (a, b) = (a.expect("first book"), b.expect("second book"));
        assert_eq!(
            a.len() + b.len(),
            1,
            "round {round}: exactly one booking wins: {a:?} {b:?}"
        );
        let (winner, loser) = if a.is_empty() {
            (right_request, left_request)
        } else {
            (left_request, right_request)
        };
        assert_eq!(
            request_status(&first, winner).await,
            RequestStatus::Scheduled
        );
        assert_eq!(request_status(&first, loser).await, RequestStatus::Pending);
        assert!(calls_of(&first, loser).await.is_empty(), "round {round}");
        assert_booking_invariants(&first, &format!("round {round}")).await;
    }
    second.close().await;
    first.close().await;
}

#[tokio::test]
async fn booking_one_slot_twice_books_the_first_request_and_leaves_the_second_pending() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    let mentor = add_mentor(&store, "Grace Hopper", &phone(1999), None).await;
    let first = add_request(&store, &phone(0), now).await;
    let second = add_request(&store, &phone(1), now).await;
    let taken = slot("2026-12-01T15:00:00Z");

    let booked = store
        .book(
            &[
                booking(first, mentor, taken),
                booking(second, mentor, taken),
            ],
            now,
        )
        .await
        .expect("book");
    assert_eq!(booked.len(), 1, "{booked:?}");

    let calls = all_calls(&store).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, booked[0]);
    assert_eq!(calls[0].request_id, first);
    assert_eq!(calls[0].mentor_id, mentor);
    assert_eq!(calls[0].starts_at, taken.starts_at);
    assert_eq!(calls[0].ends_at, taken.ends_at);
    assert_eq!(calls[0].status, CallStatus::Scheduled);
    assert_eq!(
        request_status(&store, first).await,
        RequestStatus::Scheduled
    );

    let loser = store.request(second).await.expect("read").expect("exists");
    assert_eq!(loser.status, RequestStatus::Pending);
    assert!(loser.call.is_none());
    assert_eq!(
        loser.updated_at, loser.created_at,
        "the skipped booking changed nothing"
    );

    // A later batch for the same slot books nothing either.
    let again = store
        .book(&[booking(second, mentor, taken)], now)
        .await
        .expect("book");
    assert!(again.is_empty());
    assert_eq!(request_status(&store, second).await, RequestStatus::Pending);
    assert_eq!(all_calls(&store).await.len(), 1);

    let detail = store.call(booked[0]).await.expect("read").expect("exists");
    let kinds: Vec<&str> = detail
        .events
        .iter()
        .map(|event| event.kind.as_str())
        .collect();
    assert_eq!(kinds, ["booked"]);
}

#[tokio::test]
async fn booking_a_request_that_is_no_longer_pending_does_nothing() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    let mentor = add_mentor(&store, "Grace Hopper", &phone(1999), None).await;

    let withdrawn = add_request(&store, &phone(0), now).await;
    assert_eq!(
        store.cancel_request(withdrawn, now).await.expect("cancel"),
        CancelOutcome::Canceled { call: None }
    );
    let booked = store
        .book(
            &[booking(withdrawn, mentor, slot("2026-12-01T15:00:00Z"))],
            now,
        )
        .await
        .expect("book");
    assert!(booked.is_empty(), "{booked:?}");
    assert!(all_calls(&store).await.is_empty());
    assert_eq!(
        request_status(&store, withdrawn).await,
        RequestStatus::Canceled
    );

    // A request booked already is not booked into a second slot.
    let scheduled = add_request(&store, &phone(1), now).await;
    let first = store
        .book(
            &[booking(scheduled, mentor, slot("2026-12-01T15:15:00Z"))],
            now,
        )
        .await
        .expect("book");
    assert_eq!(first.len(), 1);
    let second = store
        .book(
            &[booking(scheduled, mentor, slot("2026-12-01T15:30:00Z"))],
            now,
        )
        .await
        .expect("book");
    assert!(second.is_empty(), "{second:?}");
    let calls = calls_of(&store, scheduled).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].starts_at, at("2026-12-01T15:15:00Z"));

    // The slot the skipped booking wanted is still free.
    let other = add_request(&store, &phone(2), now).await;
    let taken = store
        .book(&[booking(other, mentor, slot("2026-12-01T15:30:00Z"))], now)
        .await
        .expect("book");
    assert_eq!(taken.len(), 1);
}

#[tokio::test]
async fn a_canceled_call_frees_its_slot_for_another_request() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    let later = now + TimeDelta::minutes(5);
    let mentor = add_mentor(&store, "Grace Hopper", &phone(1999), None).await;
    let first = add_request(&store, &phone(0), now).await;
    let second = add_request(&store, &phone(1), now).await;
    let freed = slot("2026-12-01T15:00:00Z");

    let booked = store
        .book(&[booking(first, mentor, freed)], now)
        .await
        .expect("book");
    assert_eq!(booked.len(), 1);
    assert_eq!(
        store.cancel_request(first, later).await.expect("cancel"),
        CancelOutcome::Canceled {
            call: Some(CanceledCall {
                id: booked[0],
                was: CallStatus::Scheduled,
                provider_call_sid: None,
            })
        }
    );
    let canceled = store.call(booked[0]).await.expect("read").expect("exists");
    assert_eq!(canceled.call.status, CallStatus::Canceled);
    assert_eq!(canceled.call.outcome, Some(Outcome::Canceled));
    let kinds: Vec<&str> = canceled
        .events
        .iter()
        .map(|event| event.kind.as_str())
        .collect();
    assert_eq!(kinds, ["booked", "canceled"]);

    let rebooked = store
        .book(&[booking(second, mentor, freed)], later)
        .await
        .expect("book");
    assert_eq!(rebooked.len(), 1, "the freed slot can be booked again");
    assert_ne!(rebooked[0], booked[0]);
    let request = store.request(second).await.expect("read").expect("exists");
    assert_eq!(request.status, RequestStatus::Scheduled);
    assert_eq!(request.call.map(|call| call.id), Some(rebooked[0]));
    let canceled_request = store.request(first).await.expect("read").expect("exists");
    assert_eq!(canceled_request.status, RequestStatus::Canceled);
    assert!(canceled_request.call.is_none());
    assert_booking_invariants(&store, "after rebooking").await;
}

#[tokio::test]
async fn the_matcher_offers_a_canceled_calls_slot_to_the_next_pending_request() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    // One Wednesday inside a 7-day horizon, one call per occurrence: one slot,
    // Wednesday 2 December 10:00 New York (15:00 UTC).
    let policy = MatchPolicy {
        horizon: TimeDelta::days(7),
        ..MatchPolicy::default()
    };
    let mentor = add_mentor(&store, "Grace Hopper", &phone(1999), Some(1)).await;
    add_window(&store, mentor, &["wed"], "10:00", "10:45").await;
    let first = add_request(&store, &phone(0), now - TimeDelta::hours(2)).await;
    let second = add_request(&store, &phone(1), now - TimeDelta::hours(1)).await;
    let clock = ManualClock::new(now);
    let matcher = Matcher::new(store.clone(), Arc::new(clock.clone()), policy);

    let report = matcher.run_once().await.expect("matcher runs");
    assert_eq!((report.pending, report.booked), (2, 1), "{report:?}");
    assert_eq!(
        request_status(&store, first).await,
        RequestStatus::Scheduled
    );
    assert_eq!(request_status(&store, second).await, RequestStatus::Pending);

    clock.advance(TimeDelta::minutes(10));
    store
        .cancel_request(first, now + TimeDelta::minutes(10))
        .await
        .expect("cancel");
    let report = matcher.run_once().await.expect("matcher runs");
    assert_eq!((report.pending, report.booked), (1, 1), "{report:?}");
    let calls = calls_of(&store, second).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].starts_at, at("2026-12-02T15:00:00Z"));
    assert_eq!(calls[0].status, CallStatus::Scheduled);
    assert_booking_invariants(&store, "after the matcher rebooked").await;
}

#[tokio::test]
async fn booked_calls_leave_out_canceled_calls_and_respect_the_range_ends() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    let grace = add_mentor(&store, "Grace Hopper", &phone(1998), None).await;
    let alan = add_mentor(&store, "Alan Turing", &phone(1999), None).await;
    let kept = add_request(&store, &phone(0), now).await;
    let dropped = add_request(&store, &phone(1), now).await;
    let last = add_request(&store, &phone(2), now).await;
    let early = slot("2026-12-01T15:00:00Z");
    let middle = slot("2026-12-01T15:15:00Z");
    let late = slot("2026-12-01T15:30:00Z");
    let booked = store
        .book(
            &[
                booking(kept, grace, early),
                booking(dropped, grace, middle),
                booking(last, alan, late),
            ],
            now,
        )
        .await
        .expect("book");
    assert_eq!(booked.len(), 3);
    let before = store
        .booked_calls(early.starts_at, late.ends_at)
        .await
        .expect("booked calls");
    assert_eq!(before.len(), 3);

    store.cancel_request(dropped, now).await.expect("cancel");
    let mut after: Vec<(MentorId, Slot)> = store
        .booked_calls(early.starts_at, late.ends_at)
        .await
        .expect("booked calls")
        .into_iter()
        .map(|call| (call.mentor_id, call.slot))
        .collect();
    after.sort_by_key(|(_, slot)| slot.starts_at);
    assert_eq!(after, vec![(grace, early), (alan, late)]);

    // Exactly the canceled call's span: the neighbours only touch its ends.
    let inside = store
        .booked_calls(middle.starts_at, middle.ends_at)
        .await
        .expect("booked calls");
    assert!(
        inside.is_empty(),
        "{:?}",
        inside.iter().map(|call| call.slot).collect::<Vec<_>>()
    );

    let starts = store
        .booked_starts(grace, early.starts_at, late.ends_at)
        .await
        .expect("booked starts");
    assert_eq!(starts, vec![early.starts_at]);
}

#[tokio::test]
async fn a_dial_is_logged_even_when_a_callback_brought_its_provider_id_first() {
    let (_db, store) = fresh_store().await;
    let now = default_now();
    let mentor = add_mentor(&store, "Grace Hopper", &phone(1999), None).await;
    let request = add_request(&store, &phone(0), now).await;
    let booked = store
        .book(
            &[booking(request, mentor, slot("2026-12-01T15:00:00Z"))],
            now,
        )
        .await
        .expect("book");
    let dialing_at = at("2026-12-01T15:00:00Z");
    let target = store
        .claim_next_due(dialing_at, TimeDelta::seconds(1), None)
        .await
        .expect("claim")
        .target()
        .expect("the scheduled call is claimed");

    // The provider's first status callback arrives before its answer to the
    // create request does.
    store
        .adopt_provider_sid(booked[0], "CA0000000000000000000000000000fast", dialing_at)
        .await
        .expect("adopt");
    let recorded = store
        .record_dialed(
            booked[0],
            target.attempt,
            "CA0000000000000000000000000000fast",
            dialing_at,
        )
        .await
        .expect("record");
    assert!(recorded, "the same id is recorded, not refused");
    let other = store
        .record_dialed(
            booked[0],
            target.attempt,
            "CA000000000000000000000000000other",
            dialing_at,
        )
        .await;
    assert!(
        !matches!(other, Ok(true)),
        "a different id never replaces the recorded one"
    );

    let detail = store.call(booked[0]).await.expect("read").expect("exists");
    assert_eq!(
        detail.call.provider_call_sid.as_deref(),
        Some("CA0000000000000000000000000000fast")
    );
    let kinds: Vec<&str> = detail
        .events
        .iter()
        .map(|event| event.kind.as_str())
        .collect();
    assert_eq!(kinds, ["booked", "dialing", "dialed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_claiming_at_once_share_one_calls_per_second_pace() {
    let (db, first) = fresh_store().await;
    let second = db.connect().await;
    let now = default_now();
    // Twelve calls, all due at 10:00 New York, with twelve mentors.
    let due = at("2026-12-01T15:00:00Z");
    let mut bookings = Vec::new();
    for n in 0..12 {
        let mentor = add_mentor(&first, "Grace Hopper", &phone(1900 + n), None).await;
        let request = add_request(&first, &phone(n), now).await;
        bookings.push(booking(request, mentor, slot("2026-12-01T15:00:00Z")));
    }
    let calls = first.book(&bookings, now).await.expect("book");
    assert_eq!(calls.len(), 12);

    // Both instances claim the next due call until none is left; each call is
    // claimed once, and the send times reserved are 100 ms apart (10 calls per
    // second) across both.
    let spacing = TimeDelta::milliseconds(100);
    let claim_all = |store: Store| async move {
        let mut won = Vec::new();
        while let Some(target) = store
            .claim_next_due(due, spacing, None)
            .await
            .expect("claim")
            .target()
        {
            won.push(target);
        }
        won
    };
    let (left, right) = tokio::join!(
        tokio::spawn(claim_all(first.clone())),
        tokio::spawn(claim_all(second.clone()))
    );
    let mut targets = left.expect("first");
    targets.extend(right.expect("second"));
    let claimed: HashSet<CallId> = targets.iter().map(|target| target.call_id).collect();
    assert_eq!(
        (targets.len(), claimed.len()),
        (12, 12),
        "each call claimed once"
    );
    let mut send_times: Vec<DateTime<Utc>> = targets.iter().map(|target| target.send_at).collect();
    send_times.sort();
    let expected: Vec<DateTime<Utc>> = (0..12).map(|n| due + spacing * n).collect();
    assert_eq!(send_times, expected);
    second.close().await;
    first.close().await;
}

#[tokio::test]
async fn one_instance_at_a_time_holds_the_matcher_lock() {
    let (db, first) = fresh_store().await;
    let second = db.connect().await;
    let held = first
        .try_lock_matcher()
        .await
        .expect("try")
        .expect("nobody holds it yet");
    let meanwhile = second.try_lock_matcher().await.expect("try");
    if db.is_postgres() {
        assert!(meanwhile.is_none(), "another instance must wait");
    } else {
        // One SQLite database serves one instance: there is nobody to exclude.
        assert!(meanwhile.is_some());
    }
    if let Some(lock) = meanwhile {
        lock.release().await.expect("release");
    }
    held.release().await.expect("release");
    let after = second
        .try_lock_matcher()
        .await
        .expect("try")
        .expect("free once released");
    after.release().await.expect("release");
    second.close().await;
    first.close().await;
}
