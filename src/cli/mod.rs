//! The command line: `serve`, `migrate`, and operator commands that work on the
//! database directly (readable tables by default, `--json` for scripts).
//!
//! Changes go through the same use cases as the API ([`crate::service`]), without a
//! matcher or a provider: a running service's matcher sees them on its next run.
//! The load harnesses are not here: they are the `ridealong-bench` binary.
//!
//! Longer than most modules because each subcommand's arguments and help texts
//! are declared here with clap; the work they do is in the service layer.

mod demo;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use crate::app::{App, AppConfig};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    DatabaseArgs, PolicyArgs, SIMULATED_FROM_NUMBER, ServeArgs, TelephonyArgs, TelephonyKind,
};
use crate::domain::mentor::{MentorInput, NewMentor, RangeInput, parse_window};
use crate::domain::status::{CallStatus, RequestStatus};
use crate::ids::{MentorId, RequestId};
use crate::scheduler::{notifier, reconciler};
use crate::service::requests::EraseError;
use crate::service::{Service, ServiceSettings};
use crate::store::{CallFilter, CancelOutcome, EraseOutcome, RequestFilter, Store};
use crate::telephony::Provider;
use crate::telephony::player::Pace;
use crate::telephony::simulated::SimulatedProvider;
use crate::telephony::twilio::{TwilioClient, TwilioConfig};
use crate::web::api::calls::CallView;
use crate::web::api::mentors::{CreatedMentor, MentorView, WindowView};
use crate::web::api::requests::RequestView;

/// ridealong: commute-time mentoring calls.
#[derive(Parser, Debug)]
#[command(name = "ridealong", version, about, long_about = None)]
pub struct Cli {
    /// Database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Log lines as JSON objects instead of text.
    #[arg(long, env = "RIDEALONG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate the database, then serve HTTP and run the matcher.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage mentors.
    #[command(subcommand)]
    Mentor(MentorCommand),
    /// Manage commute windows.
    #[command(subcommand)]
    Window(WindowCommand),
    /// Look at seekers' requests.
    #[command(subcommand)]
    Request(RequestCommand),
    /// Look at booked calls.
    #[command(subcommand)]
    Calls(CallsCommand),
}

/// `ridealong mentor …`
#[derive(Subcommand, Debug)]
pub enum MentorCommand {
    /// Register a mentor and print their API token (shown only once).
    Add(MentorAddArgs),
    /// List mentors.
    List(OutputArgs),
}

/// `ridealong window …`
#[derive(Subcommand, Debug)]
pub enum WindowCommand {
    /// Add a commute window to a mentor.
    Add(WindowAddArgs),
}

/// `ridealong request …`
#[derive(Subcommand, Debug)]
pub enum RequestCommand {
    /// List requests, oldest first.
    List(RequestListArgs),
    /// Erase a seeker's personal data for good (name, phone, topic, message,
    /// availability, call event details), canceling the request first if it is
    /// still open. Only anonymous counts remain.
    Erase(RequestEraseArgs),
}

/// `ridealong request erase`
#[derive(Args, Debug)]
pub struct RequestEraseArgs {
    /// The request's id.
    pub id: RequestId,
}

/// `ridealong calls …`
#[derive(Subcommand, Debug)]
pub enum CallsCommand {
    /// List calls.
    List(CallsListArgs),
}

