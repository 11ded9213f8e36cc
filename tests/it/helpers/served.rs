//! A `ridealong serve` child process for tests of the binary: its stderr is read
//! on a thread that keeps every line and reports the address the server announces
//! in its JSON log, so tests wait for that line instead of polling the port.
//!
//! The binary runs on the machine's clock, so a call it should place at once goes
//! into a [`WindowOpeningNow`], which holds on any day, at any hour and in any
//! daylight-saving state.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::fake_twilio::FakeTwilio;
use super::{ADMIN_TOKEN, SERVICE_NUMBER};
use ridealong::domain::hours::{CallingHours, SeekerHours};
use ridealong::domain::weekly::{LocalTime, Weekdays, WeeklyRange};

/// The binary as `serve` against Twilio at `fake`, on `database_url`, with a
/// clean environment: no minimum notice, no rate limit, no phone confirmation
/// (requests are pending at once; tests of confirmation set it back), the admin
/// token set.
pub fn serve_with_fake_twilio(database_url: &str, fake: &FakeTwilio, public_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridealong"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("RIDEALONG_") || name.starts_with("TWILIO_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("DATABASE_URL", database_url)
        .env("RIDEALONG_PUBLIC_URL", public_url)
        .env("RIDEALONG_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RIDEALONG_MIN_NOTICE_MINUTES", "0")
        .env("RIDEALONG_RATE_LIMIT_PER_MINUTE", "0")
        .env("RIDEALONG_CONFIRM_PHONE", "false")
        .env("RIDEALONG_TELEPHONY", "twilio")
        .env("TWILIO_API_BASE", fake.base_url())
        .env("TWILIO_ACCOUNT_SID", fake.account_sid())
        .env("TWILIO_AUTH_TOKEN", fake.auth_token())
        .env("TWILIO_FROM_NUMBER", SERVICE_NUMBER);
    command
}

/// Zones spread around the globe: at any instant, half an hour ahead lies inside
/// 08:00–21:00 local in at least one of them (whatever daylight-saving does).
const ZONES_AROUND_THE_GLOBE: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Pacific/Honolulu",
];

/// A 30-minute commute window opening at a minute that is now, in a zone where a
/// call in it is inside calling hours, for tests of the real binary, which runs on
/// the machine's clock: a seeker in that zone who gives [`every_day`] as
/// availability can be called in it on any day of the week, at any hour, in any
/// daylight-saving state.
pub struct WindowOpeningNow {
    /// The zone of the mentor, the window and the seeker.
    pub zone: Tz,
    /// When the window opens: the first slot's start.
    pub opens: DateTime<Tz>,
}

impl WindowOpeningNow {
    /// The window for the machine's clock, read once.
    pub fn find() -> WindowOpeningNow {
        WindowOpeningNow::at(Utc::now())
    }

    /// The window for the instant `now`. It opens this minute, or the next one when
    /// less than 20 seconds of this one are left: the matcher books a slot of the
    /// current minute, and setting up could cross into the next minute and push
    /// the booking a whole call length away.
    pub fn at(now: DateTime<Utc>) -> WindowOpeningNow {
        let this_minute = now.duration_trunc(TimeDelta::minutes(1)).expect("minute");
        let opens = if now - this_minute < TimeDelta::seconds(40) {
            this_minute
        } else {
            this_minute + TimeDelta::minutes(1)
        };
        ZONES_AROUND_THE_GLOBE
            .iter()
            .map(|name| name.parse::<Tz>().expect("zone"))
            .map(|zone| WindowOpeningNow {
                zone,
                opens: opens.with_timezone(&zone),
            })
            .find(WindowOpeningNow::holds)
            .unwrap_or_else(|| panic!("no zone has calling hours at {opens}"))
    }

    /// The window as the API takes it: the opening minute's weekday, and its start
    /// and end on the wall clock of [`WindowOpeningNow::zone`].
    pub fn body(&self) -> Value {
        let ends = self.opens + WINDOW_LENGTH;
        json!({
            "weekdays": [self.weekday()],
            "start": self.opens.format("%H:%M").to_string(),
            "end": ends.format("%H:%M").to_string(),
        })
    }

    /// The opening minute's weekday as the API writes it: "mon", "tue", …
    fn weekday(&self) -> String {
        self.opens.format("%a").to_string().to_lowercase()
    }

    /// Whether the window written by [`WindowOpeningNow::body`] occurs at
    /// exactly `opens` for its whole length (no daylight-saving change moves or
    /// cuts it) and a seeker of [`every_day`] may be called in all of it.
    fn holds(&self) -> bool {
        let utc = self.opens.with_timezone(&Utc);
        let local_time = |at: DateTime<Tz>| {
            LocalTime::from_hm(at.hour(), at.minute()).expect("a wall-clock minute")
        };
        let Ok(window) = WeeklyRange::new(
            Weekdays::parse(&[self.weekday()]).expect("a weekday"),
            local_time(self.opens),
            local_time(self.opens + WINDOW_LENGTH),
            self.zone,
        ) else {
            return false;
        };
        let every_day = WeeklyRange::new(
            Weekdays::ALL,
            CallingHours::WIDEST.start(),
            CallingHours::WIDEST.end(),
            self.zone,
        )
        .expect("a range");
        let occurs_as_written =
            window
                .occurrence_on(self.opens.date_naive())
                .is_some_and(|occurrence| {
                    occurrence.start == utc && occurrence.end == utc + WINDOW_LENGTH
                });
        occurs_as_written
            && SeekerHours::new(self.zone, vec![every_day], CallingHours::WIDEST)
                .permits(utc, utc + WINDOW_LENGTH)
    }
}

