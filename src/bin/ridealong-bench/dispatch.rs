//! `ridealong-bench dispatch`: books calls that all start at one instant, serves
//! a fake Twilio over loopback that takes a set time per create-call, and
//! measures when each call reached it against its paced due time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tokio::net::TcpListener;

use ridealong::app::{App, AppConfig};
use ridealong::bench::workload::{self, RequestSpec};
use ridealong::clock::SystemClock;
use ridealong::domain::hours::{CallingHours, SeekerHours};
use ridealong::domain::matching::{Booking, MatchPolicy};
use ridealong::domain::schedule::Slot;
use ridealong::domain::weekly::{Weekdays, WeeklyRange};
use ridealong::domain::zones::AROUND_THE_GLOBE;
use ridealong::scheduler::{notifier, reconciler};
use ridealong::secret::Secret;
use ridealong::store::Store;
use ridealong::telephony::twilio::{TwilioClient, TwilioConfig};

use crate::DispatchArgs;
use crate::support::*;

/// When each create-call reached the fake provider, and for which call.
#[derive(Default)]
pub(crate) struct Arrivals {
    calls: Vec<(Instant, String)>,
}

#[derive(Clone)]
pub(crate) struct FakeProvider {
    arrivals: Arc<Mutex<Arrivals>>,
    count: tokio::sync::watch::Sender<usize>,
    latency: Duration,
    next_sid: Arc<AtomicUsize>,
}

pub(crate) async fn fake_create_call(
    State(fake): State<FakeProvider>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let arrived = Instant::now();
    let url = form.get("Url").cloned().unwrap_or_default();
    let count = {
        let mut arrivals = fake.arrivals.lock().expect("arrivals lock");
        arrivals.calls.push((arrived, url));
        arrivals.calls.len()
    };
    fake.count.send_replace(count);
    tokio::time::sleep(fake.latency).await;
    let sid = format!("CA{:032x}", fake.next_sid.fetch_add(1, Ordering::Relaxed));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "sid": sid, "status": "queued" })),
    )
}

pub(crate) async fn fake_send_sms(
    State(fake): State<FakeProvider>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    let sid = format!("SM{:032x}", fake.next_sid.fetch_add(1, Ordering::Relaxed));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "sid": sid, "status": "queued" })),
    )
}

pub(crate) async fn dispatch(args: DispatchArgs) -> anyhow::Result<()> {
    let database_url = args.database_url.clone();
    on_scratch_db(database_url.as_deref(), |db| run(args, db)).await
}

const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
const AUTH_TOKEN: &str = "bench-auth-token";

async fn run(args: DispatchArgs, db: Arc<ScratchDb>) -> anyhow::Result<()> {
    let instances = usize::from(args.instances);
    println!(
        "bench dispatch: {} calls due at one instant, CPS {}, provider takes {} ms per create-call, {}{}",
        args.calls,
        args.cps,
        args.latency_ms,
        db.backend(),
        if instances > 1 {
            format!(", {instances} instances")
        } else {
            String::new()
        }
    );
    let (count, mut counted) = tokio::sync::watch::channel(0usize);
    let fake = FakeProvider {
        arrivals: Arc::default(),
        count,
        latency: Duration::from_millis(args.latency_ms),
        next_sid: Arc::default(),
    };
    let router = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"),
            post(fake_create_call),
        )
        .route(
            &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"),
            post(fake_send_sms),
        )
        .with_state(fake.clone());
    let (api_base, fake_server) = match &args.provider_url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let fake_base = format!("http://{}", listener.local_addr()?);
            let server = tokio::spawn(async move { axum::serve(listener, router).await });
            (fake_base, Some(server))
        }
    };

    let store = db.seeding_store().await?;
    let now = Utc::now();
    let mentors = seed_mentors(&store, &workload::mentors(args.calls, 1), 1_000_000, false).await?;
    let lead = TimeDelta::milliseconds((args.lead_secs * 1000.0) as i64);
    let seekers = free_every_day(workload::requests(args.calls, now, 2), now, lead);
    let requests = seed_requests(&store, &seekers).await?;
    store.close().await;
    let store = db.store().await?;
    let starts_at = (Utc::now() + lead)
        .duration_round_up(TimeDelta::seconds(1))
        .unwrap_or(Utc::now() + lead);
    let slot = Slot {
        starts_at,
        ends_at: starts_at + TimeDelta::minutes(15),
    };
    let bookings: Vec<Booking> = mentors
        .iter()
        .zip(&requests)
        .map(|(&mentor_id, &request_id)| Booking {
            request_id,
            mentor_id,
            slot,
        })
        .collect();
    let booked_at = Utc::now();
    let booked = store.book(&bookings, booked_at).await?;
    let due = Instant::now() + (starts_at - Utc::now()).to_std().unwrap_or_default();

    // One instance runs in this process; several are `ridealong serve`
    // processes on the one database, dialing the same fake.
    let dialing = if instances == 1 {
        Dialing::InProcess(Box::new(
            start_in_process(store, &api_base, args.cps).await?,
        ))
    } else {
        store.close().await;
        let (servers, ready) = start_served(&db, instances, &api_base, args.cps).await?;
        Dialing::Served(servers, ready)
    };
    if dialing.started_after(due) {
        anyhow::bail!("the instances started after the calls were due: give them more --lead-secs");
    }
    let expected = booked.len();
    let pacing = Duration::from_secs(1) / args.cps.max(1);
    let window = due.saturating_duration_since(Instant::now())
        + pacing * expected as u32
        + Duration::from_secs(30);
    let bar = progress(expected as u64, "dialed");
    let waiting = async {
        loop {
            let seen = *counted.borrow_and_update();
            bar.set_position(seen as u64);
            if seen >= expected {
                break;
            }
            if counted.changed().await.is_err() {
                break;
            }
        }
    };
    let finished = if fake_server.is_some() {
        tokio::time::timeout(window, waiting).await.is_ok()
    } else {
        // The stand-in is asked afterwards; wait out the burst's paced length.
        drop(waiting);
        tokio::time::sleep(window - Duration::from_secs(25)).await;
        true
    };
    bar.finish_and_clear();
    // Let in-flight placements answer, so a doubled dial would show up too.
    tokio::time::sleep(Duration::from_millis(args.latency_ms) + pacing * 5).await;
    dialing.stop().await;

    let arrivals = match fake_server {
        Some(server) => {
            server.abort();
            std::mem::take(&mut fake.arrivals.lock().expect("arrivals lock").calls)
        }
        None => standin_arrivals(&api_base, booked_at, starts_at, due).await?,
    };
    report_dispatch(&arrivals, due, pacing, expected, finished);
    Ok(())
}

