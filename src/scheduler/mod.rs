//! Background work: tokio tasks that read the store, apply domain rules and write
//! back. They use `anyhow` for errors, log each one once, and keep running.
//!
//! Lives here: the matcher, the dispatcher, the reconciler, the notifier, the
//! webhook deliverer and the housekeeper, each with a `spawn` loop and a
//! `run_once` the tests call. May not: answer HTTP or write a sentence for a
//! person beyond the domain's notice texts; doors reach the scheduler only
//! through handles (e.g. nudging the matcher).

pub mod dispatcher;
pub mod housekeeping;
pub mod matcher;
pub mod notifier;
pub mod reconciler;
pub mod webhooks;
