//! Property tests of the domain rules against an independent time-zone
//! implementation.
//!
//! `jiff` (with its own bundled copy of the tz database) serves as the oracle: every
//! expectation below is computed with jiff's `Disambiguation::Compatible` (a time in a
//! gap moves forward by the gap, an ambiguous one takes the earlier instant) and
//! plain integer arithmetic on Unix seconds, never with the crate's own weekly-range
//! code. A deterministic test first checks that chrono-tz (used by the crate) and
//! jiff agree on every UTC offset of the zones used, over the years used, so a
//! failure elsewhere is a disagreement about the rules, not about the tz data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;
use jiff::civil;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;
use proptest::sample::Index;
use ridealong::domain::hours::{CallingHours, SeekerHours};
use ridealong::domain::matching::{
    BookedCall, Booking, MatchPolicy, MentorSupply, OpenRequest, plan_bookings,
};
use ridealong::domain::pause::Pause;
use ridealong::domain::schedule::{MentorSchedule, Slot};
use ridealong::domain::weekly::{LocalTime, Weekdays, WeeklyRange, resolve_local};
use ridealong::ids::{MentorId, RequestId};

// ---------------------------------------------------------------------------
// Zones and their transitions
// ---------------------------------------------------------------------------

const ZONE_NAMES: [&str; 17] = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "America/St_Johns",
    "Pacific/Chatham",
    // Clocks change at midnight, so dates themselves repeat or skip an hour.
    "America/Santiago",
    "America/Havana",
    "Africa/Cairo",
    // Irregular, Ramadan-driven changes.
    "Africa/Casablanca",
];

/// 2020-01-01T00:00:00Z: the start of the years under test.
const YEARS_START: i64 = 1_577_836_800;
/// 2036-01-01T00:00:00Z: the end (exclusive) of the years under test.
const YEARS_END: i64 = 2_082_758_400;
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

struct Zone {
    name: &'static str,
    tz: Tz,
    jiff: TimeZone,
    /// Transition instants (Unix seconds) within the years under test.
    transitions: Vec<i64>,
}

static ZONES: LazyLock<Vec<Zone>> = LazyLock::new(|| {
    ZONE_NAMES
        .iter()
        .map(|&name| {
            let jiff = TimeZone::get(name).expect("jiff knows the zone");
            let transitions = jiff
                .following(ts(YEARS_START))
                .map(|transition| transition.timestamp().as_second())
                .take_while(|&second| second < YEARS_END)
                .collect();
            Zone {
                name,
                tz: name.parse().expect("chrono-tz knows the zone"),
                jiff,
                transitions,
            }
        })
        .collect()
});

fn zone(index: usize) -> &'static Zone {
    &ZONES[index]
}

fn ts(second: i64) -> Timestamp {
    Timestamp::from_second(second).expect("instant in range")
}

fn utc(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(second, 0).expect("instant in range")
}

fn to_civil(naive: NaiveDateTime) -> civil::DateTime {
    use chrono::{Datelike, Timelike};
    let narrow = |value: u32| i8::try_from(value).expect("small calendar field");
    civil::date(
        i16::try_from(naive.year()).expect("year in range"),
        narrow(naive.month()),
        narrow(naive.day()),
    )
    .at(
        narrow(naive.hour()),
        narrow(naive.minute()),
        narrow(naive.second()),
        0,
    )
}

fn to_naive(dt: civil::DateTime) -> NaiveDateTime {
    let field = |value: i8| u32::try_from(value).expect("non-negative calendar field");
    NaiveDate::from_ymd_opt(i32::from(dt.year()), field(dt.month()), field(dt.day()))
        .and_then(|date| date.and_hms_opt(field(dt.hour()), field(dt.minute()), field(dt.second())))
        .expect("valid civil datetime")
}

fn to_naive_date(date: civil::Date) -> NaiveDate {
    to_naive(date.at(0, 0, 0, 0)).date()
}

/// The oracle's reading of a wall-clock time: jiff's `compatible` disambiguation.
fn oracle_resolve(zone: &Zone, wall: civil::DateTime) -> i64 {
    zone.jiff
        .to_ambiguous_timestamp(wall)
        .compatible()
        .expect("in range")
        .as_second()
}

fn local_date(zone: &Zone, second: i64) -> civil::Date {
    zone.jiff.to_datetime(ts(second)).date()
}

fn add_days(date: civil::Date, days: i64) -> civil::Date {
    date.checked_add(days.days()).expect("date in range")
}

fn wall(date: civil::Date, minute_of_day: u16) -> civil::DateTime {
    let hour = i8::try_from(minute_of_day / 60).expect("hour");
    let minute = i8::try_from(minute_of_day % 60).expect("minute");
    date.at(hour, minute, 0, 0)
}

// ---------------------------------------------------------------------------
// The oracle: weekly ranges, slots and seeker hours, computed with jiff
// ---------------------------------------------------------------------------

/// A weekly range as plain data: weekday bits (Monday = bit 0), minutes of the day.
#[derive(Clone, Copy, Debug)]
struct RangeSpec {
    zone: usize,
    weekdays: u8,
    start: u16,
    end: u16,
}