/// The instances placing the calls.
enum Dialing {
    /// The app in this process.
    InProcess(Box<App>),
    /// `ridealong serve` processes, and when the last of them answered.
    Served(Vec<Served>, Instant),
}

impl Dialing {
    /// Whether the instances were not all up by `due`.
    fn started_after(&self, due: Instant) -> bool {
        match self {
            Dialing::InProcess(_) => false,
            Dialing::Served(_, ready) => *ready > due,
        }
    }

    /// Prints the instances' memory and stops them.
    async fn stop(self) {
        match self {
            Dialing::InProcess(app) => {
                print_memory("process memory", std::process::id());
                app.stop().await;
            }
            Dialing::Served(servers, _) => {
                let pids: Vec<u32> = servers.iter().filter_map(Served::pid).collect();
                print_memories("serve memory", &pids);
            }
        }
    }
}

/// The app in this process on `store`, its Twilio client pointed at `api_base`.
async fn start_in_process(store: Store, api_base: &str, cps: u32) -> anyhow::Result<App> {
    let provider = TwilioClient::new(TwilioConfig {
        api_base: api_base.to_owned(),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: Secret::new(AUTH_TOKEN),
    })?;
    App::start(
        store,
        AppConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            admin_token: None,
            policy: MatchPolicy::default(),
            // The harness writes its bookings itself; it measures dialing.
            reminder_lead: TimeDelta::zero(),
            default_region: None,
            match_interval: Duration::from_secs(3600),
            reconcile_interval: reconciler::ROUND_INTERVAL,
            notify_interval: notifier::INTERVAL,
            provider: Arc::new(provider),
            public_url: None,
            from_number: ridealong::config::SIMULATED_FROM_NUMBER.to_owned(),
            cps,
            limits: ridealong::web::limits::LimitSettings::default(),
            privacy: ridealong::config::PrivacySettings::default(),
            webhooks: None,
        },
        Arc::new(SystemClock),
    )
    .await
}

/// `instances` `ridealong serve` processes on `db`, each with its Twilio
/// client pointed at `api_base` and the account's `cps` between them (the
/// pacing is cluster wide), with no reminders: the harness measures dialing.
async fn start_served(
    db: &ScratchDb,
    instances: usize,
    api_base: &str,
    cps: u32,
) -> anyhow::Result<(Vec<Served>, Instant)> {
    let binary = ridealong_binary()?;
    let cps = cps.to_string();
    let env = [
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        (
            "TWILIO_FROM_NUMBER",
            ridealong::config::SIMULATED_FROM_NUMBER,
        ),
        ("TWILIO_API_BASE", api_base),
        ("RIDEALONG_CPS", cps.as_str()),
        ("RIDEALONG_REMINDER_MINUTES", "0"),
        // The fake never calls back: the webhooks' address goes unused.
        ("RIDEALONG_PUBLIC_URL", "http://bench.invalid"),
    ];
    let mut servers = Vec::with_capacity(instances);
    for instance in 0..instances {
        let log = db.path(&format!("serve-{instance}.log"));
        servers.push(
            Served::start_with(&binary, &db.url(), &log, &["--telephony", "twilio"], &env).await?,
        );
    }
    Ok((servers, Instant::now()))
}

