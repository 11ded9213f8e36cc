//! `ridealong serve --demo`: seeds a mentor whose commute window opens a minute
//! from now and a seeker who asked for help, so a newcomer watches one simulated
//! call go end to end in the log: booked, dialed, announced, bridged, ended.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::hours::{CallingHours, SeekerHours};
use crate::domain::mentor::{MentorInput, NewMentor, RangeInput, parse_window};
use crate::domain::request::{NewRequest, RequestInput};
use crate::domain::status::RequestStatus;
use crate::domain::zones::AROUND_THE_GLOBE;
use crate::ids::{MentorId, RequestId};
use crate::store::{Store, StoreError};
use crate::tokens;

/// What the demo set up.
#[derive(Debug)]
pub struct Demo {
    /// The demo mentor.
    pub mentor_id: MentorId,
    /// The demo seeker's request.
    pub request_id: RequestId,
    /// When the call will be placed.
    pub call_at: DateTime<Utc>,
    /// The zone both live in.
    pub zone: Tz,
}

/// The first of [`AROUND_THE_GLOBE`] where the demo window (two 15-minute calls
/// from `call_at`: the call and its second try) falls in calling hours for the
/// demo seeker, who is free every day, weekends included.
fn demo_zone(call_at: DateTime<Utc>) -> Tz {
    AROUND_THE_GLOBE
        .iter()
        .filter_map(|name| name.parse::<Tz>().ok())
        .find(|zone| {
            let every_day = CallingHours::WIDEST.every_day_in(*zone);
            SeekerHours::new(*zone, vec![every_day], CallingHours::WIDEST)
                .permits(call_at, call_at + DEMO_WINDOW)
        })
        .unwrap_or(chrono_tz::America::New_York)
}

/// How long the demo commute lasts: two calls, so `--simulated-outcome
/// second_try_answered` shows a missed call tried again in the same commute.
const DEMO_WINDOW: TimeDelta = TimeDelta::minutes(30);

/// Seeds the demo mentor, window and request at `now`.
pub async fn seed(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Demo> {
    let call_at = now.duration_trunc(TimeDelta::minutes(1))? + TimeDelta::minutes(2);
    let zone = demo_zone(call_at);
    let local = call_at.with_timezone(&zone);
    let weekday = local.format("%a").to_string().to_lowercase();
    let start = local.format("%H:%M").to_string();
    let end = (local + DEMO_WINDOW).format("%H:%M").to_string();
    // 555-01xx numbers are reserved for fiction; a random one avoids clashing
    // with an earlier demo's open request.
    let suffix = rand::random_range(0..100);

    let mentor = NewMentor::parse(
        MentorInput {
            name: "Grace (demo mentor)",
            phone: &format!("+1201555{:04}", 100 + suffix),
            timezone: zone.name(),
            topics: &["interviews".to_owned()],
            call_minutes: Some(15),
            max_calls_per_window: Some(2),
        },
        None,
    )?;
    let mentor = store
        .insert_mentor(
            &mentor,
            &tokens::hash(&tokens::generate(tokens::MENTOR_PREFIX)),
            now,
        )
        .await?;
    let window = parse_window(
        RangeInput {
            weekdays: &[weekday],
            start: &start,
            end: &end,
            timezone: None,
        },
        zone,
        mentor.call_minutes,
    )?;
    store.insert_window(mentor.id, &window, now).await?;

    let every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(str::to_owned);
    let request = NewRequest::parse(
        RequestInput {
            name: "Ada (demo seeker)",
            phone: &format!("+1201555{:04}", 100 + (suffix + 50) % 100),
            timezone: zone.name(),
            topic: "interviews",
            message: "I have applied for months without an interview. Could someone look at how I go about it?",
            availability: vec![RangeInput {
                weekdays: &every_day,
                start: "08:00",
                end: "21:00",
                timezone: None,
            }],
            consent: true,
            calling_hours: CallingHours::WIDEST,
        },
        None,
    )?;
    let request = match store
        .insert_request(
            &request,
            RequestStatus::Pending,
            &tokens::hash(&tokens::generate(tokens::MANAGE_PREFIX)),
            now,
        )
        .await
    {
        Ok(request) => request,
        Err(StoreError::Conflict(_)) => anyhow::bail!(
            "the demo seeker's number already has an open request; run the demo again"
        ),
        Err(error) => return Err(error.into()),
    };
    Ok(Demo {
        mentor_id: mentor.id,
        request_id: request.id,
        call_at,
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_call_falls_in_calling_hours_at_any_minute_of_the_week() {
        // A whole week from a Saturday, so weekend nights are covered.
        let saturday: DateTime<Utc> = "2027-03-13T00:00:00Z".parse().expect("instant");
        for minute in 0..7 * 24 * 60 {
            let call_at = saturday + TimeDelta::minutes(minute);
            let zone = demo_zone(call_at);
            let every_day = CallingHours::WIDEST.every_day_in(zone);
            assert!(
                SeekerHours::new(zone, vec![every_day], CallingHours::WIDEST)
                    .permits(call_at, call_at + DEMO_WINDOW),
                "no zone for a call at {call_at}"
            );
        }
    }
}
