//! Settings from flags and environment variables (the names are part of the public
//! contract in DESIGN.md). Secrets are wrapped so `Debug` never prints them.

use std::net::SocketAddr;

use chrono::TimeDelta;
use clap::Args;

use crate::domain::concurrency::{LEGS_PER_CALL, calls_at_once};
use crate::domain::hours::CallingHours;
use crate::domain::matching::MatchPolicy;
use crate::domain::rest::RestPolicy;
use crate::scheduler::webhooks::WebhookConfig;
use crate::secret::Secret;

/// Where the data lives.
#[derive(Args, Clone, Debug)]
pub struct DatabaseArgs {
    /// `sqlite://path` (created on first run) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://ridealong.db",
        global = true
    )]
    pub database_url: String,
}

/// Parses the admin token, which must be at least 16 characters.
pub fn parse_admin_token(value: &str) -> Result<Secret, String> {
    if value.trim().len() < 16 {
        return Err("must be at least 16 characters".to_owned());
    }
    Ok(Secret::new(value.trim()))
}

/// Matching rules a deployment may tune.
#[derive(Args, Clone, Debug)]
pub struct PolicyArgs {
    /// Earliest a call is booked ahead of now, in minutes.
    #[arg(long, env = "RIDEALONG_MIN_NOTICE_MINUTES", default_value_t = 120)]
    pub min_notice_minutes: u32,
    /// How far ahead calls are booked, in days.
    #[arg(long, env = "RIDEALONG_HORIZON_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(1..=366))]
    pub horizon_days: u32,
    /// Seeker-local calling hours, inside 08:00-21:00.
    #[arg(long, env = "RIDEALONG_CALLING_HOURS", default_value = "08:00-21:00",
          value_parser = parse_calling_hours)]
    pub calling_hours: CallingHours,
    /// ISO 3166 region for national-format numbers when a time zone has no country
    /// (e.g. `US`).
    #[arg(long, env = "RIDEALONG_DEFAULT_REGION", value_parser = parse_region)]
    pub default_region: Option<String>,
    /// Calls the provider account may have live at once (Twilio: 2 without an
    /// approved customer profile, 3 with an Individual one); unset means no
    /// limit. A bridged call holds two, so matching never books more overlapping
    /// calls than half of it.
    #[arg(long, env = "RIDEALONG_MAX_CONCURRENT_CALLS", value_parser = parse_concurrent_calls)]
    pub max_concurrent_calls: Option<u32>,
    /// Minutes before a call that the seeker is texted a reminder (pulled back
    /// into calling hours); 0 turns reminders off.
    #[arg(long, env = "RIDEALONG_REMINDER_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub reminder_minutes: u32,
    /// Mentor-side misses in a row (`mentor_no_answer`, `mentor_declined`) after
    /// which a mentor rests: no new bookings, their booked calls go to others,
    /// until they say they are back.
    #[arg(long, env = "RIDEALONG_MENTOR_MISSES_BEFORE_REST", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub mentor_misses_before_rest: u32,
}

impl PolicyArgs {
    /// The matching policy these settings describe.
    pub fn match_policy(&self) -> MatchPolicy {
        MatchPolicy {
            min_notice: TimeDelta::minutes(i64::from(self.min_notice_minutes)),
            horizon: TimeDelta::days(i64::from(self.horizon_days)),
            calling_hours: self.calling_hours,
            calls_at_once: calls_at_once(self.max_concurrent_calls),
        }
    }

    /// How long before a call its seeker is reminded; zero: never.
    pub fn reminder_lead(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.reminder_minutes))
    }

    /// When a mentor who keeps missing calls rests.
    pub fn rest_policy(&self) -> RestPolicy {
        RestPolicy {
            misses_before_rest: self.mentor_misses_before_rest,
        }
    }
}

impl Default for PolicyArgs {
    fn default() -> Self {
        PolicyArgs {
            min_notice_minutes: 120,
            horizon_days: 14,
            calling_hours: CallingHours::WIDEST,
            default_region: None,
            max_concurrent_calls: None,
            reminder_minutes: 15,
            mentor_misses_before_rest: RestPolicy::default().misses_before_rest,
        }
    }
}

