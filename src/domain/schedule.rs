//! A mentor's supply of call slots: commute windows expanded into back-to-back
//! blocks of `call_minutes`, stepped in absolute time from each occurrence's start,
//! with at most `max_calls_per_window` per occurrence and paused dates removed.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

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

    fn is_paused(&self, occurrence: &Occurrence) -> bool {
        let date = occurrence.start.with_timezone(&self.zone).date_naive();
        self.pauses.iter().any(|pause| pause.contains(date))
    }
}
