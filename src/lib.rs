//! ridealong: commute-time mentoring calls.
//!
//! Mentors register their commute windows once; seekers send one honest request;
//! the matcher pairs each request with a slot; at the slot the service calls the
//! mentor and bridges the seeker in. See `DESIGN.md` in the shared folder for the
//! product and its public contract.

pub mod domain;
