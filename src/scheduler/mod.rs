//! Background work: tokio tasks that read the store, apply domain rules and write
//! back. They use `anyhow` for errors, log each one once, and keep running.

pub mod dispatcher;
pub mod housekeeping;
pub mod matcher;
pub mod notifier;
pub mod reconciler;
