//! Black-box tests of ridealong in one binary, a module per area: run one area
//! with `cargo test --test it crash_recovery::`. They start the real app on port 0
//! against a fresh database per test (SQLite, or PostgreSQL when
//! `RIDEALONG_TEST_POSTGRES_URL` is set) and talk to it over HTTP; [`helpers`] is
//! the harness they share.

mod helpers;

mod api_health;
mod api_matching;
mod api_mentors;
mod api_requests;
mod api_validation;
mod bench_cli;
mod browser_mentor;
mod browser_operator;
mod browser_seeker;
mod call_back;
mod call_flow;
mod claims;
mod cli;
mod consent;
mod crash_recovery;
mod db_faults;
mod feedback;
mod follow_up;
mod limits;
mod mentor_control;
mod metrics;
mod notices;
mod pages;
mod pages_consent;
mod pages_mentor;
mod pages_operator;
mod pages_seeker;
mod privacy_logs;
mod privacy_masking;
mod reconciler;
mod reminders;
mod screen;
mod serve_twilio;
mod store_booking;
mod store_codes;
mod store_intake;
mod twilio_client;
mod twilio_contract;
mod webhooks;
