//! Matching: which pending request gets which mentor slot.
//!
//! Oldest pending request first; each gets the earliest feasible slot at least
//! `min_notice` ahead (counted in whole minutes) and inside the `horizon`; among slots starting at that same
//! instant, a mentor whose topics match the request wins, then the mentor with fewer
//! calls in that ISO week (in the mentor's zone), then the lower mentor id so the
//! result never depends on input order. A mentor never gets two overlapping calls,
//! and under the provider's concurrent-call limit no instant holds more calls than
//! it allows ([`CallCapacity`]).
//!
//! Two per-request preferences bend the choice of mentor, never the order of
//! requests:
//! - a request taken back from a mentor ([`OpenRequest::avoid_mentor`]) gets the
//!   earliest slot any *other* mentor can give, with the tie-breaks above among
//!   them; only when no other mentor has a slot at all does it go back to the
//!   avoided one;
//! - a request that asks for a mentor again ([`OpenRequest::preferred_mentor`])
//!   gets that mentor's earliest slot starting before the preference's deadline;
//!   when there is none, it is matched like any other. A preference for the
//!   mentor it avoids is ignored: taking a call back outranks asking for them.
//!
//! Longer than most modules because the planner and its index structures (slot
//! groups, candidate heaps, shared cursors) only make sense together; a quarter
//! of it is unit tests.

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
    /// The mentor this request was taken back from (they canceled its call):
    /// booked with another mentor where one has a slot, with this one only when
    /// nobody else has.
    pub avoid_mentor: Option<MentorId>,
    /// The mentor the seeker asked to talk to again, and until when that holds
    /// ([`PREFERENCE_HOLDS`] after it was made): booked into that mentor's
    /// earliest slot starting before then, or with anyone when there is none.
    pub preferred_mentor: Option<(MentorId, DateTime<Utc>)>,
}

/// How long a seeker's wish to talk to one mentor again holds, from when it was
/// made; after that the request is matched with anyone.
pub const PREFERENCE_HOLDS: TimeDelta = TimeDelta::days(7);

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

/// [`best_free`], passing over the candidates of mentor `except` (their entries
/// stay in the heap).
fn best_free_except(
    heap: &mut BinaryHeap<Entry>,
    candidates: &[Candidate],
    weekly_load: &WeeklyLoad,
    except: Option<usize>,
) -> Option<(u32, u32, usize)> {
    let Some(except) = except else {
        return best_free(heap, candidates, weekly_load);
    };
    let mut set_aside = Vec::new();
    let found = loop {
        match best_free(heap, candidates, weekly_load) {
            Some((_, _, index)) if candidates[index].mentor == except => {
                set_aside.extend(heap.pop());
            }
            found => break found,
        }
    };
    heap.extend(set_aside);
    found
}

/// The state of a plan that the ways of choosing a candidate share.
struct Board<'a> {
    groups: &'a mut [SlotGroup],
    candidates: &'a mut [Candidate],
    shelves: &'a mut [Shelf],
    weekly_load: &'a WeeklyLoad,
}