fn parse_calling_hours(text: &str) -> Result<CallingHours, String> {
    CallingHours::parse(text).map_err(|error| error.message)
}

fn parse_concurrent_calls(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(limit) if limit >= LEGS_PER_CALL => Ok(limit),
        Ok(_) => Err(format!(
            "must be at least {LEGS_PER_CALL}: a bridged call holds {LEGS_PER_CALL} provider calls"
        )),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

fn parse_region(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    code.parse::<phonenumber::country::Id>()
        .map(|_| code.clone())
        .map_err(|_| format!("'{text}' is not an ISO 3166 region code such as US or GB"))
}

/// Settings of `ridealong serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address the HTTP server listens on.
    #[arg(long, env = "RIDEALONG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Token for the admin API (at least 16 characters); without it the admin API
    /// answers 401 to everyone.
    #[arg(long, env = "RIDEALONG_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_admin_token)]
    pub admin_token: Option<Secret>,
    /// Seconds between matcher runs when nothing nudges it sooner.
    #[arg(long, env = "RIDEALONG_MATCH_INTERVAL_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub match_interval_seconds: u64,
    /// Also seed a demo mentor whose window opens in a minute or two and a demo
    /// seeker, to watch one simulated call end to end (needs simulated telephony;
    /// books without minimum notice).
    #[arg(long)]
    pub demo: bool,
    /// Matching rules.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Calls and texts.
    #[command(flatten)]
    pub telephony: TelephonyArgs,
    /// Abuse limits.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Consent and retention.
    #[command(flatten)]
    pub privacy: PrivacyArgs,
    /// Outbound webhooks.
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// Outbound webhooks (Standard Webhooks): where events are posted and the
/// secret they are signed with.
#[derive(Args, Clone, Debug)]
pub struct WebhookArgs {
    /// URL that `call.ended`, `request.updated` and `feedback.received` events
    /// are posted to; unset turns webhooks off.
    #[arg(long, env = "RIDEALONG_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Signing secret, `whsec_` and the base64 of 24-64 random bytes; needed
    /// with a webhook URL.
    #[arg(long, env = "RIDEALONG_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<Secret>,
}

impl WebhookArgs {
    /// The webhook settings, `None` when no URL is set; a URL without a valid
    /// secret is an error that names the setting (never its value).
    pub fn settings(&self) -> Result<Option<WebhookConfig>, String> {
        let Some(url) = self
            .webhook_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
        else {
            return Ok(None);
        };
        WebhookConfig::parse(url, self.webhook_secret.as_ref().map(Secret::expose)).map(Some)
    }
}

/// Consent and retention of personal data.
#[derive(Args, Clone, Debug)]
pub struct PrivacyArgs {
    /// Whether a new request waits, `unconfirmed`, until the seeker confirms the
    /// number with a texted code (or a YES reply). Turn it off only where numbers
    /// are confirmed some other way.
    #[arg(long, env = "RIDEALONG_CONFIRM_PHONE", default_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub confirm_phone: bool,
    /// Days after a request is finished (completed, canceled, unreachable,
    /// expired) that its seeker's personal data is erased.
    #[arg(long, env = "RIDEALONG_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,
}

impl PrivacyArgs {
    /// The settings these arguments describe.
    pub fn settings(&self) -> PrivacySettings {
        PrivacySettings {
            confirm_phone: self.confirm_phone,
            retention: TimeDelta::days(i64::from(self.retention_days)),
        }
    }
}

/// How the service treats seekers' personal data.
#[derive(Clone, Copy, Debug)]
pub struct PrivacySettings {
    /// New requests wait for the number to be confirmed.
    pub confirm_phone: bool,
    /// How long a finished request's personal data is kept.
    pub retention: TimeDelta,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings {
            confirm_phone: true,
            retention: TimeDelta::days(90),
        }
    }
}

