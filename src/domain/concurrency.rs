//! The provider's concurrent-call limit, planned into the schedule.
//!
//! A provider account may have only so many calls live at once (Twilio: 2 for an
//! upgraded account without an approved customer profile, 3 with an Individual
//! one). A bridged call holds two of them, the mentor's leg and the seeker's, so
//! a limit of `n` holds `n / 2` calls at once. [`CallCapacity`] keeps the calls
//! on the books and says whether one more fits at every instant it covers.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::schedule::Slot;

/// Provider calls (legs) one booked call holds once bridged.
pub const LEGS_PER_CALL: u32 = 2;

/// How many booked calls may overlap under a provider limit of `provider_calls`
/// live calls; `None` when there is no limit. A limit below [`LEGS_PER_CALL`]
/// holds no bridged call at all and is refused by the configuration.
pub fn calls_at_once(provider_calls: Option<u32>) -> Option<usize> {
    provider_calls.map(|limit| (limit / LEGS_PER_CALL) as usize)
}

/// The calls on the books, and how many may be under way at once.
#[derive(Clone, Debug)]
pub struct CallCapacity {
    at_once: usize,
    /// Ends of the calls, by start.
    calls: BTreeMap<DateTime<Utc>, Vec<DateTime<Utc>>>,
    /// The longest call seen, so that a look-up knows how far back an
    /// overlapping call may start.
    longest: TimeDelta,
}

impl CallCapacity {
    /// No calls yet, at most `at_once` of them overlapping.
    pub fn new(at_once: usize) -> CallCapacity {
        CallCapacity {
            at_once,
            calls: BTreeMap::new(),
            longest: TimeDelta::zero(),
        }
    }

    /// Puts `slot` on the books (whether it fits or not: calls booked before a
    /// limit was lowered still happen).
    pub fn add(&mut self, slot: Slot) {
        self.longest = self.longest.max(slot.ends_at - slot.starts_at);
        self.calls
            .entry(slot.starts_at)
            .or_default()
            .push(slot.ends_at);
    }

    /// Whether one more call in `slot` keeps every instant at or under the limit.
    pub fn fits(&self, slot: Slot) -> bool {
        if self.at_once == 0 {
            return false;
        }
        // Calls that overlap the slot start before its end and end after its
        // start; none starts longer than `longest` before its start.
        let mut changes: Vec<(DateTime<Utc>, i32)> = Vec::new();
        let mut live = 0usize;
        for (&starts_at, ends) in self
            .calls
            .range(slot.starts_at - self.longest..slot.ends_at)
        {
            for &ends_at in ends.iter().filter(|&&ends_at| ends_at > slot.starts_at) {
                if starts_at <= slot.starts_at {
                    live += 1;
                } else {
                    changes.push((starts_at, 1));
                }
                if ends_at < slot.ends_at {
                    changes.push((ends_at, -1));
                }
            }
        }
        // Half-open slots: at one instant, calls ending make room before calls
        // starting take it.
        changes.sort_unstable();
        let mut most = live;
        for (_, change) in changes {
            live = live.saturating_add_signed(change as isize);
            most = most.max(live);
        }
        most < self.at_once
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn slot(start_minute: i64, minutes: i64) -> Slot {
        let origin = Utc.with_ymd_and_hms(2027, 3, 14, 6, 0, 0).unwrap();
        Slot {
            starts_at: origin + TimeDelta::minutes(start_minute),
            ends_at: origin + TimeDelta::minutes(start_minute + minutes),
        }
    }

    #[test]
    fn a_limit_holds_half_as_many_bridged_calls() {
        assert_eq!(calls_at_once(None), None);
        assert_eq!(calls_at_once(Some(2)), Some(1));
        assert_eq!(calls_at_once(Some(3)), Some(1));
        assert_eq!(calls_at_once(Some(4)), Some(2));
        assert_eq!(calls_at_once(Some(1)), Some(0));
    }

    #[test]
    fn one_call_at_a_time_allows_back_to_back_calls_but_no_overlap() {
        let mut capacity = CallCapacity::new(1);
        assert!(capacity.fits(slot(0, 15)));
        capacity.add(slot(0, 15));
        assert!(!capacity.fits(slot(0, 15)), "the same slot");
        assert!(!capacity.fits(slot(14, 15)), "a minute of overlap");
        assert!(!capacity.fits(slot(-10, 15)), "ending inside it");
        assert!(!capacity.fits(slot(-10, 60)), "around it");
        assert!(capacity.fits(slot(15, 15)), "starting as it ends");
        assert!(capacity.fits(slot(-15, 15)), "ending as it starts");
    }

    #[test]
    fn two_at_once_counts_the_busiest_instant_not_every_overlap() {
        let mut capacity = CallCapacity::new(2);
        capacity.add(slot(0, 15));
        capacity.add(slot(15, 15));
        // Overlaps both, but only one at a time.
        assert!(capacity.fits(slot(10, 10)));
        capacity.add(slot(10, 10));
        assert!(!capacity.fits(slot(12, 1)), "two live at minute 12 already");
        assert!(capacity.fits(slot(25, 10)), "at minute 25 only one is live");
    }

    #[test]
    fn no_room_at_all_under_a_limit_below_one_bridged_call() {
        assert!(!CallCapacity::new(0).fits(slot(0, 15)));
    }

    proptest! {
        /// Adding only calls that fit never puts more than the limit live at
        /// any minute, and a call that is refused would have gone over it.
        #[test]
        fn fits_agrees_with_counting_every_minute(
            at_once in 1usize..4,
            calls in prop::collection::vec((0i64..180, 1i64..60), 0..40),
        ) {
            let mut capacity = CallCapacity::new(at_once);
            let mut live = vec![0usize; 240];
            for (start, minutes) in calls {
                let candidate = slot(start, minutes);
                let busiest = (start..start + minutes)
                    .map(|minute| live[minute as usize])
                    .max()
                    .unwrap_or(0);
                prop_assert_eq!(capacity.fits(candidate), busiest < at_once);
                if busiest < at_once {
                    capacity.add(candidate);
                    for minute in start..start + minutes {
                        live[minute as usize] += 1;
                    }
                }
            }
            prop_assert!(live.iter().all(|&count| count <= at_once));
        }
    }
}
