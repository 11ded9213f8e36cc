//! ridealong: commute-time mentoring calls.
//!
//! Mentors register their commute windows once; seekers send one honest request;
//! the matcher pairs each request with a slot; at the slot the service calls the
//! mentor and bridges the seeker in.
//!
//! Data flows one way: the doors (web pages, the JSON API, the provider's
//! webhooks, the CLI) call the use cases in [`service`], which write to the
//! store; the scheduler reads it, applies the domain rules, writes back and
//! drives the provider. Domain code never touches the database, the clock or the
//! network.

pub mod app;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod ids;
pub mod metrics;
pub mod scheduler;
pub mod secret;
pub mod service;
pub mod store;
pub mod telephony;
pub mod tokens;
pub mod web;
