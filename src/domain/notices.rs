//! The text of SMS notices. Each person reads the time in their own zone, the
//! other person's first name and the topic, and the number the call will come from
//! (the service number), so an unknown caller gets picked up. A notice never
//! carries the other person's number. A reminder names the mentor by first
//! name only, and carries the seeker's manage link when the deployment has a
//! public URL.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::text::first_name;
use super::{feedback, follow_up};

string_enum! {
    /// What happened to the call.
    NoticeKind {
        /// A call was booked.
        Booked => "booked",
        /// A missed call was booked again, at a new time.
        Moved => "moved",
        /// The call is off.
        Canceled => "canceled",
        /// The call is off at its time and a new one is being found: its
        /// mentor gave it back and it was not booked again at once. Stored as
        /// a seeker's `canceled` notice; read as this while the request is open.
        Rebooking => "rebooking",
        /// The call is coming up soon (sent only to seekers).
        Reminder => "reminder",
        /// How much did the completed call help (sent only to seekers).
        Feedback => "feedback",
        /// The mentor would be glad to talk again: reply AGAIN to book (sent
        /// only to seekers, after the mentor pressed 1 at the end of the call).
        FollowUp => "follow_up",
        /// The mentor missed calls in a row and rests until they are back
        /// (sent only to mentors; the call is the miss that did it).
        Resting => "resting",
    }
}

string_enum! {
    /// Who is told.
    Recipient {
        /// The person who asked for help.
        Seeker => "seeker",
        /// The person who calls.
        Mentor => "mentor",
    }
}

/// Everything a notice may mention.
#[derive(Clone, Debug)]
pub struct NoticeFacts<'a> {
    /// When the call starts.
    pub starts_at: DateTime<Utc>,
    /// The seeker's name and zone.
    pub seeker_name: &'a str,
    /// The seeker's zone.
    pub seeker_zone: Tz,
    /// The mentor's name.
    pub mentor_name: &'a str,
    /// The mentor's zone.
    pub mentor_zone: Tz,
    /// What the call is about.
    pub topic: &'a str,
    /// The number every call comes from.
    pub service_number: &'a str,
    /// A link that opens the seeker's manage page, for a reminder; `None` when
    /// the deployment has no public URL (or for other notices).
    pub manage_link: Option<&'a str>,
}

/// A time as a person reads it in `zone`: "Tue Dec 1, 10:00 AM EST".
pub fn local_time(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .format("%a %b %-d, %-I:%M %p %Z")
        .to_string()
}

/// The text that carries a mentor's sign-in code, which works for `lifetime`.
pub fn sign_in_code_text(code: &str, lifetime: chrono::TimeDelta) -> String {
    format!(
        "Your ridealong sign-in code is {code}. It works for {} minutes. If you did not ask for it, ignore this text.",
        lifetime.num_minutes()
    )
}

