//! A deterministic population of mentors and requests shaped like real use: US
//! zones, one commute window per weekday per mentor, most seekers free on any
//! weekday and some only in the evening or in the morning.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::hours::{CallingHours, SeekerHours};
use crate::domain::matching::{MentorSupply, OpenRequest};
use crate::domain::schedule::MentorSchedule;
use crate::domain::weekly::{LocalTime, Weekdays, WeeklyRange};
use crate::ids::{MentorId, RequestId};

/// The zones mentors and seekers live in.
pub const ZONES: [Tz; 4] = [
    chrono_tz::America::New_York,
    chrono_tz::America::Chicago,
    chrono_tz::America::Denver,
    chrono_tz::America::Los_Angeles,
];

/// Topics seekers ask about and mentors list.
pub const TOPICS: [&str; 8] = [
    "interviews",
    "resume",
    "career change",
    "data analysis",
    "negotiation",
    "networking",
    "portfolio",
    "first job",
];

/// Windows per mentor: one per weekday, Monday to Friday.
pub const WINDOWS_PER_MENTOR: usize = 5;

/// Length of every generated call, in minutes.
pub const CALL_MINUTES: u32 = 15;

/// One generated mentor.
#[derive(Clone, Debug)]
pub struct MentorSpec {
    /// Home zone; the windows are in it.
    pub zone: Tz,
    /// One or two topics.
    pub topics: Vec<String>,
    /// Five 45-minute windows, one per weekday, between 07:00 and 19:00 local.
    pub windows: Vec<WeeklyRange>,
}

impl MentorSpec {
    /// The matcher's view of this mentor under id `id`.
    pub fn supply(&self, id: MentorId) -> MentorSupply {
        MentorSupply {
            id,
            topics: self.topics.clone(),
            schedule: MentorSchedule {
                zone: self.zone,
                call_minutes: CALL_MINUTES,
                max_calls_per_window: None,
                windows: self.windows.clone(),
                pauses: Vec::new(),
            },
        }
    }
}

/// One generated request.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    /// The seeker's zone.
    pub zone: Tz,
    /// What the call is about.
    pub topic: String,
    /// Stated availability; empty (any weekday in calling hours) for most.
    pub availability: Vec<WeeklyRange>,
    /// When it was made: one second apart, oldest first.
    pub created_at: DateTime<Utc>,
}

impl RequestSpec {
    /// The matcher's view of this request under id `id`.
    pub fn open(&self, id: RequestId, calling_hours: CallingHours) -> OpenRequest {
        OpenRequest {
            id,
            created_at: self.created_at,
            topic: self.topic.clone(),
            hours: SeekerHours::new(self.zone, self.availability.clone(), calling_hours),
            avoid_mentor: None,
            preferred_mentor: None,
        }
    }
}

fn time(hour: u32, minute: u32) -> LocalTime {
    LocalTime::from_hm(hour, minute).expect("a valid time of day")
}

fn range(weekdays: Weekdays, start: LocalTime, end: LocalTime, zone: Tz) -> WeeklyRange {
    WeeklyRange::new(weekdays, start, end, zone).expect("start differs from end")
}

/// `count` mentors from `seed`.
pub fn mentors(count: usize, seed: u64) -> Vec<MentorSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let zone = ZONES[rng.random_range(0..ZONES.len())];
            let topics = (0..rng.random_range(1..=2))
                .map(|_| TOPICS[rng.random_range(0..TOPICS.len())].to_owned())
                .collect();
            let windows = (0..WINDOWS_PER_MENTOR)
                .map(|day| {
                    let weekdays = Weekdays::from_bits(1 << day).expect("one weekday");
                    // Quarter hours from 07:00 to 18:00, 45 minutes long.
                    let start_minutes = 7 * 60 + 15 * rng.random_range(0..=44u32);
                    let end_minutes = start_minutes + 45;
                    range(
                        weekdays,
                        time(start_minutes / 60, start_minutes % 60),
                        time(end_minutes / 60, end_minutes % 60),
                        zone,
                    )
                })
                .collect();
            MentorSpec {
                zone,
                topics,
                windows,
            }
        })
        .collect()
}

/// `count` requests from `seed`, the newest made at `now`.
pub fn requests(count: usize, now: DateTime<Utc>, seed: u64) -> Vec<RequestSpec> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|index| {
            let zone = ZONES[rng.random_range(0..ZONES.len())];
            let availability = match rng.random_range(0..10) {
                // Evenings on weekdays.
                0 | 1 => vec![range(Weekdays::WORKDAYS, time(17, 0), time(20, 30), zone)],
                // Mornings on Monday, Wednesday and Friday.
                2 => vec![range(
                    Weekdays::from_bits(0b1_0101).expect("mon, wed, fri"),
                    time(8, 0),
                    time(12, 0),
                    zone,
                )],
                _ => Vec::new(),
            };
            RequestSpec {
                zone,
                topic: TOPICS[rng.random_range(0..TOPICS.len())].to_owned(),
                availability,
                created_at: now - TimeDelta::seconds((count - index) as i64),
            }
        })
        .collect()
}

/// The `index`-th of a run of distinct valid US numbers (`+1 201 2xx xxxx` …),
/// one per generated person, so no two requests share a phone.
pub fn phone_number(index: usize) -> String {
    const AREA_CODES: [u32; 4] = [201, 212, 312, 415];
    let line = index % 10_000;
    let exchange = 200 + (index / 10_000) % 800;
    let area = AREA_CODES[(index / 8_000_000) % AREA_CODES.len()];
    format!("+1{area}{exchange:03}{line:04}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::phone::PhoneNumber;

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .expect("instant")
            .to_utc();
        let first = requests(50, now, 7);
        let second = requests(50, now, 7);
        assert!(
            first
                .iter()
                .zip(&second)
                .all(|(a, b)| a.zone == b.zone && a.topic == b.topic)
        );
        assert_eq!(mentors(10, 3)[4].windows.len(), WINDOWS_PER_MENTOR);
    }

    #[test]
    fn generated_phone_numbers_are_distinct_and_valid() {
        let mut seen = std::collections::HashSet::new();
        for index in (0..200_000).step_by(997) {
            let number = phone_number(index);
            assert!(seen.insert(number.clone()));
            PhoneNumber::parse("phone", &number, ZONES[0], None)
                .unwrap_or_else(|error| panic!("{number}: {error:?}"));
        }
    }
}
