//! A circuit breaker in front of the provider: after a run of failures that say
//! the provider itself is in trouble (5xx, unreachable, no answer), requests are
//! refused at once with [`ProviderError::CircuitOpen`] for a cool-down, then one
//! trial request is let through; its success closes the circuit, its failure
//! opens it again for twice as long (up to a cap). A provider that is down is
//! not hammered, and the dispatcher keeps the calls for a retry within their slot.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tracing::{info, warn};

use super::{CallQuery, CallUpdate, NewCall, NewSms, Provider, ProviderCall, ProviderError};
use crate::clock::Clock;

/// When the circuit opens and for how long.
#[derive(Clone, Copy, Debug)]
pub struct BreakerPolicy {
    /// Failures in a row that open the circuit.
    pub failures_to_open: u32,
    /// How long it first stays open.
    pub cooldown: TimeDelta,
    /// The longest it stays open after repeated failed trials.
    pub max_cooldown: TimeDelta,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failures_to_open: 5,
            cooldown: TimeDelta::seconds(15),
            max_cooldown: TimeDelta::minutes(2),
        }
    }
}

/// The circuit's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Circuit {
    /// Requests flow; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Requests are refused until `until`.
    Open {
        /// When a trial request may go.
        until: DateTime<Utc>,
        /// How long this opening lasts.
        cooldown: TimeDelta,
    },
    /// One trial request is out; others are refused until it answers (or, if its
    /// answer is lost, for one more cool-down).
    Trial {
        /// When the trial went out.
        since: DateTime<Utc>,
        /// The cool-down to double if the trial fails.
        cooldown: TimeDelta,
    },
}

/// A [`Provider`] that stops sending to an inner provider that keeps failing.
pub struct CircuitBreaker {
    inner: Arc<dyn Provider>,
    clock: Arc<dyn Clock>,
    policy: BreakerPolicy,
    circuit: Mutex<Circuit>,
}

