//! Criterion benchmarks of the pure domain code the matcher runs on: window
//! expansion (weekly ranges to occurrences to slots) and `plan_bookings` at 1k,
//! 10k and 100k pending requests (one mentor per ten requests, five windows each,
//! 14-day horizon). `cargo bench --bench matching`; CI only compiles them.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use ridealong::bench::workload;
use ridealong::domain::hours::CallingHours;
use ridealong::domain::matching::{MatchPolicy, plan_bookings};
use ridealong::ids::{MentorId, RequestId};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
        .expect("instant")
        .to_utc()
}

fn window_expansion(c: &mut Criterion) {
    let mentors = workload::mentors(100, 1);
    let (from, to) = (now(), now() + TimeDelta::days(14));
    let mut group = c.benchmark_group("window_expansion");
    group.throughput(Throughput::Elements(mentors.len() as u64));
    group.bench_function("occurrences_100_mentors_14_days", |b| {
        b.iter(|| {
            mentors
                .iter()
                .flat_map(|mentor| &mentor.windows)
                .map(|window| black_box(window.occurrences(from, to)).len())
                .sum::<usize>()
        });
    });
    let supply: Vec<_> = mentors
        .iter()
        .enumerate()
        .map(|(index, mentor)| mentor.supply(MentorId(index as i64 + 1)))
        .collect();
    group.bench_function("slots_100_mentors_14_days", |b| {
        b.iter(|| {
            supply
                .iter()
                .map(|mentor| black_box(mentor.schedule.slots(from, to)).len())
                .sum::<usize>()
        });
    });
    group.finish();
}

fn matching(c: &mut Criterion) {
    let policy = MatchPolicy::default();
    let mut group = c.benchmark_group("plan_bookings");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for requests in [1_000, 10_000, 100_000] {
        let open: Vec<_> = workload::requests(requests, now(), 2)
            .iter()
            .enumerate()
            .map(|(index, request)| request.open(RequestId(index as i64 + 1), CallingHours::WIDEST))
            .collect();
        let supply: Vec<_> = workload::mentors(requests / 10, 1)
            .iter()
            .enumerate()
            .map(|(index, mentor)| mentor.supply(MentorId(index as i64 + 1)))
            .collect();
        group.throughput(Throughput::Elements(requests as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(requests),
            &(open, supply),
            |b, (open, supply)| {
                b.iter(|| plan_bookings(now(), &policy, open, supply, &[]).len());
            },
        );
    }
    group.finish();
}

criterion_group!(benches, window_expansion, matching);
criterion_main!(benches);
