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
    /// The ISO week of the slot in the mentor's zone, for the weekly balance, as
    /// an index into the weeks seen (see `week_numbers`).
    week: usize,
    taken: bool,
}

/// Candidates sharing one start instant: `candidates[range]`, and how many of
/// them are still free, so runs of fully booked instants are skipped whole.
struct StartGroup {
    range: std::ops::Range<usize>,
    free: usize,
    /// The slot every candidate of the group has, when they all have the same
    /// (the usual case: one call length), so a request whose hours refuse it
    /// skips the group without looking at its candidates.
    uniform: Option<Slot>,
}

/// Plans bookings for `requests` at instant `now`. `booked` holds the calls already
/// on mentors' calendars, so their slots are not offered again and they count
/// towards the weekly balance. Requests that fit nowhere are left out.
///
/// Candidate slots are sorted by start and grouped by start instant; each request
/// walks the groups that still have a free slot, asks its calling hours once per
/// group and slot length, and picks within the first group it can take. So a
/// request costs the number of distinct start instants it passes, not the number
/// of slots already booked before it.
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

    let mut week_numbers: HashMap<IsoWeek, usize> = HashMap::new();
    let mut week_number = |week: IsoWeek| {
        let next = week_numbers.len();
        *week_numbers.entry(week).or_insert(next)
    };
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
                    week: week_number(week_of(mentor, slot)),
                    taken: false,
                }),
        );
    }
    candidates.sort_by_key(|candidate| (candidate.slot.starts_at, mentors[candidate.mentor].id));

    let mut groups: Vec<StartGroup> = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        match groups.last_mut() {
            Some(group)
                if candidates[group.range.start].slot.starts_at == candidate.slot.starts_at =>
            {
                group.range.end = index + 1;
                group.free += 1;
                group.uniform = group.uniform.filter(|slot| *slot == candidate.slot);
            }
            _ => groups.push(StartGroup {
                range: index..index + 1,
                free: 1,
                uniform: Some(candidate.slot),
            }),
        }
    }
    let mut group_of = vec![0; candidates.len()];
    for (number, group) in groups.iter().enumerate() {
        group_of[group.range.clone()].fill(number);
    }

    let mut by_mentor: Vec<Vec<usize>> = vec![Vec::new(); mentors.len()];
    for (index, candidate) in candidates.iter().enumerate() {
        by_mentor[candidate.mentor].push(index);
    }
    // Topics compared as small numbers: equal lowercased texts, equal ids.
    let mut topic_ids: HashMap<String, usize> = HashMap::new();
    let topics: Vec<Vec<usize>> = mentors
        .iter()
        .map(|mentor| {
            mentor
                .topics
                .iter()
                .map(|topic| {
                    let next = topic_ids.len();
                    *topic_ids.entry(topic.to_lowercase()).or_insert(next)
                })
                .collect()
        })
        .collect();

    let mentor_index: HashMap<i64, usize> = mentors
        .iter()
        .enumerate()
        .map(|(index, mentor)| (mentor.id, index))
        .collect();
    let booked_weeks: Vec<(usize, usize)> = booked
        .iter()
        .filter_map(|call| {
            let &index = mentor_index.get(&call.mentor_id)?;
            Some((index, week_number(week_of(&mentors[index], call.slot))))
        })
        .collect();
    let weeks = week_numbers.len();
    let mut weekly_load = WeeklyLoad {
        weeks,
        counts: vec![0; mentors.len() * weeks],
    };
    for (mentor, week) in booked_weeks {
        *weekly_load.get_mut(mentor, week) += 1;
    }

    let mut order: Vec<&OpenRequest> = requests.iter().collect();
    order.sort_by_key(|request| (request.created_at, request.id));

    // Seekers with the same hours get the same verdict on a slot: ask once.
    let mut hours_class: HashMap<&SeekerHours, usize> = HashMap::new();
    let mut verdicts: HashMap<(usize, usize), bool> = HashMap::new();

    let mut bookings = Vec::new();
    let mut first_group = 0;
    for request in order {
        let next_class = hours_class.len();
        let class = *hours_class.entry(&request.hours).or_insert(next_class);
        while groups.get(first_group).is_some_and(|group| group.free == 0) {
            first_group += 1;
        }
        let pick = Pick {
            request,
            topic: topic_ids.get(&request.topic.to_lowercase()).copied(),
            candidates: &candidates,
            mentors,
            topics: &topics,
            weekly_load: &weekly_load,
        };
        let Some(chosen) = groups
            .iter()
            .enumerate()
            .skip(first_group)
            .filter(|(_, group)| group.free > 0)
            .filter(|(number, group)| {
                group.uniform.is_none_or(|slot| {
                    *verdicts
                        .entry((class, *number))
                        .or_insert_with(|| request.hours.permits(slot.starts_at, slot.ends_at))
                })
            })
            .find_map(|(_, group)| pick.best_in(group.range.clone()))
        else {
            continue;
        };
        let Candidate {
            slot, mentor, week, ..
        } = candidates[chosen];
        for &index in &by_mentor[mentor] {
            let candidate = &mut candidates[index];
            if !candidate.taken && candidate.slot.overlaps(&slot) {
                candidate.taken = true;
                groups[group_of[index]].free -= 1;
            }
        }
        *weekly_load.get_mut(mentor, week) += 1;
        bookings.push(Booking {
            request_id: request.id,
            mentor_id: mentors[mentor].id,
            slot,
        });
    }
    bookings
}

