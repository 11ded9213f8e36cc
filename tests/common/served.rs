//! A `ridealong serve` child process for tests of the binary: its stderr is read
//! on a thread that keeps every line and reports the address the server announces
//! in its JSON log, so tests wait for that line instead of polling the port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::fake_twilio::FakeTwilio;
use super::{ADMIN_TOKEN, SERVICE_NUMBER};
use ridealong::domain::hours::{CallingHours, SeekerHours};

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

/// A zone where a 15-minute call starting this minute is inside calling hours.
pub fn zone_in_calling_hours() -> Tz {
    let start = Utc::now()
        .duration_trunc(TimeDelta::minutes(1))
        .expect("minute");
    [
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Auckland",
        "Pacific/Honolulu",
    ]
    .iter()
    .map(|name| name.parse::<Tz>().expect("zone"))
    .find(|zone| {
        SeekerHours::new(*zone, Vec::new(), CallingHours::WIDEST)
            .permits(start, start + TimeDelta::minutes(20))
    })
    .expect("some zone is in calling hours at any instant")
}

/// Where a commute window should open for calls booked now to start at once: this
/// minute. The matcher books a slot of the current minute, so with less than 20
/// seconds of it left (setting up could cross into the next one and push the slot
/// a whole call length away) it is the next minute instead.
pub fn window_opening_now() -> DateTime<Utc> {
    let now = Utc::now();
    let this_minute = now.duration_trunc(TimeDelta::minutes(1)).expect("minute");
    if now - this_minute < TimeDelta::seconds(40) {
        this_minute
    } else {
        this_minute + TimeDelta::minutes(1)
    }
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