/// The best candidate among the groups starting at `groups[at]`'s instant that
/// the request may take (`may_take`), passing over mentor `except`: topic match
/// first, then weekly load, then mentor id.
fn best_of_instant(
    board: &mut Board<'_>,
    at: usize,
    topic: Option<usize>,
    except: Option<usize>,
    may_take: &mut impl FnMut(&mut [SlotGroup], &mut [Candidate], usize) -> bool,
) -> Option<usize> {
    let start = board.groups.get(at)?.slot.starts_at;
    let mut best: Option<((bool, u32, u32), usize)> = None;
    for number in at..board.groups.len() {
        if board.groups[number].slot.starts_at != start {
            break;
        }
        if !may_take(board.groups, board.candidates, number) {
            continue;
        }
        let shelf = &mut board.shelves[number];
        let (candidates, weekly_load) = (&*board.candidates, board.weekly_load);
        let found = topic
            .and_then(|topic| shelf.topic(topic))
            .and_then(|heap| best_free_except(heap, candidates, weekly_load, except))
            .map(|(load, rank, index)| ((false, load, rank), index))
            .or_else(|| {
                best_free_except(&mut shelf.all, candidates, weekly_load, except)
                    .map(|(load, rank, index)| ((true, load, rank), index))
            });
        if let Some(found) = found
            && best.is_none_or(|best| found.0 < best.0)
        {
            best = Some(found);
        }
    }
    best.map(|(_, chosen)| chosen)
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
///
/// Requests with a mentor preference (few) take a slower path in the same pass,
/// so "oldest first" holds across both kinds: a preferred mentor's candidates
/// are walked in start order, and a request avoiding a mentor scans the groups
/// from its class's cursor for one with a free candidate of someone else.
/// Neither moves a cursor: what they skip may still suit the class.
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
        let topic = topic_ids.get(&request.topic.to_lowercase()).copied();
        let avoided = request
            .avoid_mentor
            .and_then(|id| mentor_index.get(&id).copied());
        let mut board = Board {
            groups: &mut groups,
            candidates: &mut candidates,
            shelves: &mut shelves,
            weekly_load: &weekly_load,
        };
        let mut chosen = None;

        // Asked for a mentor again: that mentor's earliest slot before the deadline.
        if let Some((preferred, deadline)) = request.preferred_mentor
            && request.avoid_mentor != Some(preferred)
            && let Some(&mentor) = mentor_index.get(&preferred)
        {
            for &index in &by_mentor[mentor] {
                let candidate = &board.candidates[index];
                if candidate.slot.starts_at >= deadline {
                    break;
                }
                if !candidate.taken && may_take(board.groups, board.candidates, group_of[index]) {
                    chosen = Some(index);
                    break;
                }
            }
        }

        // Taken back from a mentor: the first instant someone else can give.
        if chosen.is_none()
            && let Some(avoided) = avoided
        {
            let mut theirs: HashMap<usize, usize> = HashMap::new();
            for &index in &by_mentor[avoided] {
                if !board.candidates[index].taken {
                    *theirs.entry(group_of[index]).or_default() += 1;
                }
            }
            let mut at = cursors[class].max(first_open);
            while at < board.groups.len()
                && !(may_take(board.groups, board.candidates, at)
                    && board.groups[at].free > theirs.get(&at).copied().unwrap_or(0))
            {
                at += 1;
            }
            chosen = best_of_instant(&mut board, at, topic, Some(avoided), &mut may_take);
        }

        // Everyone else, and the fallbacks: the class's cursor.
        if chosen.is_none() {
            let mut at = cursors[class].max(first_open);
            while at < board.groups.len() && !may_take(board.groups, board.candidates, at) {
                at += 1;
            }
            cursors[class] = at;
            chosen = best_of_instant(&mut board, at, topic, None, &mut may_take);
        }
        let Some(chosen) = chosen else {
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

#[cfg(test)]
mod tests {
    use chrono_tz::America::New_York;

    use super::*;
    use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};

    /// Monday 2026-11-30 05:00 in New York; with no notice, Monday's windows
    /// are the earliest.
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn policy() -> MatchPolicy {
        MatchPolicy {
            min_notice: TimeDelta::zero(),
            ..MatchPolicy::default()
        }
    }

    /// Mentor `id` with a 30-minute window every day at `hour`:00 New York time.
    fn mentor(id: i64, hour: u32) -> MentorSupply {
        let time = |minute| LocalTime::from_hm(hour, minute).unwrap();
        MentorSupply {
            id: MentorId(id),
            topics: vec!["interviews".to_owned()],
            schedule: MentorSchedule {
                zone: New_York,
                call_minutes: 15,
                max_calls_per_window: None,
                windows: vec![
                    WeeklyRange::new(Weekdays::ALL, time(0), time(30), New_York).unwrap(),
                ],
                pauses: Vec::new(),
            },
        }
    }

    /// Request `id`, made `minutes_old` minutes before now, free every day.
    fn request(id: i64, minutes_old: i64) -> OpenRequest {
        let every_day = WeeklyRange::new(
            Weekdays::ALL,
            CallingHours::WIDEST.start(),
            CallingHours::WIDEST.end(),
            New_York,
        )
        .unwrap();
        OpenRequest {
            id: RequestId(id),
            created_at: now() - TimeDelta::minutes(minutes_old),
            topic: "interviews".to_owned(),
            hours: SeekerHours::new(New_York, vec![every_day], CallingHours::WIDEST),
            avoid_mentor: None,
            preferred_mentor: None,
        }
    }

    /// Who got what: (request, mentor, start).
    fn plan(requests: &[OpenRequest], mentors: &[MentorSupply]) -> Vec<(i64, i64, DateTime<Utc>)> {
        plan_bookings(now(), &policy(), requests, mentors, &[])
            .into_iter()
            .map(|booking| {
                (
                    booking.request_id.0,
                    booking.mentor_id.0,
                    booking.slot.starts_at,
                )
            })
            .collect()
    }

    /// Mentor 1 calls at 08:00 New York time, mentor 2 at 09:00.
    fn two_mentors() -> Vec<MentorSupply> {
        vec![mentor(1, 8), mentor(2, 9)]
    }

    #[test]
    fn a_request_taken_back_goes_to_another_mentor_even_later() {
        let mut taken_back = request(10, 60);
        assert_eq!(
            plan(std::slice::from_ref(&taken_back), &two_mentors()),
            [(10, 1, at("2026-11-30T13:00:00Z"))]
        );
        taken_back.avoid_mentor = Some(MentorId(1));
        assert_eq!(
            plan(&[taken_back], &two_mentors()),
            [(10, 2, at("2026-11-30T14:00:00Z"))]
        );
    }

    #[test]
    fn a_request_taken_back_returns_to_that_mentor_when_nobody_else_has_a_slot() {
        let mut taken_back = request(10, 60);
        taken_back.avoid_mentor = Some(MentorId(1));
        assert_eq!(
            plan(&[taken_back], &[mentor(1, 8)]),
            [(10, 1, at("2026-11-30T13:00:00Z"))]
        );
    }

    #[test]
    fn a_preferred_mentor_is_booked_before_the_deadline_and_anyone_after_it() {
        let mut again = request(10, 60);
        again.preferred_mentor = Some((MentorId(2), now() + PREFERENCE_HOLDS));
        assert_eq!(
            plan(std::slice::from_ref(&again), &two_mentors()),
            [(10, 2, at("2026-11-30T14:00:00Z"))]
        );
        // Mentor 2's first slot starts at the deadline: too late, anyone it is.
        again.preferred_mentor = Some((MentorId(2), at("2026-11-30T14:00:00Z")));
        assert_eq!(
            plan(&[again], &two_mentors()),
            [(10, 1, at("2026-11-30T13:00:00Z"))]
        );
    }

    #[test]
    fn a_preferred_mentor_fully_booked_until_the_deadline_gives_way_to_anyone() {
        let mut again = request(10, 60);
        // Mentor 2's Monday slots are taken by two older requests that prefer them.
        let mut older: Vec<OpenRequest> = (0..2)
            .map(|n| {
                let mut older = request(n, 120 - n);
                older.preferred_mentor = Some((MentorId(2), now() + PREFERENCE_HOLDS));
                older
            })
            .collect();
        again.preferred_mentor = Some((MentorId(2), at("2026-12-01T00:00:00Z")));
        older.push(again);
        assert_eq!(
            plan(&older, &two_mentors()),
            [
                (0, 2, at("2026-11-30T14:00:00Z")),
                (1, 2, at("2026-11-30T14:15:00Z")),
                (10, 1, at("2026-11-30T13:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_preference_for_the_mentor_avoided_is_ignored() {
        let mut both = request(10, 60);
        both.avoid_mentor = Some(MentorId(2));
        both.preferred_mentor = Some((MentorId(2), now() + PREFERENCE_HOLDS));
        assert_eq!(
            plan(&[both], &two_mentors()),
            [(10, 1, at("2026-11-30T13:00:00Z"))]
        );
    }

    #[test]
    fn the_oldest_request_goes_first_whatever_its_preferences() {
        // An older plain request takes mentor 1's first slot before a younger
        // request that prefers mentor 1 …
        let plain = request(10, 60);
        let mut again = request(11, 30);
        again.preferred_mentor = Some((MentorId(1), now() + PREFERENCE_HOLDS));
        assert_eq!(
            plan(&[again.clone(), plain.clone()], &two_mentors()),
            [
                (10, 1, at("2026-11-30T13:00:00Z")),
                (11, 1, at("2026-11-30T13:15:00Z")),
            ]
        );
        // … and an older request avoiding mentor 1 takes mentor 2's one slot of
        // the day before a younger request whose topic only mentor 2 lists.
        let mut taken_back = request(9, 90);
        taken_back.avoid_mentor = Some(MentorId(1));
        let mut younger = request(12, 10);
        younger.topic = "negotiation".to_owned();
        let mut one_a_day = mentor(2, 9);
        one_a_day.topics = vec!["negotiation".to_owned()];
        one_a_day.schedule.max_calls_per_window = Some(1);
        assert_eq!(
            plan(&[younger, taken_back], &[mentor(1, 9), one_a_day]),
            [
                (9, 2, at("2026-11-30T14:00:00Z")),
                (12, 1, at("2026-11-30T14:00:00Z")),
            ]
        );
    }
}