/// Abuse limits of the HTTP server.
#[derive(Args, Clone, Debug)]
pub struct LimitArgs {
    /// Posts per minute one client IP may make to the routes that ask for calls,
    /// confirm phones or sign in; 0 turns the limit off.
    #[arg(long, env = "RIDEALONG_RATE_LIMIT_PER_MINUTE", default_value_t = 10)]
    pub rate_limit_per_minute: u32,
    /// Header your reverse proxy sets to the client's IP (e.g. `X-Forwarded-For`,
    /// whose last entry is used). Set it only behind such a proxy: clients can
    /// send any header they like.
    #[arg(long, env = "RIDEALONG_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Requests handled at once; more are answered 503 at once.
    #[arg(long, env = "RIDEALONG_MAX_IN_FLIGHT", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_in_flight: u64,
}

impl LimitArgs {
    /// The limits these arguments describe.
    pub fn settings(&self) -> crate::web::limits::LimitSettings {
        crate::web::limits::LimitSettings {
            per_ip_per_minute: std::num::NonZeroU32::new(self.rate_limit_per_minute),
            client_ip_header: self.client_ip_header.clone(),
            max_in_flight: usize::try_from(self.max_in_flight).unwrap_or(usize::MAX),
        }
    }
}

/// Which provider places the calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TelephonyKind {
    /// Plays every call in-process; no account needed.
    Simulated,
    /// Twilio's REST API, or a Twilio-compatible one at `TWILIO_API_BASE`.
    Twilio,
}

/// Telephony settings.
#[derive(Args, Clone, Debug)]
pub struct TelephonyArgs {
    /// `simulated` (default) or `twilio`.
    #[arg(long, env = "RIDEALONG_TELEPHONY", value_enum, default_value_t = TelephonyKind::Simulated)]
    pub telephony: TelephonyKind,
    /// Base URL the provider reaches this service at (webhook URLs and signature
    /// checks); default: the listening address.
    #[arg(long, env = "RIDEALONG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Twilio account SID.
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token (Basic-auth password and webhook signing key).
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<Secret>,
    /// The service number, E.164: caller ID of every call, sender of every text.
    #[arg(long, env = "TWILIO_FROM_NUMBER")]
    pub twilio_from_number: Option<String>,
    /// Twilio's API base URL, or a compatible provider's.
    #[arg(
        long,
        env = "TWILIO_API_BASE",
        default_value = "https://api.twilio.com"
    )]
    pub twilio_api_base: String,
    /// Most calls handed to the provider per second (the account's CPS).
    #[arg(long, env = "RIDEALONG_CPS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub cps: u32,
    /// The outcome every simulated call plays: completed, mentor_no_answer,
    /// mentor_declined, seeker_no_answer, seeker_busy, failed, seeker_voicemail
    /// (a voicemail picks up and never passes the screen),
    /// second_try_answered (every other call is missed at the screen and its
    /// second try in the same commute answered), seeker_calls_back (the
    /// seeker misses the call, rings the service number back and is put
    /// through), or follow_up_offered (a completed call, after which the mentor
    /// presses 1 to offer the seeker another call).
    #[arg(long, env = "RIDEALONG_SIMULATED_OUTCOME", default_value = "completed",
          value_parser = clap::builder::PossibleValuesParser::new(crate::telephony::simulated::SIMULATED_OUTCOMES))]
    pub simulated_outcome: String,
    /// How many times faster than real life simulated calls play.
    #[arg(long, env = "RIDEALONG_SIMULATED_SPEEDUP", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub simulated_speedup: u32,
}

/// The number simulated calls come from when `TWILIO_FROM_NUMBER` is unset
/// (Twilio's documented test number).
pub const SIMULATED_FROM_NUMBER: &str = "+15005550006";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_concurrent_call_limit_must_hold_one_bridged_call() {
        assert_eq!(parse_concurrent_calls("2"), Ok(2));
        assert_eq!(parse_concurrent_calls(" 3 "), Ok(3));
        let refused = parse_concurrent_calls("1").unwrap_err();
        assert!(refused.contains("at least 2"), "{refused}");
        assert!(parse_concurrent_calls("two").is_err());
    }
}