/// The text for `recipient` about `kind`.
pub fn notice_text(kind: NoticeKind, recipient: Recipient, facts: &NoticeFacts<'_>) -> String {
    // An erased request has no name left; its mentor is still told of the cancellation.
    let seeker = match first_name(facts.seeker_name) {
        "" => "the seeker",
        name => name,
    };
    let mentor = first_name(facts.mentor_name);
    let topic = facts.topic;
    let from = facts.service_number;
    match (recipient, kind) {
        (Recipient::Seeker, NoticeKind::Booked) => format!(
            "ridealong: {mentor} will call you {} about \"{topic}\". The call comes from {from}; \
             save it so you pick up.",
            local_time(facts.starts_at, facts.seeker_zone)
        ),
        (Recipient::Seeker, NoticeKind::Moved) => format!(
            "ridealong: your call about \"{topic}\" has moved: it is now {} with {mentor}. \
             It comes from {from}.",
            local_time(facts.starts_at, facts.seeker_zone)
        ),
        (Recipient::Seeker | Recipient::Mentor, NoticeKind::Rebooking) => format!(
            "ridealong: your call on {} can't happen then. We're finding you a new time \
             and will text you when it's booked.",
            local_time(facts.starts_at, facts.seeker_zone)
        ),
        (Recipient::Seeker, NoticeKind::Canceled) => format!(
            "ridealong: your call on {} is canceled. Nobody will call you for it.",
            local_time(facts.starts_at, facts.seeker_zone)
        ),
        (Recipient::Seeker, NoticeKind::Reminder) => {
            let manage = facts
                .manage_link
                .map(|link| format!(" To see or cancel it: {link}"))
                .unwrap_or_default();
            format!(
                "ridealong reminder: {mentor} calls you {} about \"{topic}\". The call comes \
                 from {from}; please pick up.{manage}",
                local_time(facts.starts_at, facts.seeker_zone)
            )
        }
        (Recipient::Mentor, NoticeKind::Reminder) => format!(
            "ridealong reminder: your call with {seeker} about \"{topic}\" is {}. We'll ring you \
             from {from}; press 1 to connect.",
            local_time(facts.starts_at, facts.mentor_zone)
        ),
        (Recipient::Mentor, NoticeKind::Booked | NoticeKind::Moved) => format!(
            "ridealong: new call {}: {seeker}, about \"{topic}\". We'll ring you from {from}; \
             press 1 to connect.",
            local_time(facts.starts_at, facts.mentor_zone)
        ),
        // The ask after a completed call; a mentor is never asked.
        (_, NoticeKind::Feedback) => feedback::ask_text(facts.mentor_name),
        // The offer of another call; a mentor makes it, so is never sent it.
        (_, NoticeKind::FollowUp) => follow_up::offer_text(facts.mentor_name),
        (_, NoticeKind::Resting) => "ridealong: we couldn't reach you for your last few calls, \
             so we've stopped booking calls for you for now and your booked calls are going to \
             other mentors. When you're ready again, press \"I'm back\" on your ridealong \
             dashboard, or resume through the API."
            .to_owned(),
        (Recipient::Mentor, NoticeKind::Canceled) => format!(
            "ridealong: the call {} with {seeker} is canceled. Enjoy the quiet drive.",
            local_time(facts.starts_at, facts.mentor_zone)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> NoticeFacts<'static> {
        NoticeFacts {
            starts_at: DateTime::parse_from_rfc3339("2026-12-01T15:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            seeker_name: "Ada Lovelace",
            seeker_zone: chrono_tz::Europe::London,
            mentor_name: "Grace Hopper",
            mentor_zone: chrono_tz::America::New_York,
            topic: "interviews",
            service_number: "+15005550006",
            manage_link: None,
        }
    }

    #[test]
    fn each_side_reads_the_time_in_their_own_zone() {
        let seeker = notice_text(NoticeKind::Booked, Recipient::Seeker, &facts());
        assert!(seeker.contains("Tue Dec 1, 3:00 PM GMT"), "{seeker}");
        assert!(
            seeker.contains("Grace") && !seeker.contains("Hopper"),
            "{seeker}"
        );
        assert!(seeker.contains("+15005550006"), "{seeker}");
        let mentor = notice_text(NoticeKind::Booked, Recipient::Mentor, &facts());
        assert!(mentor.contains("Tue Dec 1, 10:00 AM EST"), "{mentor}");
        assert!(
            mentor.contains("Ada") && !mentor.contains("Lovelace"),
            "{mentor}"
        );
    }

    #[test]
    fn a_cancellation_after_erasure_reads_without_the_name() {
        let erased = NoticeFacts {
            seeker_name: "",
            topic: "",
            ..facts()
        };
        let mentor = notice_text(NoticeKind::Canceled, Recipient::Mentor, &erased);
        assert!(mentor.contains("with the seeker is canceled"), "{mentor}");
    }

    #[test]
    fn a_moved_call_says_when_and_with_whom_but_not_why() {
        let text = notice_text(NoticeKind::Moved, Recipient::Seeker, &facts());
        assert!(
            text.contains("moved") && text.contains("Tue Dec 1, 3:00 PM GMT"),
            "{text}"
        );
        assert!(text.contains("Grace") && !text.contains("Hopper"), "{text}");
        assert!(
            !text.contains("missed") && !text.contains("cancel"),
            "{text}"
        );
        let text = notice_text(NoticeKind::Rebooking, Recipient::Seeker, &facts());
        assert!(
            text.contains("Tue Dec 1, 3:00 PM GMT") && text.contains("new time"),
            "{text}"
        );
        assert!(
            !text.contains("Grace") && !text.contains("cancel"),
            "{text}"
        );
    }

    #[test]
    fn a_reminder_says_when_who_and_from_where_in_the_seekers_zone() {
        let text = notice_text(NoticeKind::Reminder, Recipient::Seeker, &facts());
        assert!(text.contains("Tue Dec 1, 3:00 PM GMT"), "{text}");
        assert!(text.contains("Grace") && !text.contains("Hopper"), "{text}");
        assert!(text.contains("+15005550006"), "{text}");
        assert!(text.contains("\"interviews\""), "{text}");
        assert!(!text.contains("http"), "no public URL, no link: {text}");

        let link = "https://ridealong.example.org/r/rar_abc";
        let with_link = NoticeFacts {
            manage_link: Some(link),
            ..facts()
        };
        let text = notice_text(NoticeKind::Reminder, Recipient::Seeker, &with_link);
        assert!(text.ends_with(link), "{text}");
    }

    #[test]
    fn a_reminder_the_evening_before_names_the_day() {
        // An 08:05 call in New York reminded at 20:59 the day before: the text
        // must say which day, not "today".
        let early = NoticeFacts {
            starts_at: DateTime::parse_from_rfc3339("2027-03-14T12:05:00Z")
                .unwrap()
                .with_timezone(&Utc),
            seeker_zone: chrono_tz::America::New_York,
            ..facts()
        };
        let text = notice_text(NoticeKind::Reminder, Recipient::Seeker, &early);
        assert!(text.contains("Sun Mar 14, 8:05 AM EDT"), "{text}");
    }

    #[test]
    fn the_feedback_ask_names_the_mentor_and_the_scale() {
        let text = notice_text(NoticeKind::Feedback, Recipient::Seeker, &facts());
        assert!(
            text.contains(
                "How much did your call with Grace help? Reply 1 (not at all) to 5 (a lot)."
            ),
            "{text}"
        );
    }

    #[test]
    fn the_follow_up_offer_names_the_mentor_and_the_reply() {
        let text = notice_text(NoticeKind::FollowUp, Recipient::Seeker, &facts());
        assert_eq!(
            text,
            "ridealong: Grace would be glad to talk again. Reply AGAIN to book."
        );
    }

    #[test]
    fn a_resting_mentor_is_told_how_to_come_back_and_nothing_of_the_seeker() {
        let text = notice_text(NoticeKind::Resting, Recipient::Mentor, &facts());
        assert!(
            text.contains("I'm back") && text.contains("resume"),
            "{text}"
        );
        assert!(
            !text.contains("Ada") && !text.contains("interviews"),
            "{text}"
        );
    }

    #[test]
    fn kinds_round_trip_through_their_strings() {
        for kind in NoticeKind::ALL.iter().copied() {
            assert_eq!(kind.as_str().parse::<NoticeKind>().unwrap(), kind);
        }
        assert_eq!("mentor".parse::<Recipient>().unwrap(), Recipient::Mentor);
    }
}
