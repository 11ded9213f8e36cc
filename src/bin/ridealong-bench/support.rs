//! What the harnesses share: a scratch database, seeding, a served child
//! process, progress bars, percentiles and memory readings.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use ridealong::bench::workload::{self, MentorSpec, RequestSpec};
use ridealong::domain::mentor::NewMentor;
use ridealong::domain::phone::PhoneNumber;
use ridealong::domain::request::NewRequest;
use ridealong::domain::status::RequestStatus;
use ridealong::ids::{MentorId, RequestId};
use ridealong::store::Store;
use ridealong::tokens;

/// The `ridealong` binary beside this one, which the harnesses serve with.
pub(crate) fn ridealong_binary() -> anyhow::Result<PathBuf> {
    let bench = std::env::current_exe().context("finding this binary")?;
    let binary = bench.with_file_name(format!("ridealong{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        bail!(
            "{} is missing: build it too (cargo build --release builds both)",
            binary.display()
        );
    }
    Ok(binary)
}

/// A fresh database for one run: a SQLite file in a temporary directory, or a
/// database created for the run on the PostgreSQL server `--database-url` names
/// (and dropped by [`ScratchDb::remove`]). Logs and the bare-loop file go in the
/// temporary directory either way.
pub(crate) struct ScratchDb {
    dir: tempfile::TempDir,
    postgres: Option<ScratchPostgres>,
}

/// A database created on a PostgreSQL server for one run.
struct ScratchPostgres {
    /// The URL given, whose database the scratch one is created from.
    server_url: String,
    name: String,
    url: String,
}

impl ScratchDb {
    /// A scratch database on the backend of `database_url` (a `postgres://` URL
    /// names the server to create it on), or SQLite when it is `None`.
    pub(crate) async fn new(database_url: Option<&str>) -> anyhow::Result<ScratchDb> {
        let dir = tempfile::Builder::new()
            .prefix("ridealong-bench-")
            .tempdir()
            .context("creating a temporary directory")?;
        let postgres = match database_url {
            None => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let name = format!("ridealong_bench_{:016x}", rand::random::<u64>());
                let server = Store::connect(url)
                    .await
                    .context("connecting to PostgreSQL")?;
                if let Store::Postgres(pool) = &server {
                    sqlx::query(&format!("create database {name}"))
                        .execute(pool)
                        .await
                        .context("creating the scratch database")?;
                }
                server.close().await;
                Some(ScratchPostgres {
                    server_url: url.to_owned(),
                    url: ridealong::store::url_of_database(url, &name),
                    name,
                })
            }
            Some(url) => bail!(
                "--database-url takes a postgres:// URL (SQLite is the default and needs none): {url}"
            ),
        };
        Ok(ScratchDb { dir, postgres })
    }

    /// The backend, as the figures name it.
    pub(crate) fn backend(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A file in the run's temporary directory.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The scratch database's URL.
    pub(crate) fn url(&self) -> String {
        match &self.postgres {
            Some(postgres) => postgres.url.clone(),
            None => format!("sqlite://{}", self.path("ridealong.db").display()),
        }
    }

    /// A migrated store on the scratch database.
    pub(crate) async fn store(&self) -> anyhow::Result<Store> {
        let store = Store::connect(&self.url()).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// A migrated store for seeding, which is setup and not measured: on
    /// PostgreSQL its commits do not wait for the disk (`synchronous_commit =
    /// off`), or a hundred thousand single-row commits would take minutes.
    /// Close it before the measured part, which uses [`ScratchDb::store`].
    pub(crate) async fn seeding_store(&self) -> anyhow::Result<Store> {
        if !self.is_postgres() {
            return self.store().await;
        }
        let url = self.url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let store = Store::connect(&format!(
            "{url}{separator}options=-c%20synchronous_commit%3Doff"
        ))
        .await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Drops the PostgreSQL database (after every connection to it closed);
    /// the temporary directory goes on drop.
    pub(crate) async fn remove(self) -> anyhow::Result<()> {
        if let Some(postgres) = &self.postgres {
            let server = Store::connect(&postgres.server_url).await?;
            if let Store::Postgres(pool) = &server {
                sqlx::query(&format!(
                    "drop database if exists {} with (force)",
                    postgres.name
                ))
                .execute(pool)
                .await
                .context("dropping the scratch database")?;
            }
            server.close().await;
        }
        Ok(())
    }
}

/// Runs `bench` on a scratch database for `database_url` and removes the
/// database afterwards, whether the run succeeded or not.
pub(crate) async fn on_scratch_db<F, Fut>(
    database_url: Option<&str>,
    bench: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::sync::Arc<ScratchDb>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let db = std::sync::Arc::new(ScratchDb::new(database_url).await?);
    let result = bench(std::sync::Arc::clone(&db)).await;
    let db = std::sync::Arc::into_inner(db).context("the run kept its database")?;
    let removed = db.remove().await;
    result.and(removed)
}

/// A count the harness reads from the database while the server runs.
pub(crate) async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
    })
}