impl CircuitBreaker {
    /// Wraps `inner`, timing the circuit with `clock`.
    pub fn new(inner: Arc<dyn Provider>, clock: Arc<dyn Clock>, policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            inner,
            clock,
            policy,
            circuit: Mutex::new(Circuit::Closed { failures: 0 }),
        }
    }

    /// The circuit's state now.
    pub fn circuit(&self) -> Circuit {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Circuit> {
        self.circuit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a request may go now; an open circuit past its cool-down lets this
    /// one through as the trial.
    fn admit(&self) -> Result<(), ProviderError> {
        let mut circuit = self.lock();
        let now = self.clock.now();
        match *circuit {
            Circuit::Closed { .. } => Ok(()),
            Circuit::Open { until, cooldown } if now >= until => {
                *circuit = Circuit::Trial {
                    since: now,
                    cooldown,
                };
                Ok(())
            }
            // The trial's caller gave up on it: let another go.
            Circuit::Trial { since, cooldown } if now >= since + cooldown => {
                *circuit = Circuit::Trial {
                    since: now,
                    cooldown,
                };
                Ok(())
            }
            Circuit::Open { .. } | Circuit::Trial { .. } => Err(ProviderError::CircuitOpen),
        }
    }

    /// Counts the answer to an admitted request.
    fn record<T>(&self, result: &Result<T, ProviderError>) {
        let trouble = matches!(result, Err(error) if error.provider_in_trouble());
        let mut circuit = self.lock();
        let now = self.clock.now();
        *circuit = match (*circuit, trouble) {
            (Circuit::Closed { failures }, true)
                if failures + 1 >= self.policy.failures_to_open =>
            {
                warn!(
                    provider.failures = failures + 1,
                    provider.cooldown_s = self.policy.cooldown.num_seconds(),
                    "the provider keeps failing: holding requests back"
                );
                Circuit::Open {
                    until: now + self.policy.cooldown,
                    cooldown: self.policy.cooldown,
                }
            }
            (Circuit::Closed { failures }, true) => Circuit::Closed {
                failures: failures + 1,
            },
            (Circuit::Closed { .. }, false) => Circuit::Closed { failures: 0 },
            (Circuit::Trial { cooldown, .. }, true) => {
                let cooldown = (cooldown * 2).min(self.policy.max_cooldown);
                warn!(
                    provider.cooldown_s = cooldown.num_seconds(),
                    "the provider still fails: holding requests back longer"
                );
                Circuit::Open {
                    until: now + cooldown,
                    cooldown,
                }
            }
            (Circuit::Trial { .. }, false) => {
                info!("the provider answers again: requests flow");
                Circuit::Closed { failures: 0 }
            }
            // An answer to a request admitted before the circuit opened.
            (open @ Circuit::Open { .. }, _) => open,
        };
    }

    async fn guarded<T>(
        &self,
        request: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        self.admit()?;
        let result = request.await;
        self.record(&result);
        result
    }
}

#[async_trait]
impl Provider for CircuitBreaker {
    async fn create_call(&self, call: &NewCall) -> Result<ProviderCall, ProviderError> {
        self.guarded(self.inner.create_call(call)).await
    }

    async fn fetch_call(&self, sid: &str) -> Result<ProviderCall, ProviderError> {
        self.guarded(self.inner.fetch_call(sid)).await
    }

    async fn list_calls(&self, query: &CallQuery) -> Result<Vec<ProviderCall>, ProviderError> {
        self.guarded(self.inner.list_calls(query)).await
    }

    async fn update_call(
        &self,
        sid: &str,
        update: CallUpdate,
    ) -> Result<ProviderCall, ProviderError> {
        self.guarded(self.inner.update_call(sid, update)).await
    }

    async fn send_sms(&self, sms: &NewSms) -> Result<String, ProviderError> {
        self.guarded(self.inner.send_sms(sms)).await
    }

    fn webhook_auth_token(&self) -> &str {
        self.inner.webhook_auth_token()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::clock::ManualClock;

    /// A provider whose every call fails with `failure` while `failing` is set.
    struct Flaky {
        failing: std::sync::atomic::AtomicBool,
        failure: fn() -> ProviderError,
        sent: AtomicU32,
    }

    impl Flaky {
        fn new(failure: fn() -> ProviderError) -> Arc<Flaky> {
            Arc::new(Flaky {
                failing: true.into(),
                failure,
                sent: AtomicU32::new(0),
            })
        }

        fn answer(&self) -> Result<String, ProviderError> {
            self.sent.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                Err((self.failure)())
            } else {
                Ok("SM0".to_owned())
            }
        }
    }

    #[async_trait]
    impl Provider for Flaky {
        async fn create_call(&self, _: &NewCall) -> Result<ProviderCall, ProviderError> {
            Err(ProviderError::Unreachable)
        }
        async fn fetch_call(&self, _: &str) -> Result<ProviderCall, ProviderError> {
            Err(ProviderError::Unreachable)
        }
        async fn list_calls(&self, _: &CallQuery) -> Result<Vec<ProviderCall>, ProviderError> {
            Ok(Vec::new())
        }
        async fn update_call(&self, _: &str, _: CallUpdate) -> Result<ProviderCall, ProviderError> {
            Err(ProviderError::Unreachable)
        }
        async fn send_sms(&self, _: &NewSms) -> Result<String, ProviderError> {
            self.answer()
        }
        fn webhook_auth_token(&self) -> &str {
            "token"
        }
    }

    fn sms() -> NewSms {
        NewSms {
            to: "+12015550123".to_owned(),
            from: "+15005550006".to_owned(),
            body: "hello".to_owned(),
        }
    }

    fn breaker(inner: Arc<Flaky>, clock: &ManualClock) -> CircuitBreaker {
        CircuitBreaker::new(inner, Arc::new(clock.clone()), BreakerPolicy::default())
    }

    fn start() -> ManualClock {
        ManualClock::new("2026-11-30T12:00:00Z".parse().expect("instant"))
    }

    #[tokio::test]
    async fn five_server_errors_in_a_row_open_the_circuit_and_requests_stop_reaching_the_provider()
    {
        let clock = start();
        let inner = Flaky::new(|| ProviderError::Server { status: 500 });
        let breaker = breaker(Arc::clone(&inner), &clock);
        for _ in 0..5 {
            assert!(matches!(
                breaker.send_sms(&sms()).await,
                Err(ProviderError::Server { .. })
            ));
        }
        assert!(matches!(breaker.circuit(), Circuit::Open { .. }));
        for _ in 0..10 {
            assert!(matches!(
                breaker.send_sms(&sms()).await,
                Err(ProviderError::CircuitOpen)
            ));
        }
        assert_eq!(
            inner.sent.load(Ordering::SeqCst),
            5,
            "nothing more reached it"
        );
    }

    #[tokio::test]
    async fn after_the_cooldown_one_trial_goes_and_its_success_closes_the_circuit() {
        let clock = start();
        let inner = Flaky::new(|| ProviderError::Unreachable);
        let breaker = breaker(Arc::clone(&inner), &clock);
        for _ in 0..5 {
            let _ = breaker.send_sms(&sms()).await;
        }
        clock.advance(TimeDelta::seconds(14));
        assert!(matches!(
            breaker.send_sms(&sms()).await,
            Err(ProviderError::CircuitOpen)
        ));
        clock.advance(TimeDelta::seconds(1));
        inner.failing.store(false, Ordering::SeqCst);
        assert_eq!(
            breaker
                .send_sms(&sms())
                .await
                .expect("the trial goes through"),
            "SM0"
        );
        assert_eq!(breaker.circuit(), Circuit::Closed { failures: 0 });
        assert_eq!(inner.sent.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn a_failed_trial_opens_the_circuit_twice_as_long_up_to_the_cap() {
        let clock = start();
        let inner = Flaky::new(|| ProviderError::OutcomeUnknown);
        let breaker = breaker(Arc::clone(&inner), &clock);
        for _ in 0..5 {
            let _ = breaker.send_sms(&sms()).await;
        }
        let mut expected = TimeDelta::seconds(15);
        for _ in 0..6 {
            clock.advance(expected);
            assert!(matches!(
                breaker.send_sms(&sms()).await,
                Err(ProviderError::OutcomeUnknown)
            ));
            expected = (expected * 2).min(TimeDelta::minutes(2));
            match breaker.circuit() {
                Circuit::Open { cooldown, .. } => assert_eq!(cooldown, expected),
                other => panic!("expected an open circuit, found {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn refusals_of_one_request_do_not_count_against_the_provider() {
        let clock = start();
        let inner = Flaky::new(|| ProviderError::InvalidNumber { code: 21211 });
        let breaker = breaker(Arc::clone(&inner), &clock);
        for _ in 0..20 {
            assert!(matches!(
                breaker.send_sms(&sms()).await,
                Err(ProviderError::InvalidNumber { .. })
            ));
        }
        assert_eq!(breaker.circuit(), Circuit::Closed { failures: 0 });
        assert_eq!(inner.sent.load(Ordering::SeqCst), 20);
    }

    #[test]
    fn a_trial_whose_answer_is_lost_is_followed_by_another_after_a_cooldown() {
        let clock = start();
        let breaker = breaker(Flaky::new(|| ProviderError::Unreachable), &clock);
        for _ in 0..5 {
            breaker.record(&Err::<(), _>(ProviderError::Unreachable));
        }
        clock.advance(TimeDelta::seconds(15));
        assert!(breaker.admit().is_ok(), "the trial goes");
        assert!(matches!(breaker.admit(), Err(ProviderError::CircuitOpen)));
        clock.advance(TimeDelta::seconds(15));
        assert!(
            breaker.admit().is_ok(),
            "its answer never came: another trial goes"
        );
    }
}