/// How long a [`WindowOpeningNow`] stays open: two 15-minute slots.
const WINDOW_LENGTH: TimeDelta = TimeDelta::minutes(30);

/// A seeker's availability on every day of the week, all of calling hours: such
/// a seeker can be called whenever calling hours allow.
pub fn every_day() -> Value {
    json!([{
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "08:00",
        "end": "21:00",
    }])
}

/// A running `ridealong serve`, killed if the test ends before it exits. Its
/// stderr is read on a thread that keeps every line and reports the address the
/// server announces it listens on.
pub struct Served {
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    announced: mpsc::Receiver<String>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Starts `command` (the binary with its environment set) as `serve` with
    /// JSON logs; `RIDEALONG_LISTEN` defaults to port 0.
    pub fn start(command: Command) -> Served {
        Served::start_logging(command, "info")
    }

    /// [`Served::start`] with `RUST_LOG` set to `filter`; whatever the process
    /// prints on stdout is kept in the log too.
    pub fn start_logging(mut command: Command, filter: &str) -> Served {
        let listens = command
            .get_envs()
            .any(|(name, _)| name == "RIDEALONG_LISTEN");
        if !listens {
            command.env("RIDEALONG_LISTEN", "127.0.0.1:0");
        }
        let mut child = command
            .arg("serve")
            .env("RIDEALONG_LOG_FORMAT", "json")
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::new(Mutex::new(String::new()));
        let (announce, announced) = mpsc::channel();
        let kept = Arc::clone(&log);
        let printed = Arc::clone(&log);
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut log = printed.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "ridealong is serving"
                    && let Some(address) = event["listen"].as_str()
                {
                    let _ = announce.send(address.to_owned());
                }
                let mut log = kept.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        Served {
            child: Some(child),
            log,
            announced,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Everything the process printed, once it has exited (after
    /// [`Served::terminate`] or [`Served::wait_for_exit`]): waits for the readers
    /// to reach the end of its output.
    pub fn whole_log(&mut self) -> String {
        assert!(self.child.is_none(), "the process is still running");
        for reader in self.readers.drain(..) {
            reader.join().expect("a log reader");
        }
        self.log()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The address the server announced, once it is listening; fails the test if
    /// it exits or says nothing within `bound` first.
    pub async fn listening_address(&mut self, bound: Duration) -> String {
        let announced = tokio::task::block_in_place(|| self.announced.recv_timeout(bound));
        match announced {
            Ok(address) => address,
            Err(_) => panic!(
                "serve did not announce its address within {bound:?}:\n{}",
                self.log()
            ),
        }
    }

    /// Kills the process with SIGKILL, as a crash or an OOM kill would, and reaps it.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("the blocking task runs")
            .expect("wait");
    }

    /// Sends SIGTERM and waits at most `bound` for the process to exit.
    pub async fn terminate(&mut self, bound: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.wait_for_exit(bound).await
    }

    /// Waits at most `bound` for the process to exit.
    pub async fn wait_for_exit(&mut self, bound: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id();
        let waited =
            tokio::time::timeout(bound, tokio::task::spawn_blocking(move || child.wait())).await;
        match waited {
            Ok(joined) => joined.expect("the blocking task runs").expect("wait"),
            Err(_) => {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
                panic!(
                    "serve did not exit within {bound:?} of SIGTERM:\n{}",
                    self.log()
                );
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// [`WindowOpeningNow`] at fixed instants: the tests of the binary depend on it
/// holding whenever they run.
mod tests {
    use super::*;
    use crate::helpers::at;

    /// Asserts a window is found for `now` and opens in its minute or the next.
    fn found_at(now: DateTime<Utc>) {
        let window = WindowOpeningNow::at(now);
        let opens = window.opens.with_timezone(&Utc);
        let this_minute = now.duration_trunc(TimeDelta::minutes(1)).expect("minute");
        assert!(
            opens == this_minute || opens == this_minute + TimeDelta::minutes(1),
            "at {now} the window opens at {opens}"
        );
    }

    #[test]
    fn a_window_opening_now_holds_at_a_weekend_midnight_and_around_daylight_saving_changes() {
        for instant in [
            // A UTC Saturday turning Sunday: weekend in every listed zone.
            "2027-03-13T23:59:30Z",
            "2027-03-13T23:59:59Z",
            "2027-03-14T00:00:00Z",
            // Sunday turning Monday: a new week.
            "2027-03-14T23:59:45Z",
            // New York springs forward at 07:00Z and falls back at 06:00Z.
            "2027-03-14T06:59:30Z",
            "2027-03-14T06:59:59Z",
            "2027-11-07T05:59:30Z",
            // London at 01:00Z; Auckland at 14:00Z.
            "2027-03-28T00:59:30Z",
            "2027-10-31T00:59:59Z",
            "2027-04-03T13:59:30Z",
            "2027-09-25T13:59:59Z",
        ] {
            found_at(at(instant));
        }
    }

    #[test]
    fn a_window_opening_now_holds_all_year_round() {
        // Every 7 min 13 s of 2027: every hour of every day of the week, the
        // seconds of the minute varying, daylight-saving changes included.
        let mut now = at("2027-01-01T00:00:00Z");
        while now < at("2028-01-01T00:00:00Z") {
            found_at(now);
            now += TimeDelta::seconds(7 * 60 + 13);
        }
    }
}
