//! `ridealong-bench …` at tiny sizes, so the load harnesses keep working: each
//! runs to the end and prints the figures BENCHMARKS.md quotes. Timings are
//! printed, never asserted. With the test PostgreSQL server set, every harness
//! runs on it (`--database-url`), in a database of its own that it drops.

use std::process::{Command, Stdio};

use crate::helpers::POSTGRES_ENV;

/// Runs `ridealong-bench args…` on the tests' backend; returns stdout after
/// asserting success.
fn bench(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridealong-bench"));
    command.args(args);
    if let Ok(url) = std::env::var(POSTGRES_ENV)
        && !url.is_empty()
    {
        command.arg("--database-url").arg(url);
    }
    let output = command
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("ridealong-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "ridealong-bench {args:?} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn bench_matching_books_every_request_that_fits_and_prints_its_phases() {
    let out = bench(&["matching", "--requests", "60", "--mentors", "6"]);
    for line in [
        "plan (plan_bookings)",
        "matcher time (load+plan)",
        "persist (book_reminding)",
        "booked                     60 of 60 requests",
        "process memory",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}

#[test]
fn bench_intake_serves_drives_and_compares_with_a_bare_loop_on_its_backend() {
    let out = bench(&[
        "intake",
        "--connections",
        "2",
        "--duration-secs",
        "0.3",
        "--warmup-secs",
        "0",
    ]);
    for line in [
        "server memory, idle",
        " 0 errors",
        "throughput",
        "latency                    p50",
        "code texts",
        "later",
        "bare ",
        " loop ",
        "ratio",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}

#[test]
fn bench_dispatch_places_every_call_once_and_none_early() {
    // More calls than one round of claims (500) between reconciliations.
    let out = bench(&[
        "dispatch",
        "--calls",
        "520",
        "--cps",
        "1000",
        "--latency-ms",
        "5",
        "--lead-secs",
        "2",
    ]);
    for line in [
        "calls reached provider     520 of 520\n",
        "lateness                   p50",
        "early                      0\n",
        "doubled                    0\n",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}

#[test]
fn bench_intake_spreads_the_load_over_two_instances_on_one_database() {
    let out = bench(&[
        "intake",
        "--connections",
        "4",
        "--duration-secs",
        "0.3",
        "--warmup-secs",
        "0",
        "--instances",
        "2",
    ]);
    for line in [
        "2 instances",
        "server memory, idle (1)",
        "server memory, idle (2)",
        " 0 errors",
        "code texts",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}

#[test]
fn bench_dispatch_from_two_served_instances_places_every_call_once_and_none_early() {
    let out = bench(&[
        "dispatch",
        "--calls",
        "60",
        "--cps",
        "200",
        "--latency-ms",
        "5",
        "--lead-secs",
        "6",
        "--instances",
        "2",
    ]);
    for line in [
        "2 instances",
        "calls reached provider     60 of 60\n",
        "early                      0\n",
        "doubled                    0\n",
        "densest second",
        "serve memory (2)",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
}
