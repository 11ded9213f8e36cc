//! `ridealong-bench`: load harnesses that print the figures BENCHMARKS.md tracks,
//! kept out of the `ridealong` binary that runs in production. Each builds its
//! own throwaway SQLite database in a temporary directory, so it runs from a
//! clean checkout with nothing else set up; with `--database-url postgres://…`
//! it creates a throwaway database on that PostgreSQL server instead.
//!
//! - `ridealong-bench matching`: one matcher run over seeded requests and mentors.
//! - `ridealong-bench intake`: `POST /api/v1/requests` on a served instance.
//! - `ridealong-bench dispatch`: a burst of calls due at one instant.

mod dispatch;
mod intake;
mod matching;
mod support;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "ridealong-bench",
    about = "Load harnesses for ridealong (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

/// `ridealong-bench …`
#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Time one matcher run over seeded requests and mentors.
    Matching(MatchingArgs),
    /// Drive POST /api/v1/requests on a served instance with concurrent clients.
    Intake(IntakeArgs),
    /// Measure how punctually a burst of calls due at one instant reaches the provider.
    Dispatch(DispatchArgs),
}

/// `ridealong-bench matching`
#[derive(Args, Debug)]
pub struct MatchingArgs {
    /// Pending requests to seed.
    #[arg(long, default_value_t = 100_000)]
    pub requests: usize,
    /// Mentors to seed, each with five 45-minute windows (one per weekday).
    #[arg(long, default_value_t = 10_000)]
    pub mentors: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A PostgreSQL server (`postgres://…`) to run on, in a database created
    /// for the run and dropped after it; SQLite when unset.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// `ridealong-bench intake`
#[derive(Args, Debug)]
pub struct IntakeArgs {
    /// Concurrent client connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// Seconds of load before measuring (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup_secs: f64,
    /// The `ridealong` binary to serve with (default: the one beside this one).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// A PostgreSQL server (`postgres://…`) to run on, in a database created
    /// for the run and dropped after it; SQLite when unset.
    #[arg(long)]
    pub database_url: Option<String>,
    /// `ridealong serve` processes on the one database; the connections are
    /// spread over them in turn.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub instances: u16,
}

/// `ridealong-bench dispatch`
#[derive(Args, Debug)]
pub struct DispatchArgs {
    /// Calls due at the same instant.
    #[arg(long, default_value_t = 600)]
    pub calls: usize,
    /// Calls per second the provider account allows (RIDEALONG_CPS).
    #[arg(long, default_value_t = 50)]
    pub cps: u32,
    /// How long the fake provider takes to answer each create-call, in ms.
    #[arg(long, default_value_t = 200)]
    pub latency_ms: u64,
    /// Seconds from booking to the calls' start, for the service to settle.
    #[arg(long, default_value_t = 5.0)]
    pub lead_secs: f64,
    /// Dial an outside stand-in for Twilio at this base URL instead of the
    /// built-in fake, and read when each call reached it from its `GET
    /// /arrivals` (see benches/standin/twilio_calls.py); `--latency-ms` is then
    /// the stand-in's.
    #[arg(long)]
    pub provider_url: Option<String>,
    /// A PostgreSQL server (`postgres://…`) to run on, in a database created
    /// for the run and dropped after it; SQLite when unset.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Instances dialing from the one database. One runs in this process; more
    /// are `ridealong serve` processes, each with its Twilio client pointed at
    /// the fake, sharing the account's calls per second.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub instances: u16,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let run = match cli.command {
        BenchCommand::Matching(args) => matching::matching(args).await,
        BenchCommand::Intake(args) => intake::intake(args).await,
        BenchCommand::Dispatch(args) => dispatch::dispatch(args).await,
    };
    match run {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