pub(crate) fn progress(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

pub(crate) fn seconds_bar(seconds: f64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new((seconds * 10.0).ceil() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Mentors `specs` with their windows; returns their ids. Phones come from
/// `phone_base` on.
pub(crate) async fn seed_mentors(
    store: &Store,
    specs: &[MentorSpec],
    phone_base: usize,
    with_windows: bool,
) -> anyhow::Result<Vec<MentorId>> {
    let bar = progress(specs.len() as u64, "mentors");
    let now = Utc::now();
    let mut ids = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let mentor = NewMentor {
            name: format!("Mentor {index}"),
            phone: PhoneNumber::from_stored(workload::phone_number(phone_base + index)),
            zone: spec.zone,
            topics: spec.topics.clone(),
            call_minutes: workload::CALL_MINUTES,
            max_calls_per_window: None,
        };
        let token_hash = tokens::hash(&format!("bench-mentor-{index}"));
        let id = store.insert_mentor(&mentor, &token_hash, now).await?.id;
        if with_windows {
            for window in &spec.windows {
                store.insert_window(id, window, now).await?;
            }
        }
        ids.push(id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// Pending requests `specs`; returns their ids.
pub(crate) async fn seed_requests(
    store: &Store,
    specs: &[RequestSpec],
) -> anyhow::Result<Vec<RequestId>> {
    let bar = progress(specs.len() as u64, "requests");
    let mut ids = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let request = NewRequest {
            name: format!("Seeker {index}"),
            phone: PhoneNumber::from_stored(workload::phone_number(index)),
            zone: spec.zone,
            topic: spec.topic.clone(),
            message: "I am stuck after months of applications.".to_owned(),
            availability: spec.availability.clone(),
        };
        let hash = tokens::hash(&format!("bench-request-{index}"));
        let record = store
            .insert_request(&request, RequestStatus::Pending, &hash, spec.created_at)
            .await?;
        ids.push(record.id);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// Resident and peak resident memory of process `pid`, in MiB, from /proc.
pub(crate) fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

pub(crate) fn print_memory(label: &str, pid: u32) {
    match memory_mib(pid) {
        Some((rss, peak)) => println!("{label:<26} {rss:.1} MiB (peak {peak:.1} MiB)"),
        None => println!("{label:<26} unknown (no /proc)"),
    }
}

/// Each process's memory, numbered when there are several.
pub(crate) fn print_memories(label: &str, pids: &[u32]) {
    match pids {
        [pid] => print_memory(label, *pid),
        _ => {
            for (instance, pid) in pids.iter().enumerate() {
                print_memory(&format!("{label} ({})", instance + 1), *pid);
            }
        }
    }
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The `p`-th percentile (0–100) of `sorted`, nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn print_percentiles(label: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label:<26} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(values, 50.0),
        percentile(values, 90.0),
        percentile(values, 99.0),
        values.last().copied().unwrap_or(f64::NAN),
    );
}

/// A served `ridealong` child process, killed on drop.
pub(crate) struct Served {
    child: tokio::process::Child,
    /// `http://127.0.0.1:port`.
    pub(crate) base: String,
}

impl Served {
    /// `binary serve` with simulated telephony on `database_url`.
    pub(crate) async fn start(
        binary: &Path,
        database_url: &str,
        log: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Served> {
        Served::start_with(
            binary,
            database_url,
            log,
            &["--telephony", "simulated"],
            env,
        )
        .await
    }

    /// `binary serve` with `args` and `env` on `database_url`, its log in `log`.
    pub(crate) async fn start_with(
        binary: &Path,
        database_url: &str,
        log: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Served> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log_path = log.to_owned();
        let log = std::fs::File::create(log)?;
        let child = tokio::process::Command::new(binary)
            // The load comes from one address: the per-IP limit would refuse it.
            .args(["serve", "--rate-limit-per-minute", "0"])
            .args(args)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(database_url)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut served = Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let healthz = format!("{}/healthz", served.base);
        let started = Instant::now();
        loop {
            if client
                .get(&healthz)
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return Ok(served);
            }
            if let Some(status) = served.child.try_wait()? {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("the server exited ({status}):\n{log}");
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the server did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }
}
