//! A follow-up offered from the car: when the seeker hangs up first, the mentor
//! hears [`offer_prompt`] and may press 1; the seeker is then texted
//! [`offer_text`], and a reply of AGAIN within [`REPLY_WINDOW`] of that text
//! makes a new request that prefers the same mentor (booked into their next
//! free slot within [`crate::domain::matching::PREFERENCE_HOLDS`], with anyone
//! after that).
//!
//! An offer is answered once: the first AGAIN takes it, and the call it came
//! from records the request it led to.

use chrono::{DateTime, TimeDelta, Utc};

use super::text::first_name;

/// How long after the offer was texted an AGAIN still takes it.
pub const REPLY_WINDOW: TimeDelta = TimeDelta::days(7);

/// The key the mentor presses to offer another call.
pub const OFFER_KEY: &str = "1";

/// Whether an AGAIN at `now` answers an offer texted at `offered_at`: at most
/// [`REPLY_WINDOW`] later, the last instant included.
pub fn answers_offer(offered_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= offered_at && now - offered_at <= REPLY_WINDOW
}

/// What the mentor hears once the seeker has hung up on a completed call.
pub fn offer_prompt(seeker_name: &str) -> String {
    format!(
        "Thank you for the call. Press 1 to offer {} another call with you.",
        someone(seeker_name, "them")
    )
}

/// What the mentor hears after pressing 1.
pub fn offer_made(seeker_name: &str) -> String {
    format!(
        "We'll text {} that you'd be glad to talk again. Drive safely.",
        someone(seeker_name, "them")
    )
}

/// The text that carries the offer to the seeker.
pub fn offer_text(mentor_name: &str) -> String {
    format!(
        "ridealong: {} would be glad to talk again. Reply AGAIN to book.",
        capitalized(someone(mentor_name, "your mentor"))
    )
}

/// The answer to an AGAIN that made a request.
pub fn booking_text(mentor_name: &str) -> String {
    format!(
        "ridealong: thanks! We're booking your next call with {} and will text you the time.",
        someone(mentor_name, "your mentor")
    )
}

/// The answer to an AGAIN while the number already has a request open.
pub const ALREADY_OPEN_TEXT: &str = "ridealong: you already have a call request open. We'll \
     text you when it's booked.";

/// The answer to an AGAIN with no offer open for the number (none was made, or
/// it is older than [`REPLY_WINDOW`], or it was taken).
pub fn no_offer_text(site_url: Option<&str>) -> String {
    let ask = match site_url {
        Some(url) => format!(" To ask for a call, visit {}.", url.trim_end_matches('/')),
        None => String::new(),
    };
    format!("ridealong: there's no call offer waiting for this number; offers last 7 days.{ask}")
}

/// A person's first name, or `fallback` when the name was erased.
fn someone<'a>(name: &'a str, fallback: &'a str) -> &'a str {
    match first_name(name) {
        "" => fallback,
        first => first,
    }
}

/// `text` with its first letter upper case ("your mentor" opening a sentence).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn an_again_answers_the_offer_for_seven_days_to_the_instant() {
        let offered = at("2026-12-01T08:20:00Z");
        assert!(answers_offer(offered, offered));
        assert!(answers_offer(offered, at("2026-12-08T08:20:00Z")));
        assert!(!answers_offer(offered, at("2026-12-08T08:20:01Z")));
        // A clock that went back never answers an offer not yet made.
        assert!(!answers_offer(offered, at("2026-12-01T08:19:59Z")));
    }

    #[test]
    fn the_texts_and_prompts_use_first_names_only() {
        assert_eq!(
            offer_text("Grace Brewster Hopper"),
            "ridealong: Grace would be glad to talk again. Reply AGAIN to book."
        );
        assert_eq!(
            offer_prompt("Ada King Lovelace"),
            "Thank you for the call. Press 1 to offer Ada another call with you."
        );
        assert!(offer_made("Ada Lovelace").contains("We'll text Ada "));
        assert!(booking_text("Grace Hopper").contains("with Grace and"));
    }

    #[test]
    fn an_erased_name_reads_as_a_role() {
        assert_eq!(
            offer_text(""),
            "ridealong: Your mentor would be glad to talk again. Reply AGAIN to book."
        );
        assert!(offer_prompt("").contains("offer them another call"));
    }

    #[test]
    fn the_no_offer_answer_points_to_the_site_when_there_is_one() {
        assert!(
            no_offer_text(Some("https://ridealong.example/"))
                .ends_with("visit https://ridealong.example.")
        );
        assert!(no_offer_text(None).ends_with("offers last 7 days."));
    }
}
