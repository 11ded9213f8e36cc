//! Matching: which pending request gets which mentor slot.
//!
//! Oldest pending request first; each gets the earliest feasible slot at least
//! `min_notice` ahead (counted in whole minutes) and inside the `horizon`; among slots starting at that same
//! instant, a mentor whose topics match the request wins, then the mentor with fewer
//! calls in that ISO week (in the mentor's zone), then the lower mentor id so the
//! result never depends on input order. A mentor never gets two overlapping calls,
//! and under the provider's concurrent-call limit no instant holds more calls than
//! it allows ([`CallCapacity`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Range;

use chrono::{DateTime, Datelike, DurationRound, IsoWeek, TimeDelta, Utc};

use super::concurrency::CallCapacity;
use super::hours::{CallingHours, SeekerHours};
use super::schedule::{MentorSchedule, Slot};
use crate::ids::{MentorId, RequestId};

/// The knobs of matching.
#[derive(Clone, Copy, Debug)]
pub struct MatchPolicy {
    /// How far ahead the earliest bookable slot starts.
    pub min_notice: TimeDelta,
    /// How far ahead slots are considered at all.
    pub horizon: TimeDelta,
    /// Seeker-local span in which calls may happen.
    pub calling_hours: CallingHours,
    /// Most calls under way at once, from the provider's concurrent-call limit
    /// ([`super::concurrency::calls_at_once`]); `None` for no limit.
    pub calls_at_once: Option<usize>,
}

impl Default for MatchPolicy {
    fn default() -> Self {
        MatchPolicy {
            min_notice: TimeDelta::hours(2),
            horizon: TimeDelta::days(14),
            calling_hours: CallingHours::WIDEST,
            calls_at_once: None,
        }
    }
}

/// A request waiting for a slot.
#[derive(Clone, Debug)]
pub struct OpenRequest {
    /// Request id.
    pub id: RequestId,
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
    pub id: MentorId,
    /// Topics the mentor listed.
    pub topics: Vec<String>,
    /// Windows, pauses, call length and capacity.
    pub schedule: MentorSchedule,
}

/// A call already on a mentor's calendar (scheduled, under way or over).
#[derive(Clone, Copy, Debug)]
pub struct BookedCall {
    /// Whose calendar.
    pub mentor_id: MentorId,
    /// When.
    pub slot: Slot,
}

/// The matcher's decision: this request takes this mentor's slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Booking {
    /// The request served.
    pub request_id: RequestId,
    /// The mentor who will call.
    pub mentor_id: MentorId,
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

/// Candidates sharing one exact slot (start and end): `candidates[range]`, by
/// mentor id, and how many of them are still free. A seeker's hours give one
/// verdict for the whole group.
struct SlotGroup {
    slot: Slot,
    range: Range<usize>,
    free: usize,
}

/// A heap entry: the mentor's weekly load when the entry was pushed, the
/// mentor's rank by id, and the candidate's index. Min-ordered through `Reverse`.
type Entry = Reverse<(u32, u32, u32)>;

/// The free candidates of one slot group ordered for the tie-break: all of them,
/// and those of each topic a mentor of the group lists (sorted by topic id).
///
/// Entries are updated lazily: a load only ever grows, so an entry's stored load
/// is at most its mentor's current one, and the top entry is the true minimum as
/// soon as its stored load is current (any other entry's true key is at least its
/// stored key, which is at least the top's). Taken candidates are dropped when
/// they surface.
struct Shelf {
    all: BinaryHeap<Entry>,
    by_topic: Vec<(usize, BinaryHeap<Entry>)>,
}

impl Shelf {
    fn topic(&mut self, topic: usize) -> Option<&mut BinaryHeap<Entry>> {
        let at = self
            .by_topic
            .binary_search_by_key(&topic, |(listed, _)| *listed)
            .ok()?;
        Some(&mut self.by_topic[at].1)
    }
}

/// The best free candidate of `heap` with its current key (load, rank).
fn best_free(
    heap: &mut BinaryHeap<Entry>,
    candidates: &[Candidate],
    weekly_load: &WeeklyLoad,
) -> Option<(u32, u32, usize)> {
    while let Some(&Reverse((load, rank, index))) = heap.peek() {
        let candidate = &candidates[index as usize];
        if candidate.taken {
            heap.pop();
            continue;
        }
        let current = weekly_load.get(candidate.mentor, candidate.week);
        if current != load {
            heap.pop();
            heap.push(Reverse((current, rank, index)));
            continue;
        }
        return Some((load, rank, index as usize));
    }
    None
}