/// Calls per mentor and week (both as indexes), in one flat table.
struct WeeklyLoad {
    weeks: usize,
    counts: Vec<u32>,
}

impl WeeklyLoad {
    fn get(&self, mentor: usize, week: usize) -> u32 {
        self.counts[mentor * self.weeks + week]
    }

    fn get_mut(&mut self, mentor: usize, week: usize) -> &mut u32 {
        &mut self.counts[mentor * self.weeks + week]
    }
}

/// What choosing a slot for one request looks at.
struct Pick<'a> {
    request: &'a OpenRequest,
    /// The request's topic as a topic id; `None` when no mentor lists it.
    topic: Option<usize>,
    candidates: &'a [Candidate],
    mentors: &'a [MentorSupply],
    /// Each mentor's topic ids.
    topics: &'a [Vec<usize>],
    weekly_load: &'a WeeklyLoad,
}

impl Pick<'_> {
    /// The index of the best free slot in `group` (one start instant) that the
    /// request can take: topic match first, then weekly load, then mentor id.
    /// The seeker's hours are asked once per distinct slot in the group.
    fn best_in(&self, group: std::ops::Range<usize>) -> Option<usize> {
        let mut verdicts: Vec<(Slot, bool)> = Vec::new();
        let mut permits = |slot: Slot| {
            if let Some(&(_, verdict)) = verdicts.iter().find(|(checked, _)| *checked == slot) {
                return verdict;
            }
            let verdict = self.request.hours.permits(slot.starts_at, slot.ends_at);
            verdicts.push((slot, verdict));
            verdict
        };
        group
            .filter(|&index| {
                let candidate = &self.candidates[index];
                !candidate.taken && permits(candidate.slot)
            })
            .min_by_key(|&index| {
                let candidate = &self.candidates[index];
                let topic_match = self
                    .topic
                    .is_some_and(|topic| self.topics[candidate.mentor].contains(&topic));
                let load = self.weekly_load.get(candidate.mentor, candidate.week);
                (!topic_match, load, self.mentors[candidate.mentor].id)
            })
    }
}

fn week_of(mentor: &MentorSupply, slot: Slot) -> IsoWeek {
    slot.starts_at
        .with_timezone(&mentor.schedule.zone)
        .iso_week()
}
