//! The domain rules through their public API, by plain function calls: no app,
//! database or clock, so none of the `it` harness. Daylight-saving edges worked
//! out by hand ([`dst`]), properties checked against `jiff`'s independent
//! time-zone implementation ([`properties`]), and the matcher against a planner
//! written straight from the rules ([`matching_reference`]).

mod dst;
mod matching_reference;
mod properties;