/// Plans bookings for `requests` at instant `now`. `booked` holds the calls already
/// on mentors' calendars, so their slots are not offered again and they count
/// towards the weekly balance. Requests that fit nowhere are left out.
///
/// Candidate slots are sorted by start and grouped by exact slot; each group keeps
/// its free candidates in heaps ordered by (weekly load, mentor id), one over all
/// of them and one per topic. Requests with the same hours form a class, and each
/// class keeps a cursor on the first group it may take that still has a free
/// slot; groups only ever fill up, so a cursor only moves forward. A request then
/// costs its class's cursor step, a look at the groups of that one start instant
/// and a heap operation or two: about `n log n` for the whole plan.
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

    let mut busy: HashMap<MentorId, Vec<Slot>> = HashMap::new();
    for call in booked {
        busy.entry(call.mentor_id).or_default().push(call.slot);
    }
    let mut capacity = policy.calls_at_once.map(|at_once| {
        let mut capacity = CallCapacity::new(at_once);
        for call in booked {
            capacity.add(call.slot);
        }
        capacity
    });

    // Mentors ranked by id (then input position), so ties never depend on input order.
    let mut by_id: Vec<usize> = (0..mentors.len()).collect();
    by_id.sort_by_key(|&index| (mentors[index].id, index));
    let mut rank = vec![0u32; mentors.len()];
    for (position, &index) in by_id.iter().enumerate() {
        rank[index] = position as u32;
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
    candidates.sort_unstable_by_key(|candidate| (candidate.slot, rank[candidate.mentor]));

    let mut groups: Vec<SlotGroup> = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        match groups.last_mut() {
            Some(group) if group.slot == candidate.slot => {
                group.range.end = index + 1;
                group.free += 1;
            }
            _ => groups.push(SlotGroup {
                slot: candidate.slot,
                range: index..index + 1,
                free: 1,
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
            let mut ids: Vec<usize> = mentor
                .topics
                .iter()
                .map(|topic| {
                    let next = topic_ids.len();
                    *topic_ids.entry(topic.to_lowercase()).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect();

    let mentor_index: HashMap<MentorId, usize> = mentors
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

    let mut shelves: Vec<Shelf> = groups
        .iter()
        .map(|group| {
            let mut all = Vec::with_capacity(group.range.len());
            let mut by_topic: Vec<(usize, Vec<Entry>)> = Vec::new();
            for index in group.range.clone() {
                let Candidate { mentor, week, .. } = candidates[index];
                let entry = Reverse((weekly_load.get(mentor, week), rank[mentor], index as u32));
                all.push(entry);
                for &topic in &topics[mentor] {
                    match by_topic.binary_search_by_key(&topic, |(listed, _)| *listed) {
                        Ok(at) => by_topic[at].1.push(entry),
                        Err(at) => by_topic.insert(at, (topic, vec![entry])),
                    }
                }
            }
            Shelf {
                all: BinaryHeap::from(all),
                by_topic: by_topic
                    .into_iter()
                    .map(|(topic, entries)| (topic, BinaryHeap::from(entries)))
                    .collect(),
            }
        })
        .collect();

    let mut order: Vec<&OpenRequest> = requests.iter().collect();
    order.sort_by_key(|request| (request.created_at, request.id));

    // Seekers with the same hours get the same verdict on a slot: ask once, and
    // keep one cursor per such class.
    let mut hours_class: HashMap<&SeekerHours, usize> = HashMap::new();
    let mut cursors: Vec<usize> = Vec::new();
    let mut verdicts: HashMap<(usize, usize), bool> = HashMap::new();

    let mut bookings = Vec::new();
    let mut first_open = 0;
    for request in order {
        let class = *hours_class.entry(&request.hours).or_insert_with(|| {
            cursors.push(0);
            cursors.len() - 1
        });
        while groups.get(first_open).is_some_and(|group| group.free == 0) {
            first_open += 1;
        }
        let mut may_take =
            |groups: &mut [SlotGroup], candidates: &mut [Candidate], number: usize| {
                let group = &mut groups[number];
                if group.free == 0 {
                    return false;
                }
                // Calls only ever add up, so a slot the limit fills stays full: close
                // it for every request.
                if capacity
                    .as_ref()
                    .is_some_and(|capacity| !capacity.fits(group.slot))
                {
                    for candidate in &mut candidates[group.range.clone()] {
                        candidate.taken = true;
                    }
                    group.free = 0;
                    return false;
                }
                *verdicts.entry((class, number)).or_insert_with(|| {
                    request
                        .hours
                        .permits(group.slot.starts_at, group.slot.ends_at)
                })
            };
        let mut at = cursors[class].max(first_open);
        while at < groups.len() && !may_take(&mut groups, &mut candidates, at) {
            at += 1;
        }
        cursors[class] = at;
        let Some(start) = groups.get(at).map(|group| group.slot.starts_at) else {
            continue;
        };

        // The best candidate among the groups of this start instant the request
        // may take: topic match first, then weekly load, then mentor id.
        let topic = topic_ids.get(&request.topic.to_lowercase()).copied();
        let mut best: Option<((bool, u32, u32), usize)> = None;
        for number in at..groups.len() {
            if groups[number].slot.starts_at != start {
                break;
            }
            if !may_take(&mut groups, &mut candidates, number) {
                continue;
            }
            let shelf = &mut shelves[number];
            let found = topic
                .and_then(|topic| shelf.topic(topic))
                .and_then(|heap| best_free(heap, &candidates, &weekly_load))
                .map(|(load, rank, index)| ((false, load, rank), index))
                .or_else(|| {
                    best_free(&mut shelf.all, &candidates, &weekly_load)
                        .map(|(load, rank, index)| ((true, load, rank), index))
                });
            if let Some(found) = found
                && best.is_none_or(|best| found.0 < best.0)
            {
                best = Some(found);
            }
        }
        let Some((_, chosen)) = best else {
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
        if let Some(capacity) = &mut capacity {
            capacity.add(slot);
        }
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

fn week_of(mentor: &MentorSupply, slot: Slot) -> IsoWeek {
    slot.starts_at
        .with_timezone(&mentor.schedule.zone)
        .iso_week()
}
