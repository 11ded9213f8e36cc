//! The running service: HTTP server and scheduler as sibling tasks over one store.
//!
//! `ridealong serve` and the black-box tests start it the same way, so the tests
//! exercise exactly what runs in production (tests only swap the clock).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::config::PrivacySettings;
use crate::domain::matching::MatchPolicy;
use crate::domain::reminder::ReminderPolicy;
use crate::domain::rest::RestPolicy;
use crate::metrics::Metrics;
use crate::scheduler::dispatcher::{self, DispatchReport, DispatchSettings, Dispatcher};
use crate::scheduler::housekeeping::{self, Housekeeper, HousekeepingReport};
use crate::scheduler::matcher::{self, Matcher, MatcherHandle};
use crate::scheduler::notifier::{self, Notifier, NotifyReport};
use crate::scheduler::reconciler::{self, ReconcileReport, Reconciler};
use crate::scheduler::webhooks::{self, Deliverer, DeliveryReport, WebhookConfig};
use crate::secret::Secret;
use crate::service::{Service, ServiceSettings};
use crate::store::{EndCallRules, SecondTryRules};
use crate::store::{RequestIntake, Store, WriteTurns};
use crate::telephony::Provider;
use crate::telephony::breaker::{BreakerPolicy, CircuitBreaker};
use crate::web::limits::{LimitSettings, Limits};
use crate::web::{self, AppState, Settings, SharedState};

/// What the service needs to start.
#[derive(Clone)]
pub struct AppConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The admin API token; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    /// Matching rules.
    pub policy: MatchPolicy,
    /// How long before a call its seeker is texted a reminder (pulled back into
    /// `policy`'s calling hours); zero turns reminders off.
    pub reminder_lead: TimeDelta,
    /// When a mentor who keeps missing calls rests.
    pub rest: RestPolicy,
    /// Region for national-format numbers when a zone has no country.
    pub default_region: Option<String>,
    /// Time between matcher runs when nothing nudges it.
    pub match_interval: Duration,
    /// Time between reconciler rounds (the first runs as the service starts).
    pub reconcile_interval: Duration,
    /// Time between notifier passes (the first runs as the service starts).
    pub notify_interval: Duration,
    /// Places calls and sends texts.
    pub provider: Arc<dyn Provider>,
    /// Base URL the provider reaches the webhooks at; `None` means the listening
    /// address (fine for the simulated provider, not for a real one).
    pub public_url: Option<String>,
    /// The service number: caller ID of every call, sender of every text.
    pub from_number: String,
    /// Most calls handed to the provider per second.
    pub cps: u32,
    /// Abuse limits of the HTTP server.
    pub limits: LimitSettings,
    /// Phone confirmation and retention.
    pub privacy: PrivacySettings,
    /// Where outbound webhooks go; `None` turns them off (and the outbox
    /// triggers with them).
    pub webhooks: Option<WebhookConfig>,
}

/// A started service.
pub struct App {
    address: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
    server: Option<JoinHandle<std::io::Result<()>>>,
    matcher: Option<JoinHandle<()>>,
    matcher_handle: MatcherHandle,
    dispatcher: Dispatcher,
    dispatcher_task: Option<JoinHandle<()>>,
    notifier: Notifier,
    notifier_task: Option<JoinHandle<()>>,
    reconciler: Reconciler,
    reconciler_task: Option<JoinHandle<()>>,
    housekeeper: Housekeeper,
    housekeeper_task: Option<JoinHandle<()>>,
    deliverer: Option<Deliverer>,
    deliverer_task: Option<JoinHandle<()>>,
}