/// `specs` as seekers free every day, in a zone where the next half hour after
/// `now` and `lead` lies inside calling hours: the dispatch run books them a call
/// a moment from now, which must be one they may take on any day at any hour.
pub(crate) fn free_every_day(
    specs: Vec<RequestSpec>,
    now: DateTime<Utc>,
    lead: TimeDelta,
) -> Vec<RequestSpec> {
    let (from, to) = (now, now + lead + TimeDelta::minutes(30));
    let every_day = |zone| {
        WeeklyRange::new(
            Weekdays::ALL,
            CallingHours::WIDEST.start(),
            CallingHours::WIDEST.end(),
            zone,
        )
        .expect("calling hours never start and end at the same time")
    };
    let zone = AROUND_THE_GLOBE
        .iter()
        .filter_map(|name| name.parse::<Tz>().ok())
        .find(|zone| {
            SeekerHours::new(*zone, vec![every_day(*zone)], CallingHours::WIDEST).permits(from, to)
        })
        .unwrap_or(chrono_tz::America::New_York);
    specs
        .into_iter()
        .map(|spec| RequestSpec {
            zone,
            availability: vec![every_day(zone)],
            ..spec
        })
        .collect()
}

/// What an outside stand-in recorded since `booked_at`: its arrival times (Unix
/// seconds on this machine's clock) placed on this process's monotonic clock
/// by their distance from `starts_at`, which is `due`.
pub(crate) async fn standin_arrivals(
    base: &str,
    booked_at: chrono::DateTime<Utc>,
    starts_at: chrono::DateTime<Utc>,
    due: Instant,
) -> anyhow::Result<Vec<(Instant, String)>> {
    #[derive(serde::Deserialize)]
    struct Arrival {
        at: f64,
        url: String,
    }
    let recorded: Vec<Arrival> = reqwest::get(format!("{base}/arrivals"))
        .await?
        .error_for_status()?
        .json()
        .await
        .context("reading the stand-in's /arrivals")?;
    let seconds = |instant: chrono::DateTime<Utc>| instant.timestamp_micros() as f64 / 1e6;
    Ok(recorded
        .into_iter()
        .filter(|arrival| arrival.at >= seconds(booked_at))
        .map(|arrival| {
            let offset = arrival.at - seconds(starts_at);
            let at = if offset >= 0.0 {
                due + Duration::from_secs_f64(offset)
            } else {
                due - Duration::from_secs_f64(-offset)
            };
            (at, arrival.url)
        })
        .collect())
}

pub(crate) fn report_dispatch(
    arrivals: &[(Instant, String)],
    due: Instant,
    pacing: Duration,
    expected: usize,
    finished: bool,
) {
    let mut by_time: Vec<&(Instant, String)> = arrivals.iter().collect();
    by_time.sort_by_key(|(arrived, _)| *arrived);
    let mut lateness: Vec<f64> = by_time
        .iter()
        .enumerate()
        .map(|(index, (arrived, _))| {
            let due_at = due + pacing * index as u32;
            if *arrived >= due_at {
                millis(*arrived - due_at)
            } else {
                -millis(due_at - *arrived)
            }
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (_, url) in arrivals {
        *seen.entry(url.as_str()).or_default() += 1;
    }
    let doubled = seen.values().filter(|&&times| times > 1).count();
    let early = lateness.iter().filter(|&&late| late < 0.0).count();
    let on_time = lateness.iter().filter(|&&late| late <= 250.0).count();
    println!(
        "{:<26} {} of {expected}{}",
        "calls reached provider",
        arrivals.len(),
        if finished { "" } else { " (timed out waiting)" }
    );
    println!(
        "{:<26} T + i/CPS, i = order of arrival",
        "due time of the i-th call"
    );
    print_percentiles("lateness", &mut lateness);
    println!(
        "{:<26} {on_time} of {} ({:.1}%)",
        "within 250 ms",
        arrivals.len(),
        100.0 * on_time as f64 / arrivals.len().max(1) as f64
    );
    println!("{:<26} {early}", "early");
    println!("{:<26} {doubled}", "doubled");
    let instants: Vec<Instant> = by_time.iter().map(|(arrived, _)| *arrived).collect();
    println!(
        "{:<26} {} calls (most in any 1 s)",
        "densest second",
        densest_second(&instants)
    );
}

/// The most of `sorted` arrivals inside any one-second span: what the provider
/// sees against the account's calls per second.
pub(crate) fn densest_second(sorted: &[Instant]) -> usize {
    let mut first = 0;
    let mut densest = 0;
    for (last, &arrived) in sorted.iter().enumerate() {
        while arrived.duration_since(sorted[first]) >= Duration::from_secs(1) {
            first += 1;
        }
        densest = densest.max(last + 1 - first);
    }
    densest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_densest_second_counts_arrivals_less_than_a_second_apart() {
        let start = Instant::now();
        let at = |millis: u64| start + Duration::from_millis(millis);
        assert_eq!(densest_second(&[]), 0);
        assert_eq!(densest_second(&[at(0)]), 1);
        // 0, 10, …, 990 ms: a hundred within one second; 1000 starts the next.
        let paced: Vec<Instant> = (0..=100).map(|n| at(n * 10)).collect();
        assert_eq!(densest_second(&paced), 100);
        let bunched = [at(0), at(600), at(700), at(800), at(1500)];
        assert_eq!(densest_second(&bunched), 4);
    }
}
