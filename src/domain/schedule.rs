//! A mentor's supply of call slots: commute windows expanded into back-to-back
//! blocks of `call_minutes`, stepped in absolute time from each occurrence's start,
//! with at most `max_calls_per_window` per occurrence and paused dates removed.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::hours::SeekerHours;
use super::pause::Pause;
use super::weekly::{Occurrence, WeeklyRange};

/// Call length when the mentor sets none, in minutes.
pub const DEFAULT_CALL_MINUTES: u32 = 15;
/// Allowed call lengths, in minutes.
pub const CALL_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 5..=120;
/// Allowed values of `max_calls_per_window`.
pub const MAX_CALLS_PER_WINDOW_RANGE: std::ops::RangeInclusive<u32> = 1..=96;

/// One bookable call: a mentor's time from `starts_at` to `ends_at`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Slot {
    /// Start instant.
    pub starts_at: DateTime<Utc>,
    /// End instant, `call_minutes` after the start.
    pub ends_at: DateTime<Utc>,
}

impl Slot {
    /// Whether the two slots share any instant.
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }
}

/// Everything that decides when a mentor can take calls.
#[derive(Clone, Debug)]
pub struct MentorSchedule {
    /// The mentor's own zone; pauses are dates in it.
    pub zone: Tz,
    /// Length of one call, in minutes.
    pub call_minutes: u32,
    /// Cap on calls per window occurrence; `None` uses every slot that fits.
    pub max_calls_per_window: Option<u32>,
    /// Commute windows, each in its own zone.
    pub windows: Vec<WeeklyRange>,
    /// Dates without calls.
    pub pauses: Vec<Pause>,
}

impl MentorSchedule {
    /// The usable slots whose start lies in `[from, to)`, in start order, pauses
    /// applied. Minimum notice and horizon are the matcher's business, not this.
    pub fn slots(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
        let mut slots: Vec<Slot> = self
            .windows
            .iter()
            .flat_map(|window| window.occurrences(from, to))
            .filter(|occurrence| !self.is_paused(occurrence))
            .flat_map(|occurrence| self.occurrence_slots(&occurrence))
            .filter(|slot| from <= slot.starts_at && slot.starts_at < to)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// The window occurrences that overlap `[from, to)`, in start order, pauses
    /// applied: the times the mentor offers, before they are cut into slots.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        let mut occurrences: Vec<Occurrence> = self
            .windows
            .iter()
            .flat_map(|window| window.occurrences(from, to))
            .filter(|occurrence| !self.is_paused(occurrence))
            .collect();
        occurrences.sort_by_key(|occurrence| (occurrence.start, occurrence.end));
        occurrences.dedup_by_key(|occurrence| (occurrence.start, occurrence.end));
        occurrences
    }

    /// The slots of one occurrence: back-to-back from its start, each wholly inside
    /// it, at most `max_calls_per_window` of them.
    pub fn occurrence_slots(&self, occurrence: &Occurrence) -> impl Iterator<Item = Slot> + use<> {
        let length = TimeDelta::minutes(i64::from(self.call_minutes));
        let cap = self
            .max_calls_per_window
            .map_or(usize::MAX, |cap| cap as usize);
        let Occurrence { start, end, .. } = *occurrence;
        (0..)
            .map(move |index| {
                let starts_at = start + length * index;
                Slot {
                    starts_at,
                    ends_at: starts_at + length,
                }
            })
            .take_while(move |slot| slot.ends_at <= end)
            .take(cap)
    }