impl App {
    /// Migrates `store`, binds the listener and starts the server, the matcher,
    /// the dispatcher, the reconciler, the notifier, the housekeeper and, with
    /// webhooks configured, the webhook deliverer.
    pub async fn start(
        store: Store,
        config: AppConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<App> {
        store.migrate().await.context("migrating the database")?;
        store
            .set_webhooks_enabled(config.webhooks.is_some(), clock.now())
            .await
            .context("turning webhooks on or off")?;
        let shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        let (matcher_handle, matcher) = matcher::spawn(
            Matcher::new(store.clone(), clock.clone(), config.policy)
                .with_reminders(ReminderPolicy {
                    lead: config.reminder_lead,
                    hours: config.policy.calling_hours,
                })
                .with_metrics(Arc::clone(&metrics)),
            config.match_interval,
            shutdown.clone(),
        );
        // Every provider request goes through one breaker, so a provider that is
        // down is not hammered by the dispatcher, the notifier and the API at once.
        let provider: Arc<dyn Provider> = Arc::new(CircuitBreaker::new(
            config.provider,
            clock.clone(),
            BreakerPolicy::default(),
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        // Reminders link to the manage page only at a public URL that was set:
        // the listening address is no use on a seeker's phone.
        let manage_links_at = config.public_url.clone();
        let site_url = config.public_url.clone();
        let public_url = config
            .public_url
            .unwrap_or_else(|| local_url(address))
            .trim_end_matches('/')
            .to_owned();
        let dispatch_settings = Arc::new(DispatchSettings {
            public_url,
            from_number: config.from_number,
            cps: config.cps.max(1),
            calls_at_once: config.policy.calls_at_once,
        });
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::clone(&provider),
            clock.clone(),
            DispatchSettings::clone(&dispatch_settings),
            matcher_handle.clone(),
        )
        .with_metrics(Arc::clone(&metrics))
        .stopping_on(shutdown.clone());
        let (_, dispatcher_task) = dispatcher::spawn(dispatcher.clone(), shutdown.clone());
        let reconciler = Reconciler::new(
            store.clone(),
            Arc::clone(&provider),
            clock.clone(),
            dispatch_settings.from_number.clone(),
            matcher_handle.clone(),
        )
        .with_metrics(Arc::clone(&metrics))
        .with_end_call_rules(EndCallRules {
            second_try: SecondTryRules {
                calling_hours: config.policy.calling_hours,
                calls_at_once: config.policy.calls_at_once,
            },
            rest: config.rest,
        });
        let reconciler_task = reconciler::spawn(
            reconciler.clone(),
            config.reconcile_interval,
            shutdown.clone(),
        );
        let write_turns = WriteTurns::for_store(&store);
        let notifier = Notifier::new(
            store.clone(),
            Arc::clone(&provider),
            clock.clone(),
            dispatch_settings.from_number.clone(),
        )
        .with_metrics(Arc::clone(&metrics))
        .with_write_turns(write_turns.clone());
        let notifier = match manage_links_at {
            Some(url) => notifier.with_manage_links(url),
            None => notifier,
        };
        let notifier_task =
            notifier::spawn(notifier.clone(), config.notify_interval, shutdown.clone());
        let housekeeper = Housekeeper::new(store.clone(), clock.clone(), config.privacy.retention);
        let housekeeper_task = housekeeping::spawn(housekeeper.clone(), shutdown.clone());
        let deliverer = match config.webhooks {
            Some(webhook_config) => Some(
                Deliverer::new(store.clone(), clock.clone(), webhook_config)?
                    .with_metrics(Arc::clone(&metrics)),
            ),
            None => None,
        };
        let deliverer_task = deliverer
            .clone()
            .map(|deliverer| webhooks::spawn(deliverer, shutdown.clone()));
        let service = Service::new(
            store.clone(),
            clock.clone(),
            ServiceSettings {
                confirm_phone: config.privacy.confirm_phone,
                from_number: dispatch_settings.from_number.clone(),
                calls_at_once: config.policy.calls_at_once,
                calling_hours: config.policy.calling_hours,
                rest: config.rest,
            },
        )
        .with_intake(RequestIntake::start(store.clone(), write_turns))
        .with_matcher(matcher_handle.clone())
        .with_provider(Arc::clone(&provider))
        .with_metrics(Arc::clone(&metrics));
        let state = AppState::new(SharedState {
            service,
            store,
            clock,
            settings: Arc::new(Settings {
                admin_token: config.admin_token,
                policy: config.policy,
                default_region: config.default_region,
                secure_cookies: dispatch_settings.public_url.starts_with("https://"),
                confirm_phone: config.privacy.confirm_phone,
                site_url,
            }),
            provider,
            dispatch_settings,
            limits: Limits::new(config.limits),
            metrics,
        });
        let router = web::router(state.clone());
        let server_shutdown = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
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
            matcher_handle,
            dispatcher,
            dispatcher_task: Some(dispatcher_task),
            notifier,
            notifier_task: Some(notifier_task),
            reconciler,
            reconciler_task: Some(reconciler_task),
            housekeeper,
            housekeeper_task: Some(housekeeper_task),
            deliverer,
            deliverer_task,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The handlers' shared state (use cases, store, clock, settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Asks the matcher to run and waits until it has.
    pub async fn run_matcher(&self) -> Option<matcher::MatchReport> {
        self.matcher_handle.run_now().await
    }

    /// Runs one dispatcher pass now: places every due call and waits for the
    /// provider's answers.
    pub async fn dispatch_due(&self) -> anyhow::Result<DispatchReport> {
        self.dispatcher.run_once().await
    }

    /// Runs one reconciler round now: dials in doubt, and calls the provider has
    /// been quiet about for a minute, settled from the provider's record.
    pub async fn reconcile_now(&self) -> anyhow::Result<ReconcileReport> {
        self.reconciler.run_once().await
    }

    /// Waits until the reconciler has finished `rounds` rounds; the first is the
    /// check of every call in flight that an instance makes when it starts.
    pub async fn reconciler_rounds_done(&self, rounds: u64) {
        self.reconciler.rounds_done(rounds).await;
    }

    /// Sends every due SMS notice now.
    pub async fn notify_due(&self) -> anyhow::Result<NotifyReport> {
        self.notifier.run_once().await
    }

    /// Runs one housekeeping pass now: expiry and retention.
    pub async fn housekeep_now(&self) -> anyhow::Result<HousekeepingReport> {
        self.housekeeper.run_once().await
    }

    /// Posts every due outbound webhook event now; `None` when webhooks are off.
    pub async fn deliver_webhooks_now(&self) -> Option<anyhow::Result<DeliveryReport>> {
        match &self.deliverer {
            Some(deliverer) => Some(deliverer.run_once().await),
            None => None,
        }
    }

    /// Waits until the webhook deliverer has finished `passes` passes (at once
    /// when webhooks are off); the first is the one it makes as the service
    /// starts.
    pub async fn webhook_passes_done(&self, passes: u64) {
        if let Some(deliverer) = &self.deliverer {
            deliverer.passes_done(passes).await;
        }
    }

    /// The URL the provider reaches the webhooks at.
    pub fn public_url(&self) -> &str {
        &self.state.dispatch_settings.public_url
    }

    /// Handle on the matcher task.
    pub fn matcher(&self) -> &MatcherHandle {
        &self.matcher_handle
    }

    /// Runs until `stop` resolves or a task ends by itself, then shuts down and
    /// says which task stopped and why.
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (
            Some(server),
            Some(matcher),
            Some(dispatcher),
            Some(reconciler),
            Some(notifier),
            Some(housekeeper),
        ) = (
            self.server.as_mut(),
            self.matcher.as_mut(),
            self.dispatcher_task.as_mut(),
            self.reconciler_task.as_mut(),
            self.notifier_task.as_mut(),
            self.housekeeper_task.as_mut(),
        )
        else {
            return Ok(());
        };
        let deliverer = async {
            match self.deliverer_task.as_mut() {
                Some(task) => task.await,
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            () = stop => Ok(()),
            result = deliverer => task_ended("webhook deliverer", result),
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
                task_ended("matcher", result)
            }
            result = dispatcher => {
                self.dispatcher_task = None;
                task_ended("dispatcher", result)
            }
            result = reconciler => {
                self.reconciler_task = None;
                task_ended("reconciler", result)
            }
            result = notifier => {
                self.notifier_task = None;
                task_ended("notifier", result)
            }
            result = housekeeper => {
                self.housekeeper_task = None;
                task_ended("housekeeper", result)
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
            if let Some(dispatcher) = self.dispatcher_task {
                let _ = dispatcher.await;
            }
            if let Some(reconciler) = self.reconciler_task {
                let _ = reconciler.await;
            }
            if let Some(notifier) = self.notifier_task {
                let _ = notifier.await;
            }
            if let Some(housekeeper) = self.housekeeper_task {
                let _ = housekeeper.await;
            }
            if let Some(deliverer) = self.deliverer_task {
                let _ = deliverer.await;
            }
        };
        if tokio::time::timeout(grace, tasks).await.is_err() {
            warn!("tasks did not stop within {grace:?}; exiting anyway");
        }
        self.state.store.close().await;
        info!("ridealong stopped");
    }
}

/// Why a background task that should run until shutdown ended.
fn task_ended(name: &str, result: Result<(), tokio::task::JoinError>) -> anyhow::Result<()> {
    match result {
        Ok(()) => Err(anyhow::anyhow!("the {name} stopped unexpectedly")),
        Err(error) => Err(anyhow::Error::from(error).context(format!("the {name} task panicked"))),
    }
}

/// `http://address`, with an unspecified address (0.0.0.0, ::) replaced by loopback.
fn local_url(address: SocketAddr) -> String {
    let ip = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}