impl RangeSpec {
    fn range(&self) -> WeeklyRange {
        let time = |minutes: u16| {
            LocalTime::from_hm(u32::from(minutes / 60), u32::from(minutes % 60)).expect("time")
        };
        WeeklyRange::new(
            Weekdays::from_bits(self.weekdays).expect("weekdays"),
            time(self.start),
            time(self.end),
            zone(self.zone).tz,
        )
        .expect("a range with start != end")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct OracleOccurrence {
    date: civil::Date,
    start: i64,
    end: i64,
}

/// Every non-empty occurrence of `spec` overlapping `[from, to)`, found by trying
/// every local date from three days before `from` to two days after `to`.
fn oracle_occurrences(spec: &RangeSpec, from: i64, to: i64) -> Vec<OracleOccurrence> {
    let zone = zone(spec.zone);
    let last = add_days(local_date(zone, to), 2);
    let mut date = add_days(local_date(zone, from), -3);
    let mut found = Vec::new();
    while date <= last {
        let bit = 1u8 << date.weekday().to_monday_zero_offset();
        if spec.weekdays & bit != 0 {
            let start = oracle_resolve(zone, wall(date, spec.start));
            let end_date = if spec.end < spec.start {
                add_days(date, 1)
            } else {
                date
            };
            let end = oracle_resolve(zone, wall(end_date, spec.end));
            if end > start && start < to && end > from {
                found.push(OracleOccurrence { date, start, end });
            }
        }
        date = add_days(date, 1);
    }
    found
}

/// A mentor's schedule as plain data.
#[derive(Clone, Debug)]
struct ScheduleSpec {
    zone: usize,
    call_minutes: u32,
    cap: Option<u32>,
    windows: Vec<RangeSpec>,
    /// Inclusive paused dates in the mentor's zone.
    pauses: Vec<(NaiveDate, NaiveDate)>,
}

impl ScheduleSpec {
    fn schedule(&self) -> MentorSchedule {
        MentorSchedule {
            zone: zone(self.zone).tz,
            call_minutes: self.call_minutes,
            max_calls_per_window: self.cap,
            windows: self.windows.iter().map(RangeSpec::range).collect(),
            pauses: self
                .pauses
                .iter()
                .map(|(first, last)| Pause::new(*first, *last).expect("valid pause"))
                .collect(),
        }
    }

    fn is_paused(&self, start: i64) -> bool {
        let date = to_naive_date(local_date(zone(self.zone), start));
        self.pauses
            .iter()
            .any(|(first, last)| *first <= date && date <= *last)
    }

    /// The slots of one window whose start lies in `[from, to)`, grouped by the
    /// occurrence they come from.
    fn oracle_window_slots(&self, window: &RangeSpec, from: i64, to: i64) -> Vec<Vec<(i64, i64)>> {
        let length = i64::from(self.call_minutes) * MINUTE;
        let cap = self.cap.map_or(usize::MAX, |cap| cap as usize);
        oracle_occurrences(window, from, to)
            .into_iter()
            .filter(|occurrence| !self.is_paused(occurrence.start))
            .map(|occurrence| {
                (0..)
                    .map(|index| occurrence.start + index * length)
                    .map(|start| (start, start + length))
                    .take_while(|&(_, end)| end <= occurrence.end)
                    .take(cap)
                    .filter(|&(start, _)| from <= start && start < to)
                    .collect()
            })
            .collect()
    }

    /// Every slot of every window whose start lies in `[from, to)`, sorted, without
    /// duplicates.
    fn oracle_slots(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut slots: Vec<(i64, i64)> = self
            .windows
            .iter()
            .flat_map(|window| self.oracle_window_slots(window, from, to))
            .flatten()
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }
}

fn slot_seconds(slot: &Slot) -> (i64, i64) {
    (slot.starts_at.timestamp(), slot.ends_at.timestamp())
}

/// A seeker as plain data: zone, calling hours (minutes of the day) and availability
/// (in the seeker's zone; empty means weekdays within calling hours).
#[derive(Clone, Debug)]
struct SeekerSpec {
    zone: usize,
    calling_hours: (u16, u16),
    availability: Vec<(u8, u16, u16)>,
}

impl SeekerSpec {
    fn ranges(&self) -> Vec<RangeSpec> {
        self.availability
            .iter()
            .map(|&(weekdays, start, end)| RangeSpec {
                zone: self.zone,
                weekdays,
                start,
                end,
            })
            .collect()
    }

    fn hours(&self) -> SeekerHours {
        let (start, end) = self.calling_hours;
        let time = |minutes: u16| {
            LocalTime::from_hm(u32::from(minutes / 60), u32::from(minutes % 60)).expect("time")
        };
        let calling_hours = CallingHours::new(time(start), time(end)).expect("valid hours");
        SeekerHours::new(
            zone(self.zone).tz,
            self.ranges().iter().map(RangeSpec::range).collect(),
            calling_hours,
        )
    }

    /// The spans in which a whole call may lie, around `[from, to)`: each is a
    /// calling-hours occurrence intersected with an availability occurrence.
    fn oracle_spans(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let (start, end) = self.calling_hours;
        let calling = RangeSpec {
            zone: self.zone,
            weekdays: 0b111_1111,
            start,
            end,
        };
        let availability = if self.availability.is_empty() {
            vec![RangeSpec {
                zone: self.zone,
                weekdays: 0b001_1111,
                start,
                end,
            }]
        } else {
            self.ranges()
        };
        let (from, to) = (from - 2 * DAY, to + 2 * DAY);
        let calling = oracle_occurrences(&calling, from, to);
        let mut spans = Vec::new();
        for range in &availability {
            for available in oracle_occurrences(range, from, to) {
                for open in &calling {
                    let (start, end) =
                        (open.start.max(available.start), open.end.min(available.end));
                    if start < end {
                        spans.push((start, end));
                    }
                }
            }
        }
        spans
    }
}

fn fits(spans: &[(i64, i64)], (start, end): (i64, i64)) -> bool {
    spans
        .iter()
        .any(|&(open, close)| open <= start && end <= close)
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// `cases` cases, without regression files (integration tests have no `lib.rs` beside
/// them for proptest to anchor them to); a failure prints its minimal input.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

fn zone_index() -> impl Strategy<Value = usize> {
    0..ZONE_NAMES.len()
}

/// A minute of the day, often at night (where clocks change) or around midnight.
fn minute_of_day() -> impl Strategy<Value = u16> {
    prop_oneof![0u16..1440, 0u16..300, 1380u16..1440]
}

/// An instant in the years under test, minute-aligned, often within
/// `[-before, after]` minutes of a transition of zone `zone_index`.
fn instant_near(zone_index: usize, before: i64, after: i64) -> impl Strategy<Value = i64> {
    let uniform = (YEARS_START / MINUTE + 60 * 24 * 7..YEARS_END / MINUTE - 60 * 24 * 70)
        .prop_map(|minute| minute * MINUTE);
    let near = (any::<Index>(), -before..=after).prop_map(move |(index, delta)| {
        let transitions = &zone(zone_index).transitions;
        let base = if transitions.is_empty() {
            // Zones without transitions: anywhere mid-range will do.
            1_800_000_000
        } else {
            transitions[index.index(transitions.len())]
        };
        base + delta * MINUTE
    });
    prop_oneof![1 => uniform, 3 => near]
}

/// A local wall-clock time in 2020-2035: uniform, or within two hours of a transition
/// of the zone (read with the offset in force before it) on its day or a day next to it.
fn local_time_in(zone_index: usize) -> impl Strategy<Value = NaiveDateTime> {
    let seconds = prop_oneof![3 => Just(0i64), 1 => 0i64..60];
    let first_day = civil::date(2020, 1, 1);
    let uniform = (0i64..(16 * 365 + 4), 0i64..1440, seconds.clone()).prop_map(
        move |(day, minute, second)| {
            let date = add_days(first_day, day);
            to_naive(date.at(0, 0, 0, 0)) + TimeDelta::seconds(minute * MINUTE + second)
        },
    );
    let day = prop_oneof![4 => Just(0i64), 1 => Just(-1i64), 1 => Just(1i64)];
    let near = (any::<Index>(), day, -120i64..=120, seconds).prop_map(
        move |(index, day, minute, second)| {
            let zone = zone(zone_index);
            if zone.transitions.is_empty() {
                return to_naive(civil::date(2027, 6, 1).at(12, 0, 0, 0))
                    + TimeDelta::seconds(day * DAY + minute * MINUTE + second);
            }
            let at = zone.transitions[index.index(zone.transitions.len())];
            let before = zone.jiff.to_offset(ts(at - 1));
            let wall = to_naive(before.to_datetime(ts(at)));
            wall + TimeDelta::seconds(day * DAY + minute * MINUTE + second)
        },
    );
    prop_oneof![1 => uniform, 3 => near]
}

/// A weekly range in `zone`, `1..=max_minutes` long (crossing midnight when it wraps).
fn range_spec(zone: usize, max_minutes: u16) -> impl Strategy<Value = RangeSpec> {
    let length = prop_oneof![1u16..=max_minutes.min(240), 1u16..=max_minutes];
    (1u8..=127, minute_of_day(), length).prop_map(move |(weekdays, start, length)| RangeSpec {
        zone,
        weekdays,
        start,
        end: (start + length) % 1440,
    })
}

fn cap() -> impl Strategy<Value = Option<u32>> {
    prop::option::of(1u32..=6)
}

/// Up to two pauses, as (first day, length) in days relative to a base date.
fn pause_offsets() -> impl Strategy<Value = Vec<(i64, i64)>> {
    let pause = prop_oneof![(-3i64..=8, 0i64..=3), (-3i64..=62, 0i64..=5)];
    prop::collection::vec(pause, 0..=2)
}

fn pauses_from(base: civil::Date, offsets: &[(i64, i64)]) -> Vec<(NaiveDate, NaiveDate)> {
    offsets
        .iter()
        .map(|&(first, length)| {
            let first = add_days(base, first);
            (to_naive_date(first), to_naive_date(add_days(first, length)))
        })
        .collect()
}

/// A mentor's schedule (windows in the mentor's zone or others, pauses) and a query
/// range of up to 60 days, often around a transition of the mentor's zone.
#[derive(Clone, Debug)]
struct ExpansionCase {
    schedule: ScheduleSpec,
    from: i64,
    to: i64,
}

fn expansion_case(max_windows: usize) -> impl Strategy<Value = ExpansionCase> {
    zone_index().prop_flat_map(move |mentor_zone| {
        let windows = prop::collection::vec(
            prop::option::weighted(0.3, zone_index())
                .prop_flat_map(move |zone| range_spec(zone.unwrap_or(mentor_zone), 1439)),
            1..=max_windows,
        );
        let length = prop_oneof![1i64..=60 * 24 * 3, 1i64..=60 * 24 * 60];
        let from_second = prop_oneof![3 => Just(0i64), 1 => 0i64..60];
        (
            windows,
            5u32..=60,
            cap(),
            pause_offsets(),
            instant_near(mentor_zone, 60 * 24 * 5, 60 * 24),
            from_second,
            length,
        )
            .prop_map(
                move |(windows, call_minutes, cap, pauses, from, second, length)| {
                    let from = from + second;
                    let base = local_date(zone(mentor_zone), from);
                    ExpansionCase {
                        schedule: ScheduleSpec {
                            zone: mentor_zone,
                            call_minutes,
                            cap,
                            windows,
                            pauses: pauses_from(base, &pauses),
                        },
                        from,
                        to: from + length * MINUTE,
                    }
                },
            )
    })
}

// ---------------------------------------------------------------------------
// resolve_local and the tz data
// ---------------------------------------------------------------------------

#[test]
fn chrono_tz_and_jiff_agree_on_every_offset_of_the_zones_under_test() {
    for zone in ZONES.iter() {
        let offset_chrono = |second: i64| {
            zone.tz
                .offset_from_utc_datetime(&utc(second).naive_utc())
                .fix()
                .local_minus_utc()
        };
        let offset_jiff = |second: i64| zone.jiff.to_offset(ts(second)).seconds();
        // Both sides of every transition...
        for &at in &zone.transitions {
            for second in [at - 1, at, at + 1] {
                assert_eq!(
                    offset_chrono(second),
                    offset_jiff(second),
                    "{} at {}",
                    zone.name,
                    utc(second)
                );
            }
        }
        // ...and every six hours in between, so neither has a transition the other lacks.
        for second in (YEARS_START - 31 * DAY..YEARS_END + 31 * DAY).step_by(6 * HOUR as usize) {
            assert_eq!(
                offset_chrono(second),
                offset_jiff(second),
                "{} at {}",
                zone.name,
                utc(second)
            );
        }
    }
}

#[test]
fn the_zones_under_test_have_gaps_and_folds_in_the_years_under_test() {
    // Guards the generators: every zone but three changes its clocks at least twice a
    // year for most of 2020-2035 (Cairo resumed daylight saving in 2023).
    let steady = ["America/Sao_Paulo", "Asia/Kathmandu", "Asia/Kolkata"];
    for zone in ZONES.iter() {
        if steady.contains(&zone.name) {
            assert!(
                zone.transitions.is_empty(),
                "{} has transitions in 2020-2035",
                zone.name
            );
        } else {
            assert!(
                zone.transitions.len() >= 20,
                "{} has too few transitions",
                zone.name
            );
        }
    }
}

/// A zone and 16 wall-clock times in it.
fn resolve_case() -> impl Strategy<Value = (usize, Vec<NaiveDateTime>)> {
    zone_index().prop_flat_map(|zone_index| {
        (
            Just(zone_index),
            prop::collection::vec(local_time_in(zone_index), 16),
        )
    })
}

/// A seeker (widest or narrowed calling hours, 0-3 availability ranges) and 16
/// calls of 1-120 minutes around the transitions of the seeker's zone.
fn seeker_case() -> impl Strategy<Value = (SeekerSpec, Vec<(i64, i64)>)> {
    zone_index().prop_flat_map(|zone_index| {
        let seeker = (
            prop_oneof![
                3 => Just((8 * 60u16, 21 * 60u16)),
                1 => (8 * 60u16..=12 * 60, 15 * 60u16..=21 * 60),
            ],
            prop::collection::vec(range_spec(zone_index, 1200), 0..=3),
        )
            .prop_map(move |(calling_hours, ranges)| SeekerSpec {
                zone: zone_index,
                calling_hours,
                availability: ranges
                    .into_iter()
                    .map(|range| (range.weekdays, range.start, range.end))
                    .collect(),
            });
        let call = (
            instant_near(zone_index, 60 * 24 * 3, 60 * 24 * 3),
            1i64..=120,
        );
        (seeker, prop::collection::vec(call, 16))
    })
}

fn check_resolve(zone_index: usize, walls: &[NaiveDateTime]) -> Result<(), TestCaseError> {
    let zone = zone(zone_index);
    for &wall in walls {
        let expected = oracle_resolve(zone, to_civil(wall));
        let actual = resolve_local(zone.tz, wall);
        prop_assert_eq!(
            actual.timestamp(),
            expected,
            "{} in {}: crate {}, jiff {}",
            wall,
            zone.name,
            actual,
            utc(expected)
        );
    }
    Ok(())
}

fn check_seeker(seeker: &SeekerSpec, calls: &[(i64, i64)]) -> Result<(), TestCaseError> {
    let hours = seeker.hours();
    for &(start, minutes) in calls {
        let end = start + minutes * MINUTE;
        let expected = fits(&seeker.oracle_spans(start, end), (start, end));
        prop_assert_eq!(
            hours.permits(utc(start), utc(end)),
            expected,
            "call {}..{} for {:?}",
            utc(start),
            utc(end),
            seeker
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn resolve_local_agrees_with_jiffs_compatible_disambiguation(
        (zone_index, walls) in resolve_case()
    ) {
        check_resolve(zone_index, &walls)?;
    }

    #[test]
    fn a_daily_range_overlaps_calling_hours_exactly_when_they_share_a_minute(
        (open, close) in (8 * 60..21 * 60u32).prop_flat_map(|open| (Just(open), open + 1..=21 * 60)),
        start in 0..24 * 60u32,
        end in 0..24 * 60u32,
    ) {
        prop_assume!(start != end);
        let time = |minutes: u32| LocalTime::from_hm(minutes / 60, minutes % 60).expect("a time");
        let hours = CallingHours::new(time(open), time(close)).expect("hours inside 08:00-21:00");
        // Minute by minute: in the range (wrapping past midnight when end < start)
        // and in calling hours.
        let in_range = |minute: u32| if start < end {
            (start..end).contains(&minute)
        } else {
            minute >= start || minute < end
        };
        let shared = (0..24 * 60).any(|minute| in_range(minute) && (open..close).contains(&minute));
        prop_assert_eq!(hours.overlaps(time(start), time(end)), shared);
    }

    #[test]
    fn seeker_hours_permit_exactly_the_calls_the_oracle_permits(
        (seeker, calls) in seeker_case()
    ) {
        check_seeker(&seeker, &calls)?;
    }
}

// ---------------------------------------------------------------------------
// Window expansion
// ---------------------------------------------------------------------------

fn check_one_window(case: &ExpansionCase) -> Result<(), TestCaseError> {
    let ExpansionCase {
        schedule: spec,
        from,
        to,
    } = case;
    let (from, to) = (*from, *to);
    let window = spec.windows[0];
    let slots = spec.schedule().slots(utc(from), utc(to));
    let length = TimeDelta::minutes(i64::from(spec.call_minutes));

    // Occurrences agree with the oracle.
    let occurrences: Vec<_> = window
        .range()
        .occurrences(utc(from), utc(to))
        .into_iter()
        .map(|occurrence| {
            let midnight = occurrence
                .local_date
                .and_hms_opt(0, 0, 0)
                .expect("midnight");
            (
                to_civil(midnight).date(),
                occurrence.start.timestamp(),
                occurrence.end.timestamp(),
            )
        })
        .collect();
    let expected: Vec<_> = oracle_occurrences(&window, from, to)
        .into_iter()
        .map(|occurrence| (occurrence.date, occurrence.start, occurrence.end))
        .collect();
    prop_assert_eq!(&occurrences, &expected, "occurrences of {:?}", window);

    let mut per_occurrence: HashMap<i64, usize> = HashMap::new();
    for (index, slot) in slots.iter().enumerate() {
        // Exactly call_minutes long, starting inside the query.
        prop_assert_eq!(slot.ends_at - slot.starts_at, length);
        prop_assert!(utc(from) <= slot.starts_at && slot.starts_at < utc(to));
        // Sorted, and never overlapping the next one.
        if let Some(next) = slots.get(index + 1) {
            prop_assert!(
                slot.starts_at < next.starts_at,
                "{:?} before {:?}",
                slot,
                next
            );
            prop_assert!(!slot.overlaps(next) && slot.ends_at <= next.starts_at);
        }
        // Wholly inside an occurrence that is not paused.
        let (start, end) = slot_seconds(slot);
        let home = expected
            .iter()
            .find(|(_, open, close)| *open <= start && end <= *close);
        let Some(&(_, open, _)) = home else {
            return Err(TestCaseError::fail(format!(
                "{slot:?} lies in no occurrence of {window:?}"
            )));
        };
        prop_assert!(!spec.is_paused(open), "{:?} is on a paused date", slot);
        *per_occurrence.entry(open).or_default() += 1;
    }
    // At most the capacity per occurrence.
    if let Some(cap) = spec.cap {
        prop_assert!(per_occurrence.values().all(|&count| count <= cap as usize));
    }
    // The same list as the oracle's.
    let actual: Vec<_> = slots.iter().map(slot_seconds).collect();
    prop_assert_eq!(actual, spec.oracle_slots(from, to));
    Ok(())
}

fn check_several_windows(case: &ExpansionCase) -> Result<(), TestCaseError> {
    let ExpansionCase {
        schedule: spec,
        from,
        to,
    } = case;
    let actual: Vec<_> = spec
        .schedule()
        .slots(utc(*from), utc(*to))
        .iter()
        .map(slot_seconds)
        .collect();
    prop_assert_eq!(actual, spec.oracle_slots(*from, *to), "schedule {:?}", spec);
    Ok(())
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn the_slots_of_one_window_are_well_formed_and_match_the_oracle(
        case in expansion_case(1)
    ) {
        check_one_window(&case)?;
    }

    #[test]
    fn the_slots_of_several_windows_are_the_union_of_each_windows_slots(
        case in expansion_case(3)
    ) {
        check_several_windows(&case)?;
    }
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

const TOPICS: [&str; 4] = ["Rust", "career", "INTERVIEWS", "gardening"];

#[derive(Clone, Debug)]
struct MentorSpec {
    schedule: ScheduleSpec,
    topics: Vec<&'static str>,
}

#[derive(Clone, Debug)]
struct RequestSpec {
    seeker: SeekerSpec,
    minutes_old: i64,
    topic: &'static str,
}

#[derive(Clone, Debug)]
struct World {
    now: i64,
    min_notice_minutes: i64,
    horizon_minutes: i64,
    calling_hours: (u16, u16),
    mentor_ids: Vec<i64>,
    mentors: Vec<MentorSpec>,
    requests: Vec<RequestSpec>,
    /// Pre-booked calls taken from the mentors' own slots: (mentor, slot) picks.
    booked_on_slots: Vec<(Index, Index)>,
    /// Pre-booked calls at arbitrary times: (mentor, minutes after now, length).
    booked_anywhere: Vec<(Index, i64, i64)>,
}

/// A commute window in `zone`: often on the hour or half hour in the daytime, so that
/// several mentors offer slots at the same instant and the tie-breaks matter.
fn commute_window(zone: usize) -> impl Strategy<Value = RangeSpec> {
    let start = prop_oneof![
        2 => (12u16..=43).prop_map(|half_hour| half_hour * 30),
        1 => minute_of_day(),
    ];
    let length = prop_oneof![Just(60u16), Just(120u16), 15u16..=180];
    (1u8..=127, start, length).prop_map(move |(weekdays, start, length)| RangeSpec {
        zone,
        weekdays,
        start,
        end: (start + length) % 1440,
    })
}

/// A zone: often `home`, so that mentors and seekers share clocks.
fn zone_or(home: usize) -> impl Strategy<Value = usize> {
    prop_oneof![2 => Just(home), 1 => zone_index()]
}

fn mentor_spec(home: usize, now: i64) -> impl Strategy<Value = MentorSpec> {
    zone_or(home).prop_flat_map(move |mentor_zone| {
        let window = zone_or(mentor_zone).prop_flat_map(commute_window);
        let call_minutes = prop_oneof![2 => Just(15u32), 2 => Just(30u32), 1 => 10u32..=60];
        let pause = (-2i64..=16, 0i64..=3);
        (
            prop::collection::vec(window, 1..=3),
            call_minutes,
            cap(),
            prop::collection::vec(pause, 0..=1),
            prop::sample::subsequence(TOPICS[..3].to_vec(), 0..=2),
        )
            .prop_map(move |(windows, call_minutes, cap, pauses, topics)| {
                let today = local_date(zone(mentor_zone), now);
                MentorSpec {
                    schedule: ScheduleSpec {
                        zone: mentor_zone,
                        call_minutes,
                        cap,
                        windows,
                        pauses: pauses_from(today, &pauses),
                    },
                    topics,
                }
            })
    })
}

fn request_spec(home: usize, calling_hours: (u16, u16)) -> impl Strategy<Value = RequestSpec> {
    zone_or(home).prop_flat_map(move |seeker_zone| {
        let range =
            range_spec(seeker_zone, 900).prop_map(|range| (range.weekdays, range.start, range.end));
        let availability = prop_oneof![
            2 => Just(Vec::new()),
            3 => prop::collection::vec(range, 1..=3),
        ];
        (
            availability,
            0i64..=60 * 24 * 30,
            prop::sample::select(TOPICS.to_vec()),
        )
            .prop_map(move |(availability, minutes_old, topic)| RequestSpec {
                seeker: SeekerSpec {
                    zone: seeker_zone,
                    calling_hours,
                    availability,
                },
                minutes_old,
                topic,
            })
    })
}

fn world() -> impl Strategy<Value = World> {
    // A home zone, and now within the two weeks before one of its transitions (or
    // shortly after it).
    let now = zone_index().prop_flat_map(|home| {
        let second = prop_oneof![3 => Just(0i64), 1 => 0i64..60];
        (
            Just(home),
            instant_near(home, 60 * 24 * 16, 60 * 24 * 2),
            second,
        )
            .prop_map(|(home, now, second)| (home, now + second))
    });
    let calling_hours = prop_oneof![
        3 => Just((8 * 60u16, 21 * 60u16)),
        1 => (8 * 60u16..=11 * 60, 17 * 60u16..=21 * 60),
    ];
    (now, calling_hours).prop_flat_map(|((home, now), calling_hours)| {
        (
            Just(now),
            prop_oneof![2 => Just(120i64), 1 => 0i64..=720],
            prop_oneof![2 => Just(14 * 24 * 60i64), 1 => 60i64..=14 * 24 * 60],
            Just(calling_hours),
            Just(vec![3i64, 17, 5, 11, 2]).prop_shuffle(),
            prop::collection::vec(mentor_spec(home, now), 1..=5),
            prop::collection::vec(request_spec(home, calling_hours), 0..=30),
            prop::collection::vec((any::<Index>(), any::<Index>()), 0..=4),
            prop::collection::vec((any::<Index>(), -120i64..=60 * 24 * 15, 5i64..=60), 0..=3),
        )
            .prop_map(
                |(
                    now,
                    min_notice_minutes,
                    horizon_minutes,
                    calling_hours,
                    mentor_ids,
                    mentors,
                    requests,
                    booked_on_slots,
                    booked_anywhere,
                )| World {
                    now,
                    min_notice_minutes,
                    horizon_minutes,
                    calling_hours,
                    mentor_ids,
                    mentors,
                    requests,
                    booked_on_slots,
                    booked_anywhere,
                },
            )
    })
}

fn overlaps((a_start, a_end): (i64, i64), (b_start, b_end): (i64, i64)) -> bool {
    a_start < b_end && b_start < a_end
}

/// ISO (year, week) of `second` in `zone`.
fn iso_week(zone: &Zone, second: i64) -> (i16, i8) {
    let week = local_date(zone, second).iso_week_date();
    (week.year(), week.week())
}

/// The crate's inputs for `world`, and the pre-booked calls as (mentor index, span).
struct Inputs {
    requests: Vec<OpenRequest>,
    mentors: Vec<MentorSupply>,
    booked: Vec<BookedCall>,
    booked_by: Vec<(usize, (i64, i64))>,
    policy: MatchPolicy,
}

fn inputs(world: &World, slots: &[Vec<(i64, i64)>]) -> Inputs {
    let mentor_count = world.mentors.len();
    let mut booked_by: Vec<(usize, (i64, i64))> = Vec::new();
    for (mentor, slot) in &world.booked_on_slots {
        let mentor = mentor.index(mentor_count);
        if !slots[mentor].is_empty() {
            booked_by.push((mentor, slots[mentor][slot.index(slots[mentor].len())]));
        }
    }
    for (mentor, minutes, length) in &world.booked_anywhere {
        let start = world.now + minutes * MINUTE;
        booked_by.push((mentor.index(mentor_count), (start, start + length * MINUTE)));
    }
    let mut booked: Vec<BookedCall> = booked_by
        .iter()
        .map(|&(mentor, (start, end))| BookedCall {
            mentor_id: MentorId(world.mentor_ids[mentor]),
            slot: Slot {
                starts_at: utc(start),
                ends_at: utc(end),
            },
        })
        .collect();
    // A call of a mentor who is not in the list changes nothing.
    booked.push(BookedCall {
        mentor_id: MentorId(999),
        slot: Slot {
            starts_at: utc(world.now),
            ends_at: utc(world.now + 30 * DAY),
        },
    });

    let requests = world
        .requests
        .iter()
        .enumerate()
        .map(|(index, request)| OpenRequest {
            id: RequestId(100 + index as i64),
            // Distinct by construction: whole minutes plus the index in seconds.
            created_at: utc(world.now - request.minutes_old * MINUTE - index as i64),
            topic: request.topic.to_owned(),
            hours: request.seeker.hours(),
            avoid_mentor: None,
            preferred_mentor: None,
        })
        .collect();
    let mentors = world
        .mentors
        .iter()
        .zip(&world.mentor_ids)
        .map(|(mentor, &id)| MentorSupply {
            id: MentorId(id),
            topics: mentor
                .topics
                .iter()
                .map(|topic| (*topic).to_owned())
                .collect(),
            schedule: mentor.schedule.schedule(),
        })
        .collect();
    let time = |minutes: u16| {
        LocalTime::from_hm(u32::from(minutes / 60), u32::from(minutes % 60)).expect("time")
    };
    let (open, close) = world.calling_hours;
    let policy = MatchPolicy {
        min_notice: TimeDelta::minutes(world.min_notice_minutes),
        horizon: TimeDelta::minutes(world.horizon_minutes),
        calling_hours: CallingHours::new(time(open), time(close)).expect("valid hours"),
        calls_at_once: None,
    };
    Inputs {
        requests,
        mentors,
        booked,
        booked_by,
        policy,
    }
}

fn check_matching(world: &World) -> Result<(), TestCaseError> {
    // Notice counts in whole minutes: the earliest start is truncated to its minute.
    let earliest = (world.now + world.min_notice_minutes * MINUTE).div_euclid(MINUTE) * MINUTE;
    let latest = world.now + world.horizon_minutes * MINUTE;
    let mentor_count = world.mentors.len();
    let id_of = |index: usize| MentorId(world.mentor_ids[index]);
    let mentor_zone = |index: usize| zone(world.mentors[index].schedule.zone);

    // The mentors' slots, by the crate and by the oracle.
    let mut slots: Vec<Vec<(i64, i64)>> = Vec::new();
    for mentor in &world.mentors {
        let crate_slots: Vec<_> = mentor
            .schedule
            .schedule()
            .slots(utc(earliest), utc(latest))
            .iter()
            .map(slot_seconds)
            .collect();
        let oracle = if earliest < latest {
            mentor.schedule.oracle_slots(earliest, latest)
        } else {
            Vec::new()
        };
        prop_assert_eq!(&crate_slots, &oracle);
        slots.push(oracle);
    }

    let Inputs {
        requests,
        mentors,
        booked,
        booked_by,
        policy,
    } = inputs(world, &slots);
    let bookings = plan_bookings(utc(world.now), &policy, &requests, &mentors, &booked);

    // Where each seeker may be called, by the oracle.
    let spans: Vec<Vec<(i64, i64)>> = world
        .requests
        .iter()
        .map(|request| request.seeker.oracle_spans(earliest, latest.max(earliest)))
        .collect();
    let feasible = |request: usize, slot: (i64, i64)| fits(&spans[request], slot);
    let mentor_index: HashMap<MentorId, usize> = (0..mentor_count)
        .map(|index| (id_of(index), index))
        .collect();

    // Each request at most once, each booking for a known request and mentor.
    let mut by_request: BTreeMap<usize, (usize, (i64, i64))> = BTreeMap::new();
    for Booking {
        request_id,
        mentor_id,
        slot,
    } in &bookings
    {
        let request = usize::try_from(request_id.0 - 100).expect("known request");
        prop_assert!(request < requests.len(), "unknown request {}", request_id);
        let mentor = *mentor_index.get(mentor_id).expect("known mentor");
        let previous = by_request.insert(request, (mentor, slot_seconds(slot)));
        prop_assert!(previous.is_none(), "request {} booked twice", request_id);
    }

    let mut taken: HashSet<(usize, (i64, i64))> = HashSet::new();
    for (&request, &(mentor, slot)) in &by_request {
        let at = utc(slot.0);
        // Inside calling hours and availability.
        prop_assert!(
            feasible(request, slot),
            "request {} booked outside its hours at {}",
            request,
            at
        );
        // Notice and horizon.
        prop_assert!(
            earliest <= slot.0 && slot.0 < latest,
            "{} outside notice/horizon",
            at
        );
        // One of the mentor's own slots, not booked twice.
        let id = id_of(mentor);
        prop_assert!(
            slots[mentor].binary_search(&slot).is_ok(),
            "{} is no slot of mentor {}",
            at,
            id
        );
        prop_assert!(
            taken.insert((mentor, slot)),
            "slot {} of mentor {} booked twice",
            at,
            id
        );
        // No overlap with a pre-booked call or another booking of the mentor.
        for &(other_mentor, other) in &booked_by {
            let clash = other_mentor == mentor && overlaps(slot, other);
            prop_assert!(!clash, "{} overlaps a booked call of mentor {}", at, id);
        }
        for (&other_request, &(other_mentor, other)) in &by_request {
            let clash = other_request != request && other_mentor == mentor && overlaps(slot, other);
            prop_assert!(
                !clash,
                "two overlapping bookings of mentor {} at {}",
                id,
                at
            );
        }
    }

    // Oldest first (`created_at` is distinct for every request).
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&index| requests[index].created_at);
    for (position, &older) in order.iter().enumerate() {
        for &younger in &order[position + 1..] {
            let Some(&(_, their_slot)) = by_request.get(&younger) else {
                continue;
            };
            if !feasible(older, their_slot) {
                continue;
            }
            // The younger request's slot was free when the older one chose, and suited it.
            let Some(&(_, own_slot)) = by_request.get(&older) else {
                return Err(TestCaseError::fail(format!(
                    "request {older} went unbooked though younger {younger}'s slot {} suited it",
                    utc(their_slot.0)
                )));
            };
            prop_assert!(
                own_slot.0 <= their_slot.0,
                "older request {} got {} after younger {}'s {}",
                older,
                utc(own_slot.0),
                younger,
                utc(their_slot.0)
            );
        }
    }

    // Replaying the rules step by step: each request in age order gets the earliest
    // free feasible slot; among slots at that instant, a topic match, then the mentor
    // with fewer calls that ISO week (in the mentor's zone), then the lower id.
    let mut busy: Vec<Vec<(i64, i64)>> = vec![Vec::new(); mentor_count];
    let mut load: HashMap<(usize, (i16, i8)), u32> = HashMap::new();
    for &(mentor, slot) in &booked_by {
        busy[mentor].push(slot);
        *load
            .entry((mentor, iso_week(mentor_zone(mentor), slot.0)))
            .or_default() += 1;
    }
    for &request in &order {
        let options: Vec<(usize, (i64, i64))> = slots
            .iter()
            .enumerate()
            .flat_map(|(mentor, mentor_slots)| mentor_slots.iter().map(move |&slot| (mentor, slot)))
            .filter(|&(mentor, slot)| !busy[mentor].iter().any(|&other| overlaps(slot, other)))
            .filter(|&(_, slot)| feasible(request, slot))
            .collect();
        let first = options.iter().map(|(_, slot)| slot.0).min();
        let got = by_request.get(&request).copied();
        let (first, (mentor, slot)) = match (first, got) {
            (None, None) => continue,
            (None, Some((mentor, slot))) => {
                return Err(TestCaseError::fail(format!(
                    "request {request} booked at {} with mentor {} though nothing suited it",
                    utc(slot.0),
                    id_of(mentor)
                )));
            }
            (Some(first), None) => {
                return Err(TestCaseError::fail(format!(
                    "request {request} not booked though {} was free and suited it",
                    utc(first)
                )));
            }
            (Some(first), Some(got)) => (first, got),
        };
        prop_assert_eq!(
            slot.0,
            first,
            "request {} not given the earliest feasible slot",
            request
        );
        prop_assert!(options.contains(&(mentor, slot)));
        let topic = world.requests[request].topic.to_lowercase();
        let key = |(mentor, slot): (usize, (i64, i64))| {
            let spec = &world.mentors[mentor];
            let matches = spec
                .topics
                .iter()
                .any(|listed| listed.to_lowercase() == topic);
            let week = iso_week(mentor_zone(mentor), slot.0);
            (
                !matches,
                load.get(&(mentor, week)).copied().unwrap_or(0),
                id_of(mentor),
            )
        };
        let best = options
            .iter()
            .filter(|(_, option)| option.0 == first)
            .map(|&option| key(option))
            .min()
            .expect("at least one option");
        prop_assert_eq!(
            key((mentor, slot)),
            best,
            "request {}: tie broken wrongly",
            request
        );
        busy[mentor].push(slot);
        *load
            .entry((mentor, iso_week(mentor_zone(mentor), slot.0)))
            .or_default() += 1;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn matching_books_oldest_first_into_the_earliest_feasible_free_slot(world in world()) {
        check_matching(&world)?;
    }
}