/// Output choice shared by the operator commands.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ridealong mentor add`
#[derive(Args, Debug)]
pub struct MentorAddArgs {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Phone number (E.164, or national format in the zone's country).
    #[arg(long)]
    pub phone: String,
    /// IANA time zone, e.g. America/Los_Angeles.
    #[arg(long)]
    pub timezone: String,
    /// A topic the mentor can help with; repeat for several.
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// Call length in minutes (default 15).
    #[arg(long)]
    pub call_minutes: Option<u32>,
    /// Most calls per window occurrence (default: every slot that fits).
    #[arg(long)]
    pub max_calls_per_window: Option<u32>,
    /// Matching settings (for the default phone region).
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `ridealong window add`
#[derive(Args, Debug)]
pub struct WindowAddArgs {
    /// The mentor's id.
    #[arg(long)]
    pub mentor: MentorId,
    /// Weekdays, comma-separated: mon,tue,wed,thu,fri.
    #[arg(long, value_delimiter = ',')]
    pub weekdays: Vec<String>,
    /// Local start, HH:MM.
    #[arg(long)]
    pub start: String,
    /// Local end, HH:MM (earlier than start crosses midnight).
    #[arg(long)]
    pub end: String,
    /// IANA zone (default: the mentor's).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `ridealong request list`
#[derive(Args, Debug)]
pub struct RequestListArgs {
    /// Only this status (unconfirmed, pending, scheduled, completed, canceled,
    /// unreachable, expired).
    #[arg(long)]
    pub status: Option<RequestStatus>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `ridealong calls list`
#[derive(Args, Debug)]
pub struct CallsListArgs {
    /// Only this status (scheduled, dialing, in_progress, ended, canceled).
    #[arg(long)]
    pub status: Option<CallStatus>,
    /// Only this mentor's calls.
    #[arg(long)]
    pub mentor: Option<MentorId>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Most rows an operator listing prints.
const LIST_LIMIT: u32 = 1000;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Store::connect(&cli.database.database_url)
        .await
        .with_context(|| {
            format!(
                "opening the database ({})",
                redact_url(&cli.database.database_url)
            )
        })?;
    match command {
        Command::Serve(args) => serve(store, *args, clock).await,
        Command::Migrate => {
            store.migrate().await.context("migrating the database")?;
            eprintln!("database is up to date ({})", store.backend());
            Ok(())
        }
        command => {
            store.migrate().await.context("migrating the database")?;
            // No matcher or provider here: a running service's matcher sees the
            // changes on its next run, and a call already ringing learns it was
            // canceled at its next webhook.
            let service = Service::new(store.clone(), clock, ServiceSettings::default());
            let result = operate(&service, command).await;
            store.close().await;
            result
        }
    }
}

async fn serve(store: Store, args: ServeArgs, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let stop = shutdown_signal()?;
    if args.admin_token.is_none() {
        tracing::warn!("RIDEALONG_ADMIN_TOKEN is not set: the admin API answers 401 until it is");
    }
    if args.demo && args.telephony.telephony != TelephonyKind::Simulated {
        bail!("--demo calls made-up numbers, so it runs only with simulated telephony");
    }
    let (provider, from_number) = provider(&args.telephony)?;
    let webhooks = args.webhooks.settings().map_err(anyhow::Error::msg)?;
    if webhooks.is_none() && args.webhooks.webhook_secret.is_some() {
        tracing::warn!(
            "RIDEALONG_WEBHOOK_SECRET is set without RIDEALONG_WEBHOOK_URL: webhooks are off"
        );
    }
    let mut policy = args.policy.match_policy();
    if args.demo {
        // The demo call is a minute or two away; notice would push it to tomorrow.
        policy.min_notice = chrono::TimeDelta::zero();
    }
    let config = AppConfig {
        listen: args.listen,
        admin_token: args.admin_token,
        policy,
        reminder_lead: args.policy.reminder_lead(),
        rest: args.policy.rest_policy(),
        default_region: args.policy.default_region,
        match_interval: Duration::from_secs(args.match_interval_seconds),
        reconcile_interval: reconciler::ROUND_INTERVAL,
        notify_interval: notifier::INTERVAL,
        provider,
        public_url: given(&args.telephony.public_url),
        from_number,
        cps: args.telephony.cps,
        limits: args.limits.settings(),
        privacy: args.privacy.settings(),
        webhooks,
    };
    let app = App::start(store, config, clock.clone()).await?;
    if args.demo {
        let seeded = demo::seed(&app.state().store, clock.now()).await?;
        app.matcher().nudge();
        tracing::info!(
            demo.mentor_id = seeded.mentor_id.0,
            demo.request_id = seeded.request_id.0,
            demo.call_at = %seeded.call_at,
            demo.zone = %seeded.zone,
            "demo seeded: the mentor's window opens at the call time; watch the call play below"
        );
    }
    app.run_until(stop).await
}

/// The provider the settings ask for, and the service number.
fn provider(args: &TelephonyArgs) -> anyhow::Result<(Arc<dyn Provider>, String)> {
    match args.telephony {
        TelephonyKind::Simulated => {
            let script = SimulatedProvider::script_for(&args.simulated_outcome)
                .with_context(|| format!("unknown simulated outcome {}", args.simulated_outcome))?;
            let provider = SimulatedProvider::new(
                script,
                Pace::Realistic {
                    speedup: args.simulated_speedup,
                },
            );
            tracing::info!(
                simulated.outcome = %args.simulated_outcome,
                "telephony is simulated: calls play in-process and nobody's phone rings"
            );
            let from =
                given(&args.twilio_from_number).unwrap_or_else(|| SIMULATED_FROM_NUMBER.to_owned());
            Ok((Arc::new(provider), from))
        }
        TelephonyKind::Twilio => {
            let missing = |name: &str| anyhow::anyhow!("RIDEALONG_TELEPHONY=twilio needs {name}");
            let account_sid =
                given(&args.twilio_account_sid).ok_or_else(|| missing("TWILIO_ACCOUNT_SID"))?;
            let auth_token = args
                .twilio_auth_token
                .clone()
                .filter(|token| !token.expose().is_empty())
                .ok_or_else(|| missing("TWILIO_AUTH_TOKEN"))?;
            let from =
                given(&args.twilio_from_number).ok_or_else(|| missing("TWILIO_FROM_NUMBER"))?;
            if given(&args.public_url).is_none() {
                bail!(
                    "RIDEALONG_TELEPHONY=twilio needs RIDEALONG_PUBLIC_URL, the base URL Twilio reaches this service at"
                );
            }
            let client = TwilioClient::new(TwilioConfig {
                api_base: args.twilio_api_base.clone(),
                account_sid,
                auth_token,
            })?;
            Ok((Arc::new(client), from))
        }
    }
}

/// A setting that was given and is not blank (an empty environment variable
/// counts as not set).
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// Installs the SIGINT and SIGTERM handlers now, before the service announces
/// itself, so a signal arriving any time after start-up shuts it down cleanly; the
/// returned future resolves on the first of them.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("interrupted; shutting down"),
                _ = terminate.recv() => tracing::info!("terminated; shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("interrupted; shutting down");
        })
    }
}

async fn operate(service: &Service, command: Command) -> anyhow::Result<()> {
    let store = service.store();
    match command {
        Command::Mentor(MentorCommand::Add(args)) => {
            let mentor = NewMentor::parse(
                MentorInput {
                    name: &args.name,
                    phone: &args.phone,
                    timezone: &args.timezone,
                    topics: &args.topics,
                    call_minutes: args.call_minutes,
                    max_calls_per_window: args.max_calls_per_window,
                },
                args.policy.default_region.as_deref(),
            )?;
            let (record, token) = service.register_mentor(&mentor).await?;
            let created = CreatedMentor {
                mentor: MentorView::new(record, Vec::new(), Vec::new(), None),
                token,
            };
            if args.output.json {
                print_json(&created)
            } else {
                println!(
                    "mentor {} added: {}",
                    created.mentor.id, created.mentor.name
                );
                println!(
                    "API token (shown only now, keep it safe): {}",
                    created.token
                );
                Ok(())
            }
        }
        Command::Mentor(MentorCommand::List(output)) => {
            let rates = service.answer_rates().await?;
            let mut views = Vec::new();
            for mentor in store.mentors().await? {
                let windows = store.windows(mentor.id).await?;
                let pauses = store.pauses(mentor.id).await?;
                let rate = rates.get(&mentor.id).copied();
                views.push(MentorView::new(mentor, windows, pauses, rate));
            }
            if output.json {
                return print_json(&views);
            }
            print_table(
                [
                    "id",
                    "name",
                    "timezone",
                    "call min",
                    "max/window",
                    "windows",
                    "topics",
                ],
                views.iter().map(|mentor| {
                    vec![
                        mentor.id.to_string(),
                        mentor.name.clone(),
                        mentor.timezone.clone(),
                        mentor.call_minutes.to_string(),
                        mentor
                            .max_calls_per_window
                            .map_or("all".to_owned(), |cap| cap.to_string()),
                        mentor
                            .windows
                            .iter()
                            .map(describe_window)
                            .collect::<Vec<_>>()
                            .join("\n"),
                        mentor.topics.join(", "),
                    ]
                }),
            );
            Ok(())
        }
        Command::Window(WindowCommand::Add(args)) => {
            let Some(mentor) = store.mentor(args.mentor).await? else {
                bail!("there is no mentor {}", args.mentor);
            };
            let range = parse_window(
                RangeInput {
                    weekdays: &args.weekdays,
                    start: &args.start,
                    end: &args.end,
                    timezone: args.timezone.as_deref(),
                },
                mentor.timezone,
                mentor.call_minutes,
            )?;
            let window = WindowView::from(service.add_window(mentor.id, &range).await?);
            if args.output.json {
                print_json(&window)
            } else {
                println!(
                    "window {} added to mentor {}: {}",
                    window.id,
                    mentor.id,
                    describe_window(&window)
                );
                Ok(())
            }
        }
        Command::Request(RequestCommand::List(args)) => {
            let filter = RequestFilter {
                status: args.status,
                after_id: None,
                limit: LIST_LIMIT,
            };
            let requests: Vec<RequestView> = store
                .requests(filter)
                .await?
                .into_iter()
                .map(RequestView::from)
                .collect();
            if args.output.json {
                return print_json(&requests);
            }
            print_table(
                [
                    "id", "status", "attempts", "name", "timezone", "topic", "call",
                ],
                requests.iter().map(|request| {
                    vec![
                        request.id.to_string(),
                        request.status.to_string(),
                        request.attempts.to_string(),
                        request.name.clone(),
                        request.timezone.clone(),
                        request.topic.clone(),
                        request.call.as_ref().map_or(String::new(), |call| {
                            format!(
                                "#{} {} with {}",
                                call.id,
                                call.starts_at.to_rfc3339(),
                                call.mentor_name
                            )
                        }),
                    ]
                }),
            );
            Ok(())
        }
        Command::Request(RequestCommand::Erase(args)) => {
            let erasure = match service.erase_request(args.id).await {
                Ok(erasure) => erasure,
                Err(EraseError::NotFound) => bail!("no request {}", args.id),
                Err(EraseError::ReopenedMeanwhile) => bail!(
                    "request {} was reopened while being erased; run this again",
                    args.id
                ),
                Err(EraseError::Store(error)) => return Err(error.into()),
            };
            match erasure.withdrawn {
                CancelOutcome::Canceled { call: Some(call) }
                    if call.was != CallStatus::Scheduled =>
                {
                    println!(
                        "request {} was canceled while its call {} was {}; the call is told it was \
                     canceled at its next step (use the API's DELETE to hang up at the provider now)",
                        args.id, call.id, call.was
                    )
                }
                CancelOutcome::Canceled { .. } => println!("request {} canceled", args.id),
                CancelOutcome::NotFound
                | CancelOutcome::AlreadyCanceled
                | CancelOutcome::Finished(_) => {}
            }
            match erasure.erased {
                EraseOutcome::AlreadyErased => println!("request {} was erased before", args.id),
                _ => println!("request {}: personal data erased", args.id),
            }
            Ok(())
        }
        Command::Calls(CallsCommand::List(args)) => {
            let filter = CallFilter {
                status: args.status,
                mentor_id: args.mentor,
                after_id: None,
                limit: LIST_LIMIT,
            };
            let calls: Vec<CallView> = store
                .calls(filter)
                .await?
                .into_iter()
                .map(CallView::from)
                .collect();
            if args.output.json {
                return print_json(&calls);
            }
            print_table(
                [
                    "id",
                    "request",
                    "mentor",
                    "starts at (UTC)",
                    "status",
                    "outcome",
                    "talk s",
                ],
                calls.iter().map(|call| {
                    vec![
                        call.id.to_string(),
                        call.request_id.to_string(),
                        call.mentor_id.to_string(),
                        call.starts_at.format("%Y-%m-%d %H:%M").to_string(),
                        call.status.to_string(),
                        call.outcome
                            .map(|outcome| outcome.to_string())
                            .unwrap_or_default(),
                        call.talk_seconds
                            .map(|seconds| seconds.to_string())
                            .unwrap_or_default(),
                    ]
                }),
            );
            Ok(())
        }
        Command::Serve(_) | Command::Migrate => unreachable!("handled by run"),
    }
}

fn describe_window(window: &WindowView) -> String {
    format!(
        "{} {}-{} {}",
        window.weekdays.join(","),
        window.start,
        window.end,
        window.timezone
    )
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_table<const N: usize>(header: [&str; N], rows: impl Iterator<Item = Vec<String>>) {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(header);
    let mut count = 0;
    for row in rows {
        table.add_row(row);
        count += 1;
    }
    if count == 0 {
        println!("(none)");
    } else {
        println!("{table}");
    }
}

/// The URL without its password, for error messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