    /// The slot for a second try at a call in `missed` that the seeker did not
    /// answer: the first usable slot of the same window occurrence that starts at
    /// or after `earliest`, is not in `booked` (the mentor's booked starts, sorted),
    /// and that `seeker` may take. `None` when the occurrence has none left.
    pub fn second_try(
        &self,
        missed: Slot,
        booked: &[DateTime<Utc>],
        seeker: &SeekerHours,
        earliest: DateTime<Utc>,
    ) -> Option<Slot> {
        let occurrence = self.occurrence_of(missed)?;
        self.occurrence_slots(&occurrence).find(|slot| {
            slot.starts_at >= earliest
                && *slot != missed
                && booked.binary_search(&slot.starts_at).is_err()
                && seeker.permits(slot.starts_at, slot.ends_at)
        })
    }

    /// The window occurrence `slot` lies in, pauses applied; `None` when no
    /// occurrence holds it whole (the window changed, or its date was paused).
    pub fn occurrence_of(&self, slot: Slot) -> Option<Occurrence> {
        self.occurrences(slot.starts_at, slot.ends_at)
            .into_iter()
            .find(|occurrence| occurrence.start <= slot.starts_at && slot.ends_at <= occurrence.end)
    }

    fn is_paused(&self, occurrence: &Occurrence) -> bool {
        let date = occurrence.start.with_timezone(&self.zone).date_naive();
        self.pauses.iter().any(|pause| pause.contains(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hours::CallingHours;
    use crate::domain::weekly::{LocalTime, Weekdays};
    use chrono_tz::America::{Los_Angeles, New_York};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn time(text: &str) -> LocalTime {
        LocalTime::parse("time", text).expect("time")
    }

    /// A mentor in `zone` with an every-day window `start`–`end`, 15-minute calls.
    fn mentor(zone: Tz, start: &str, end: &str, cap: Option<u32>) -> MentorSchedule {
        MentorSchedule {
            zone,
            call_minutes: 15,
            max_calls_per_window: cap,
            windows: vec![
                WeeklyRange::new(Weekdays::ALL, time(start), time(end), zone).expect("window"),
            ],
            pauses: Vec::new(),
        }
    }

    fn free_every_day(zone: Tz) -> SeekerHours {
        SeekerHours::new(
            zone,
            vec![CallingHours::WIDEST.every_day_in(zone)],
            CallingHours::WIDEST,
        )
    }

    fn slot(start: &str) -> Slot {
        let starts_at = at(start);
        Slot {
            starts_at,
            ends_at: starts_at + TimeDelta::minutes(15),
        }
    }

    #[test]
    fn the_next_free_slot_of_the_same_commute_is_the_second_try() {
        // 08:00-09:00 New York (EST): slots at 08:00, 08:15, 08:30, 08:45.
        let schedule = mentor(New_York, "08:00", "09:00", None);
        let missed = slot("2026-12-01T13:00:00Z");
        // Missed at 08:02; 08:15 is booked for someone else.
        let booked = [at("2026-12-01T13:00:00Z"), at("2026-12-01T13:15:00Z")];
        let retry = schedule.second_try(
            missed,
            &booked,
            &free_every_day(New_York),
            at("2026-12-01T13:05:00Z"),
        );
        assert_eq!(retry, Some(slot("2026-12-01T13:30:00Z")));
    }

    #[test]
    fn a_slot_starting_sooner_than_the_gap_is_passed_over() {
        let schedule = mentor(New_York, "08:00", "09:00", None);
        let missed = slot("2026-12-01T13:00:00Z");
        // The miss came at 08:13: 08:15 is less than three minutes away.
        let retry = schedule.second_try(
            missed,
            &[missed.starts_at],
            &free_every_day(New_York),
            at("2026-12-01T13:16:00Z"),
        );
        assert_eq!(retry, Some(slot("2026-12-01T13:30:00Z")));
    }

    #[test]
    fn a_full_or_capped_commute_has_no_second_try() {
        let missed = slot("2026-12-01T13:00:00Z");
        let seeker = free_every_day(New_York);
        let earliest = at("2026-12-01T13:05:00Z");
        // Every later slot booked.
        let schedule = mentor(New_York, "08:00", "09:00", None);
        let booked: Vec<_> = (0..4)
            .map(|n| missed.starts_at + TimeDelta::minutes(15 * n))
            .collect();
        assert_eq!(
            schedule.second_try(missed, &booked, &seeker, earliest),
            None
        );
        // One call per commute: the window holds no other slot.
        let capped = mentor(New_York, "08:00", "09:00", Some(1));
        assert_eq!(
            capped.second_try(missed, &[missed.starts_at], &seeker, earliest),
            None
        );
        // The missed call was the window's last slot.
        let last = slot("2026-12-01T13:45:00Z");
        assert_eq!(
            schedule.second_try(last, &[last.starts_at], &seeker, at("2026-12-01T13:50:00Z")),
            None
        );
    }

    #[test]
    fn the_second_try_keeps_to_the_seekers_calling_hours() {
        // A 20:30-21:30 window: the seeker in the same zone may be called until
        // 21:00, so after a miss at 20:30 the 20:45 slot fits and 21:00 does not.
        let schedule = mentor(New_York, "20:30", "21:30", None);
        let seeker = free_every_day(New_York);
        let missed = slot("2026-12-02T01:30:00Z");
        assert_eq!(
            schedule.second_try(
                missed,
                &[missed.starts_at],
                &seeker,
                at("2026-12-02T01:35:00Z")
            ),
            Some(slot("2026-12-02T01:45:00Z"))
        );
        assert_eq!(
            schedule.second_try(
                slot("2026-12-02T01:45:00Z"),
                &[missed.starts_at, at("2026-12-02T01:45:00Z")],
                &seeker,
                at("2026-12-02T01:50:00Z")
            ),
            None,
            "21:00 would end after calling hours"
        );
    }

    #[test]
    fn the_second_try_keeps_to_the_seekers_stated_availability() {
        let schedule = mentor(New_York, "08:00", "09:00", None);
        // Free only until 08:30 on Tuesdays.
        let until_half_past = WeeklyRange::new(
            Weekdays::parse(&["tue".to_owned()]).expect("days"),
            time("08:00"),
            time("08:30"),
            New_York,
        )
        .expect("range");
        let seeker = SeekerHours::new(New_York, vec![until_half_past], CallingHours::WIDEST);
        let missed = slot("2026-12-01T13:00:00Z");
        assert_eq!(
            schedule.second_try(
                missed,
                &[missed.starts_at],
                &seeker,
                at("2026-12-01T13:05:00Z")
            ),
            Some(slot("2026-12-01T13:15:00Z"))
        );
        let later = slot("2026-12-01T13:15:00Z");
        assert_eq!(
            schedule.second_try(
                later,
                &[missed.starts_at, later.starts_at],
                &seeker,
                at("2026-12-01T13:20:00Z")
            ),
            None
        );
    }

    #[test]
    fn on_a_spring_forward_night_the_second_try_steps_in_absolute_time() {
        // 01:30-03:30 Los Angeles on 2027-03-14: 02:00 does not exist, so the
        // occurrence is one hour long in absolute time (09:30-10:30 UTC); a seeker
        // in Tokyo is in calling hours then (18:30-19:30 JST).
        let schedule = mentor(Los_Angeles, "01:30", "03:30", None);
        let tokyo = chrono_tz::Asia::Tokyo;
        let missed = slot("2027-03-14T09:30:00Z");
        assert_eq!(
            schedule.second_try(
                missed,
                &[missed.starts_at],
                &free_every_day(tokyo),
                at("2027-03-14T09:35:00Z")
            ),
            Some(slot("2027-03-14T09:45:00Z"))
        );
        let last = slot("2027-03-14T10:15:00Z");
        assert_eq!(
            schedule.second_try(
                last,
                &[last.starts_at],
                &free_every_day(tokyo),
                at("2027-03-14T10:20:00Z")
            ),
            None,
            "the occurrence ends at 03:30 PDT, 10:30 UTC"
        );
    }

    #[test]
    fn on_a_fall_back_night_the_longer_occurrence_offers_its_extra_slots() {
        // 01:30-02:30 Los Angeles on 2026-11-01: 01:30 is ambiguous (the earlier,
        // PDT, is taken) and 02:30 is PST, so the occurrence lasts two hours
        // (08:30-10:30 UTC). A seeker in London is in calling hours then.
        let schedule = mentor(Los_Angeles, "01:30", "02:30", None);
        let london = chrono_tz::Europe::London;
        let missed = slot("2026-11-01T09:30:00Z");
        assert_eq!(
            schedule.second_try(
                missed,
                &[missed.starts_at],
                &free_every_day(london),
                at("2026-11-01T09:35:00Z")
            ),
            Some(slot("2026-11-01T09:45:00Z"))
        );
    }

    proptest::proptest! {
        #[test]
        fn a_second_try_is_a_later_free_slot_of_the_same_commute_the_seeker_may_take(
            zone in proptest::sample::select(vec![New_York, Los_Angeles, chrono_tz::Europe::London,
                chrono_tz::Australia::Lord_Howe, chrono_tz::Asia::Kolkata]),
            seeker_zone in proptest::sample::select(vec![New_York, chrono_tz::Europe::Berlin,
                chrono_tz::Asia::Tokyo]),
            day in 0i64..730,
            start_minutes in 0u32..(24 * 4),
            length_quarters in 2u32..10,
            missed_index in 0usize..8,
            booked_mask in 0u16..256,
            delay_minutes in 0i64..40,
        ) {
            let start = LocalTime::parse("t", &format!("{:02}:{:02}", start_minutes / 4, start_minutes % 4 * 15))
                .expect("time");
            let end_minutes = (start_minutes + length_quarters) % (24 * 4);
            let end = LocalTime::parse("t", &format!("{:02}:{:02}", end_minutes / 4, end_minutes % 4 * 15))
                .expect("time");
            let schedule = MentorSchedule {
                zone,
                call_minutes: 15,
                max_calls_per_window: None,
                windows: vec![WeeklyRange::new(Weekdays::ALL, start, end, zone).expect("window")],
                pauses: Vec::new(),
            };
            let from = at("2026-01-01T00:00:00Z") + TimeDelta::days(day);
            let slots = schedule.slots(from, from + TimeDelta::days(1));
            proptest::prop_assume!(!slots.is_empty());
            let missed = slots[missed_index % slots.len()];
            let occurrence = schedule.occurrences(missed.starts_at, missed.ends_at).into_iter()
                .find(|o| o.start <= missed.starts_at && missed.ends_at <= o.end).expect("occurrence");
            let same: Vec<Slot> = schedule.occurrence_slots(&occurrence).collect();
            let mut booked: Vec<DateTime<Utc>> = same.iter().enumerate()
                .filter(|(index, _)| booked_mask & (1 << (index % 8)) != 0)
                .map(|(_, slot)| slot.starts_at)
                .chain(std::iter::once(missed.starts_at))
                .collect();
            booked.sort_unstable();
            booked.dedup();
            let seeker = free_every_day(seeker_zone);
            let earliest = missed.starts_at + TimeDelta::minutes(delay_minutes);
            let retry = schedule.second_try(missed, &booked, &seeker, earliest);
            // The oracle: the first slot of the same occurrence that qualifies.
            let expected = same.iter().copied().find(|slot| {
                slot.starts_at >= earliest
                    && !booked.contains(&slot.starts_at)
                    && seeker.permits(slot.starts_at, slot.ends_at)
            });
            proptest::prop_assert_eq!(retry, expected);
            if let Some(retry) = retry {
                proptest::prop_assert!(retry.starts_at > missed.starts_at);
                proptest::prop_assert!(occurrence.start <= retry.starts_at && retry.ends_at <= occurrence.end);
            }
        }
    }
}
