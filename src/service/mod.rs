//! Use cases: what a seeker, a mentor or the operator can ask ridealong to do, each
//! written once for every door (the JSON API, the pages, the SMS and voice
//! webhooks, the CLI).
//!
//! A use case takes typed input (domain types, already parsed by the door) and
//! returns a typed outcome or a typed error enum. It holds no HTTP, no HTML and no
//! wording: each door says what an outcome means in its own words and status
//! codes. Use cases may use the domain, the store, the provider (to stop a call),
//! the matcher handle and the metrics; they never import `web` or `cli`.
//!
//! One module per area, each an `impl Service` block: [`requests`], [`consent`],
//! [`feedback`], [`follow_up`], [`mentors`], [`mentor_calls`], [`calls`],
//! [`call_backs`].

pub mod call_backs;
pub mod calls;
pub mod consent;
pub mod feedback;
pub mod follow_up;
pub mod mentor_calls;
pub mod mentors;
pub mod requests;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::hours::CallingHours;
use crate::domain::rest::RestPolicy;
use crate::metrics::Metrics;
use crate::scheduler::matcher::MatcherHandle;
use crate::store::{EndCallRules, SecondTryRules};
use crate::store::{RequestIntake, Store, WriteTurns};
use crate::telephony::Provider;

/// Settings the use cases read.
#[derive(Clone, Debug, Default)]
pub struct ServiceSettings {
    /// Whether new requests wait, `unconfirmed`, for the seeker to confirm the
    /// number with a texted code.
    pub confirm_phone: bool,
    /// The service number, sender of every text.
    pub from_number: String,
    /// Most calls under way at once, from the provider's concurrent-call limit;
    /// `None` for no limit.
    pub calls_at_once: Option<usize>,
    /// The deployment's calling hours, which a second try keeps to.
    pub calling_hours: CallingHours,
    /// When a mentor who keeps missing calls rests.
    pub rest: RestPolicy,
}

impl ServiceSettings {
    /// What ending a call keeps to: a second try in the same commute, and a
    /// mentor's rest after repeated misses.
    pub fn end_call_rules(&self) -> EndCallRules {
        EndCallRules {
            second_try: SecondTryRules {
                calling_hours: self.calling_hours,
                calls_at_once: self.calls_at_once,
            },
            rest: self.rest,
        }
    }
}

/// Everything the use cases need, cheap to clone; the methods live in the area
/// modules.
#[derive(Clone)]
pub struct Service {
    store: Store,
    intake: RequestIntake,
    clock: Arc<dyn Clock>,
    matcher: MatcherHandle,
    provider: Option<Arc<dyn Provider>>,
    metrics: Arc<Metrics>,
    settings: Arc<ServiceSettings>,
}

impl Service {
    /// The use cases over `store` at `clock`'s time, with `settings`: nudging no
    /// matcher, reaching no provider and counting into metrics of their own until
    /// told otherwise (the operator CLI stays like that).
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: ServiceSettings) -> Service {
        let intake = RequestIntake::start(store.clone(), WriteTurns::for_store(&store));
        Service {
            store,
            intake,
            clock,
            matcher: MatcherHandle::detached(),
            provider: None,
            metrics: Arc::default(),
            settings: Arc::new(settings),
        }
    }

    /// These use cases, storing new requests through `intake` (the running
    /// service's batching writer).
    pub fn with_intake(self, intake: RequestIntake) -> Service {
        Service { intake, ..self }
    }

    /// These use cases, asking `matcher` to run after every change it should see.
    pub fn with_matcher(self, matcher: MatcherHandle) -> Service {
        Service { matcher, ..self }
    }

    /// These use cases, stopping calls already at `provider` when they are
    /// canceled. Without one (the operator CLI), a call that is already ringing
    /// learns it was canceled at its next webhook.
    pub fn with_provider(self, provider: Arc<dyn Provider>) -> Service {
        Service {
            provider: Some(provider),
            ..self
        }
    }

    /// These use cases, counting into `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Service {
        Service { metrics, ..self }
    }

    /// The store the use cases write to, for the doors' reads.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
