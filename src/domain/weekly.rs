//! Weekly recurring time ranges in an IANA zone, and how their local times become
//! instants across daylight-saving changes.
//!
//! Commute windows, seeker availability and calling hours are all "these weekdays,
//! from this local time to that one, in this zone", so they share one type and one
//! set of daylight-saving rules:
//! - a local time that does not exist (spring-forward gap) moves forward by the gap;
//! - an ambiguous local time (fall-back fold) takes the earlier instant;
//! - start and end are resolved independently, so an occurrence on a transition day
//!   can be longer or shorter than usual.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValidationError;

/// A set of weekdays, stored as a bitmask with Monday in bit 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Weekdays(u8);

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    /// Monday to Friday.
    pub const WORKDAYS: Weekdays = Weekdays(0b001_1111);
    /// Every day of the week.
    pub const ALL: Weekdays = Weekdays(0b111_1111);

    /// The set from its bitmask (Monday = bit 0); `None` when empty or out of range.
    pub fn from_bits(bits: u8) -> Option<Weekdays> {
        (bits != 0 && bits <= Self::ALL.0).then_some(Weekdays(bits))
    }

    /// The bitmask, Monday in bit 0.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether the set holds `day`.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Parses names such as `["mon", "tue"]` (three-letter or full English names,
    /// any case). Duplicates collapse; an empty list is an error.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Weekdays, ValidationError> {
        let mut bits = 0u8;
        for name in names {
            let name = name.as_ref().trim();
            let day = name.parse::<Weekday>().map_err(|_| {
                ValidationError::new(
                    "weekdays",
                    format!("'{name}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun"),
                )
            })?;
            bits |= 1 << day.num_days_from_monday();
        }
        Weekdays::from_bits(bits)
            .ok_or_else(|| ValidationError::new("weekdays", "name at least one weekday"))
    }

    /// The short names in week order, as the API shows them.
    pub fn names(self) -> Vec<&'static str> {
        WEEKDAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, name)| *name)
            .collect()
    }
}

impl fmt::Debug for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for Weekdays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Weekdays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Weekdays::parse(&names).map_err(serde::de::Error::custom)
    }
}

/// A local wall-clock time of day with minute precision ("07:30").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    /// 08:00, when calling hours open at the earliest.
    pub const EIGHT_AM: LocalTime = LocalTime(NaiveTime::from_hms_opt(8, 0, 0).unwrap());
    /// 21:00, when calling hours close at the latest.
    pub const NINE_PM: LocalTime = LocalTime(NaiveTime::from_hms_opt(21, 0, 0).unwrap());

    /// The time `hour:minute`; `None` when out of range.
    pub fn from_hm(hour: u32, minute: u32) -> Option<LocalTime> {
        NaiveTime::from_hms_opt(hour, minute, 0).map(LocalTime)
    }

    /// Parses "HH:MM" (24-hour clock); `field` names the input in the error.
    pub fn parse(field: &'static str, text: &str) -> Result<LocalTime, ValidationError> {
        let text = text.trim();
        let well_formed = text.len() == 5 && text.as_bytes()[2] == b':';
        well_formed
            .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
            .flatten()
            .map(LocalTime)
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!("'{text}' is not a time; use HH:MM, e.g. 07:30"),
                )
            })
    }

    /// The time as chrono's naive time.
    pub fn naive(self) -> NaiveTime {
        self.0
    }

    /// Minutes since local midnight.
    pub fn minutes_from_midnight(self) -> i64 {
        i64::from(self.0.num_seconds_from_midnight() / 60)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

impl FromStr for LocalTime {
    type Err = ValidationError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        LocalTime::parse("time", text)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LocalTime::parse("time", &text).map_err(serde::de::Error::custom)
    }
}

/// One concrete occurrence of a weekly range: a UTC interval and the local date it
/// belongs to (the date of its start, as written in the range's zone).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Occurrence {
    /// The local date whose weekday selected this occurrence.
    pub local_date: NaiveDate,
    /// The resolved start instant.
    pub start: DateTime<Utc>,
    /// The resolved end instant; after `start` (empty occurrences are dropped).
    pub end: DateTime<Utc>,
}

/// "These weekdays, from `start` to `end` local time, in `zone`". `end < start`
/// crosses midnight (the weekday is the start's); `end == start` is not a range.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct WeeklyRange {
    weekdays: Weekdays,
    start: LocalTime,
    end: LocalTime,
    zone: Tz,
}

impl WeeklyRange {
    /// A range; rejects `end == start`, which would be empty or a whole day.
    pub fn new(
        weekdays: Weekdays,
        start: LocalTime,
        end: LocalTime,
        zone: Tz,
    ) -> Result<WeeklyRange, ValidationError> {
        if start == end {
            return Err(ValidationError::new(
                "end",
                "end must differ from start (an end before the start crosses midnight)",
            ));
        }
        Ok(WeeklyRange {
            weekdays,
            start,
            end,
            zone,
        })
    }

    /// The weekdays on which the range starts.
    pub fn weekdays(&self) -> Weekdays {
        self.weekdays
    }

    /// Local start time.
    pub fn start(&self) -> LocalTime {
        self.start
    }

    /// Local end time (earlier than the start when crossing midnight).
    pub fn end(&self) -> LocalTime {
        self.end
    }

    /// The zone the local times are read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Whether the range ends on the next local day.
    pub fn crosses_midnight(&self) -> bool {
        self.end < self.start
    }

