//! The running service: HTTP server and scheduler as sibling tasks over one store.
//!
//! `ridealong serve` and the black-box tests start it the same way, so the tests
//! exercise exactly what runs in production (tests only swap the clock).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::config::Secret;
use crate::domain::matching::MatchPolicy;
use crate::scheduler::matcher::{self, Matcher, MatcherHandle};
use crate::store::Store;
use crate::web::{self, AppState, Settings};

/// What the service needs to start.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The admin API token; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    /// Matching rules.
    pub policy: MatchPolicy,
    /// Region for national-format numbers when a zone has no country.
    pub default_region: Option<String>,
    /// Time between matcher runs when nothing nudges it.
    pub match_interval: Duration,
}

/// A started service.
pub struct App {
    address: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
    matcher: Option<JoinHandle<()>>,
}

impl App {
    /// Migrates `store`, binds the listener and starts the server and the matcher.
    pub async fn start(
        store: Store,
        config: AppConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        store.migrate().await.context("migrating the database")?;
        let shutdown = CancellationToken::new();
        let (matcher_handle, matcher) = matcher::spawn(
            Matcher::new(store.clone(), clock.clone(), config.policy),
            config.match_interval,
            shutdown.clone(),
        );
        let state = AppState {
            store,
            clock,
            settings: Arc::new(Settings {
                admin_token: config.admin_token,
                policy: config.policy,
                default_region: config.default_region,
            }),
            matcher: matcher_handle,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        let router = web::router(state.clone());
        let server_shutdown = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(server_shutdown.cancelled_owned())
                .await
        });
        info!(listen = %address, database = state.store.backend(), "ridealong is serving");
        Ok(App {
            address,
            state,
            shutdown,
            server: Some(server),
            matcher: Some(matcher),
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The handlers' shared state (store, clock, matcher handle).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Asks the matcher to run and waits until it has.
    pub async fn run_matcher(&self) -> Option<matcher::MatchReport> {
        self.state.matcher.run_now().await
    }

    /// Handle on the matcher task.
    pub fn matcher(&self) -> &MatcherHandle {
        &self.state.matcher
    }

    /// Runs until `stop` resolves or a task ends by itself, then shuts down and
    /// says which task stopped and why.
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (Some(server), Some(matcher)) = (self.server.as_mut(), self.matcher.as_mut()) else {
            return Ok(());
        };
        let outcome = tokio::select! {
            () = stop => Ok(()),
            result = server => {
                self.server = None;
                match result {
                    Ok(Ok(())) => Err(anyhow::anyhow!("the HTTP server stopped unexpectedly")),
                    Ok(Err(error)) => Err(anyhow::Error::from(error).context("the HTTP server failed")),
                    Err(error) => Err(anyhow::Error::from(error).context("the HTTP server task panicked")),
                }
            }
            result = matcher => {
                self.matcher = None;
                match result {
                    Ok(()) => Err(anyhow::anyhow!("the matcher stopped unexpectedly")),
                    Err(error) => Err(anyhow::Error::from(error).context("the matcher task panicked")),
                }
            }
        };
        if let Err(error) = &outcome {
            warn!(error = format!("{error:#}"), "shutting down");
        }
        self.stop().await;
        outcome
    }

    /// Stops accepting work, lets in-flight requests finish, and closes the store.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let grace = Duration::from_secs(10);
        let tasks = async {
            if let Some(server) = self.server {
                let _ = server.await;
            }
            if let Some(matcher) = self.matcher {
                let _ = matcher.await;
            }
        };
        if tokio::time::timeout(grace, tasks).await.is_err() {
            warn!("tasks did not stop within {grace:?}; exiting anyway");
        }
        self.state.store.close().await;
        info!("ridealong stopped");
    }
}
