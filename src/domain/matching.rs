//! Matching: which pending request gets which mentor slot.
//!
//! Oldest pending request first; each gets the earliest feasible slot at least
//! `min_notice` ahead (counted in whole minutes) and inside the `horizon`; among slots starting at that same
//! instant, a mentor whose topics match the request wins, then the mentor with fewer
//! calls in that ISO week (in the mentor's zone), then the lower mentor id so the
//! result never depends on input order. A mentor never gets two overlapping calls.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, DurationRound, IsoWeek, TimeDelta, Utc};

use super::hours::{CallingHours, SeekerHours};
use super::schedule::{MentorSchedule, Slot};

/// The knobs of matching.
#[derive(Clone, Copy, Debug)]
pub struct MatchPolicy {
    /// How far ahead the earliest bookable slot starts.
    pub min_notice: TimeDelta,
    /// How far ahead slots are considered at all.
    pub horizon: TimeDelta,
    /// Seeker-local span in which calls may happen.
    pub calling_hours: CallingHours,
}

impl Default for MatchPolicy {
    fn default() -> Self {
        MatchPolicy {
            min_notice: TimeDelta::hours(2),
            horizon: TimeDelta::days(14),
            calling_hours: CallingHours::WIDEST,
        }
    }
}

/// A request waiting for a slot.
#[derive(Clone, Debug)]
pub struct OpenRequest {
    /// Request id.
    pub id: i64,
    /// When it was made; older requests are served first.
    pub created_at: DateTime<Utc>,
    /// What the call is about.
    pub topic: String,
    /// When the seeker can be called.
    pub hours: SeekerHours,
}

/// A mentor and the slots they offer.
#[derive(Clone, Debug)]
pub struct MentorSupply {
    /// Mentor id.
    pub id: i64,
    /// Topics the mentor listed.
    pub topics: Vec<String>,
    /// Windows, pauses, call length and capacity.
    pub schedule: MentorSchedule,
}

/// A call already on a mentor's calendar (scheduled, under way or over).
#[derive(Clone, Copy, Debug)]
pub struct BookedCall {
    /// Whose calendar.
    pub mentor_id: i64,
    /// When.
    pub slot: Slot,
}

/// The matcher's decision: this request takes this mentor's slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Booking {
    /// The request served.
    pub request_id: i64,
    /// The mentor who will call.
    pub mentor_id: i64,
    /// When.
    pub slot: Slot,
}

struct Candidate {
    slot: Slot,
    mentor: usize,
    taken: bool,
}

/// Plans bookings for `requests` at instant `now`. `booked` holds the calls already
/// on mentors' calendars, so their slots are not offered again and they count
/// towards the weekly balance. Requests that fit nowhere are left out.
pub fn plan_bookings(
    now: DateTime<Utc>,
    policy: &MatchPolicy,
    requests: &[OpenRequest],
    mentors: &[MentorSupply],
    booked: &[BookedCall],
) -> Vec<Booking> {
    // Notice counts in whole minutes, so a window that opens "in a minute" is
    // bookable with a one-minute notice whatever the seconds on the clock.
    let earliest = (now + policy.min_notice)
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap_or(now + policy.min_notice);
    let latest = now + policy.horizon;
    if latest <= earliest {
        return Vec::new();
    }

    let mut busy: HashMap<i64, Vec<Slot>> = HashMap::new();
    for call in booked {
        busy.entry(call.mentor_id).or_default().push(call.slot);
    }

    let mut candidates: Vec<Candidate> = Vec::new();
    for (index, mentor) in mentors.iter().enumerate() {
        let mentor_busy = busy.get(&mentor.id).map(Vec::as_slice).unwrap_or_default();
        candidates.extend(
            mentor
                .schedule
                .slots(earliest, latest)
                .into_iter()
                .filter(|slot| !mentor_busy.iter().any(|taken| taken.overlaps(slot)))
                .map(|slot| Candidate {
                    slot,
                    mentor: index,
                    taken: false,
                }),
        );
    }
    candidates.sort_by_key(|candidate| (candidate.slot.starts_at, mentors[candidate.mentor].id));

    let mut by_mentor: Vec<Vec<usize>> = vec![Vec::new(); mentors.len()];
    for (index, candidate) in candidates.iter().enumerate() {
        by_mentor[candidate.mentor].push(index);
    }

    let mentor_index: HashMap<i64, usize> = mentors
        .iter()
        .enumerate()
        .map(|(index, mentor)| (mentor.id, index))
        .collect();
    let mut weekly_load: HashMap<(usize, IsoWeek), u32> = HashMap::new();
    for call in booked {
        if let Some(&index) = mentor_index.get(&call.mentor_id) {
            *weekly_load
                .entry((index, week_of(&mentors[index], call.slot)))
                .or_default() += 1;
        }
    }

    let mut order: Vec<&OpenRequest> = requests.iter().collect();
    order.sort_by_key(|request| (request.created_at, request.id));

    let mut bookings = Vec::new();
    let mut first_free = 0;
    for request in order {
        while candidates
            .get(first_free)
            .is_some_and(|candidate| candidate.taken)
        {
            first_free += 1;
        }
        let Some(chosen) = choose(request, &candidates[first_free..], mentors, &weekly_load)
            .map(|offset| first_free + offset)
        else {
            continue;
        };
        let Candidate { slot, mentor, .. } = candidates[chosen];
        for &index in &by_mentor[mentor] {
            if candidates[index].slot.overlaps(&slot) {
                candidates[index].taken = true;
            }
        }
        *weekly_load
            .entry((mentor, week_of(&mentors[mentor], slot)))
            .or_default() += 1;
        bookings.push(Booking {
            request_id: request.id,
            mentor_id: mentors[mentor].id,
            slot,
        });
    }
    bookings
}

/// The index in `candidates` of the best slot for `request`: the earliest start it
/// can take, then topic match, then weekly load, then mentor id.
fn choose(
    request: &OpenRequest,
    candidates: &[Candidate],
    mentors: &[MentorSupply],
    weekly_load: &HashMap<(usize, IsoWeek), u32>,
) -> Option<usize> {
    let mut last_checked: Option<(Slot, bool)> = None;
    let mut permits = |slot: Slot| match last_checked {
        Some((checked, verdict)) if checked == slot => verdict,
        _ => {
            let verdict = request.hours.permits(slot.starts_at, slot.ends_at);
            last_checked = Some((slot, verdict));
            verdict
        }
    };
    let first = candidates
        .iter()
        .position(|candidate| !candidate.taken && permits(candidate.slot))?;
    let starts_at = candidates[first].slot.starts_at;
    let topic = request.topic.to_lowercase();
    candidates[first..]
        .iter()
        .enumerate()
        .take_while(|(_, candidate)| candidate.slot.starts_at == starts_at)
        .filter(|(_, candidate)| !candidate.taken && permits(candidate.slot))
        .min_by_key(|(_, candidate)| {
            let mentor = &mentors[candidate.mentor];
            let topic_match = mentor
                .topics
                .iter()
                .any(|listed| listed.to_lowercase() == topic);
            let load = weekly_load
                .get(&(candidate.mentor, week_of(mentor, candidate.slot)))
                .copied()
                .unwrap_or(0);
            (!topic_match, load, mentor.id)
        })
        .map(|(offset, _)| first + offset)
}

fn week_of(mentor: &MentorSupply, slot: Slot) -> IsoWeek {
    slot.starts_at
        .with_timezone(&mentor.schedule.zone)
        .iso_week()
}