    /// Nominal length in minutes, ignoring daylight-saving changes.
    pub fn nominal_minutes(&self) -> i64 {
        let minutes = self.end.minutes_from_midnight() - self.start.minutes_from_midnight();
        if minutes < 0 {
            minutes + 24 * 60
        } else {
            minutes
        }
    }

    /// The occurrence that starts on local date `date`, if the weekday matches and
    /// the resolved interval is not empty.
    pub fn occurrence_on(&self, date: NaiveDate) -> Option<Occurrence> {
        if !self.weekdays.contains(date.weekday()) {
            return None;
        }
        let end_date = if self.crosses_midnight() {
            date.succ_opt()?
        } else {
            date
        };
        let start = resolve_local(self.zone, date.and_time(self.start.naive()));
        let end = resolve_local(self.zone, end_date.and_time(self.end.naive()));
        (end > start).then_some(Occurrence {
            local_date: date,
            start,
            end,
        })
    }

    /// Every occurrence that overlaps `[from, to)`, in start order.
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
        if to <= from {
            return Vec::new();
        }
        // An occurrence lasts under a day (plus at most a gap), so starting two local
        // days before `from` and ending one after `to` covers every overlap.
        let first = from.with_timezone(&self.zone).date_naive() - Days::new(2);
        let last = to.with_timezone(&self.zone).date_naive() + Days::new(1);
        first
            .iter_days()
            .take_while(|date| *date <= last)
            .filter_map(|date| self.occurrence_on(date))
            .filter(|occurrence| occurrence.start < to && occurrence.end > from)
            .collect()
    }

    /// Whether `[start, end)` lies wholly inside one occurrence of the range.
    pub fn covers(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let local_date = start.with_timezone(&self.zone).date_naive();
        [
            local_date.pred_opt(),
            Some(local_date),
            local_date.succ_opt(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|date| self.occurrence_on(date))
        .any(|occurrence| occurrence.start <= start && end <= occurrence.end)
    }
}

/// The instant a local wall-clock time in `zone` stands for, by ridealong's rules:
/// a time in a spring-forward gap moves forward by the gap's length; a time in a
/// fall-back fold takes the earlier of its two instants.
pub fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => instant.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => {
            // Reading the local time with the offset in force before the gap lands it
            // exactly the gap's length past where it was written.
            let offset = offset_before_gap(zone, local);
            (local - offset).and_utc()
        }
    }
}

/// The UTC offset in force just before the gap that swallows `local`.
fn offset_before_gap(zone: Tz, local: NaiveDateTime) -> TimeDelta {
    const STEP: TimeDelta = TimeDelta::minutes(15);
    let mut probe = local;
    // Gaps are at most a day long (Samoa skipped 2011-12-30); walk back until the
    // wall clock exists again.
    for _ in 0..(2 * 24 * 4) {
        probe -= STEP;
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(instant) | LocalResult::Ambiguous(_, instant) => {
                return TimeDelta::seconds(i64::from(instant.offset().fix().local_minus_utc()));
            }
            LocalResult::None => continue,
        }
    }
    let fallback = zone.offset_from_utc_datetime(&local).fix();
    TimeDelta::seconds(i64::from(fallback.local_minus_utc()))
}

/// Parses an IANA zone name ("America/New_York"); `field` names the input in errors.
pub fn parse_zone(field: &'static str, name: &str) -> Result<Tz, ValidationError> {
    let name = name.trim();
    name.parse::<Tz>().map_err(|_| {
        ValidationError::new(
            field,
            format!("'{name}' is not an IANA time zone; use a name like America/New_York"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Australia::Lord_Howe;
    use chrono_tz::Europe::Dublin;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() {
        assert_eq!(
            resolve_local(New_York, local("2026-03-08 02:30")),
            at("2026-03-08T07:30:00Z")
        );
        // Lord Howe springs forward by thirty minutes at 02:00.
        assert_eq!(
            resolve_local(Lord_Howe, local("2026-10-04 02:10")),
            at("2026-10-03T15:40:00Z")
        );
    }

    #[test]
    fn an_ambiguous_time_takes_the_earlier_instant() {
        assert_eq!(
            resolve_local(New_York, local("2026-11-01 01:30")),
            at("2026-11-01T05:30:00Z")
        );
        // Dublin's winter time is negative DST in the tz database; the offsets are what count.
        assert_eq!(
            resolve_local(Dublin, local("2026-10-25 01:30")),
            at("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn weekdays_parse_names_in_any_case_and_reject_unknown_ones() {
        let days = Weekdays::parse(&["Mon", "friday", "mon"]).unwrap();
        assert_eq!(days.names(), vec!["mon", "fri"]);
        assert!(Weekdays::parse(&["funday"]).is_err());
        assert!(Weekdays::parse::<&str>(&[]).is_err());
    }

    #[test]
    fn local_times_must_be_hh_mm() {
        assert_eq!(
            LocalTime::parse("start", "07:30").unwrap().to_string(),
            "07:30"
        );
        for bad in ["7:30", "24:00", "07:60", "0730", "07:30:00", ""] {
            assert!(LocalTime::parse("start", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_range_with_equal_start_and_end_is_rejected() {
        let seven = LocalTime::from_hm(7, 0).unwrap();
        assert!(WeeklyRange::new(Weekdays::ALL, seven, seven, New_York).is_err());
    }
}
