//! Consent: what a seeker agrees to, how they prove the number is theirs, and the
//! SMS keywords that start and stop texts.
//!
//! Only the owner of a number may ask ridealong to call it. A new request waits,
//! `unconfirmed`, until the seeker enters the 6-digit code texted to the number
//! or replies YES to that text. The wording agreed to is versioned: a request
//! keeps the version it was made under, so the operator can show exactly what
//! each seeker agreed to even after the wording changes.

use chrono::TimeDelta;
use rand::Rng;

use super::feedback::Score;
use crate::ids::RequestId;
use crate::tokens;

/// One version of the consent wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsentWording {
    /// Stored with each request.
    pub version: &'static str,
    /// What the seeker reads next to the consent box (and what `consent: true`
    /// means in the API).
    pub text: &'static str,
}

/// Every wording ever used, oldest first; the last is current. Never edit one
/// that shipped: add a version.
pub const CONSENT_WORDINGS: &[ConsentWording] = &[
    ConsentWording {
        version: "2026-11-25",
        text: "I agree that ridealong may call and text this number about this request. My number \
               is never shown to the mentor: the call and the texts come from ridealong's own \
               number.",
    },
    ConsentWording {
        version: "2026-11-26",
        text: "This is my phone number, and I agree that ridealong may call and text it about this \
               request. My number is never shown to the mentor: the call and the texts come from \
               ridealong's own number. I can reply STOP to any text to get no more texts, and \
               erase my request and my data at any time.",
    },
];

/// The wording new requests are made under.
pub fn current_wording() -> ConsentWording {
    *CONSENT_WORDINGS.last().expect("at least one wording")
}

/// The wording with `version`, if it ever existed.
pub fn wording(version: &str) -> Option<ConsentWording> {
    CONSENT_WORDINGS
        .iter()
        .find(|wording| wording.version == version)
        .copied()
}

string_enum! {
    /// Where the seeker gave consent.
    ConsentSource {
        /// The request form on the web.
        Web => "web",
        /// `POST /api/v1/requests` with `consent: true`.
        Api => "api",
    }
}

string_enum! {
    /// How a number was shown to be the seeker's.
    ConfirmedVia {
        /// The code, entered on the request's page.
        Web => "web",
        /// The code, posted to `POST /api/v1/requests/{id}/confirm`.
        Api => "api",
        /// A YES reply to the code's text.
        Sms => "sms",
        /// This deployment does not confirm numbers (`RIDEALONG_CONFIRM_PHONE=false`).
        NotRequired => "not_required",
    }
}

/// How long a texted code works.
pub const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(30);
/// Wrong entries after which a code is void and a new one must be asked for.
pub const CODE_TRIES: u32 = 5;
/// Most code texts one request may ask for, the first included.
pub const MAX_CODE_TEXTS: u32 = 5;
/// How long a request may stay unconfirmed before it expires.
pub const UNCONFIRMED_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// A new random 6-digit code.
pub fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

/// The form a code is stored in: a hash salted with the request, so the same
/// code for two requests is stored differently.
pub fn code_hash(request_id: RequestId, code: &str) -> String {
    tokens::hash(&format!("request-confirm:{request_id}:{code}"))
}

/// The 6 digits of a code as a person types it ("123 456", "123-456"), or `None`
/// when it is not 6 digits.
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit())).then_some(code)
}

/// The text that carries a code: exactly one 6-digit group, and what to do with it.
pub fn code_text(code: &str) -> String {
    format!(
        "ridealong: your code is {code}. Enter it on your request's page, or reply YES to this \
         text, to confirm this is your number. It works for {} minutes. Did not ask for a call? \
         Ignore this text and nobody will call you.",
        CODE_LIFETIME.num_minutes()
    )
}

/// What an inbound text asks for, read the way carriers and Twilio read
/// keywords: the whole message, case and surrounding punctuation ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsKeyword {
    /// No more texts (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
    /// OPTOUT).
    OptOut,
    /// Texts again (START, UNSTOP).
    OptIn,
    /// YES: confirms the number (and, like START, re-enables texts).
    Yes,
    /// HELP or INFO.
    Help,
    /// One digit from 1 to 5: the answer to the feedback question after a call.
    /// A digit is never one of the words above, so it shadows none of them.
    Score(Score),
    /// AGAIN: takes the mentor's offer of another call (see
    /// [`crate::domain::follow_up`]). Not one of the words above, so it shadows
    /// none of them.
    Again,
    /// Anything else.
    Other,
}

/// The keyword an inbound message carries.
pub fn parse_keyword(body: &str) -> SmsKeyword {
    let word: String = body
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => {
            SmsKeyword::OptOut
        }
        "START" | "UNSTOP" => SmsKeyword::OptIn,
        "YES" | "Y" => SmsKeyword::Yes,
        "HELP" | "INFO" => SmsKeyword::Help,
        "AGAIN" => SmsKeyword::Again,
        _ => Score::from_reply(body).map_or(SmsKeyword::Other, SmsKeyword::Score),
    }
}

/// The answer to HELP: who we are and how to stop.
pub const HELP_TEXT: &str = "ridealong: free phone calls with volunteer mentors. Reply STOP to get \
     no more texts, START to get them again. Questions: reply to the organisation that sent you \
     here.";

/// The answer to a YES that confirmed a request.
pub const CONFIRMED_TEXT: &str = "ridealong: thanks, your number is confirmed. We will text you \
     when a mentor is booked to call you.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_wording_is_the_last_and_every_version_is_unique() {
        assert_eq!(current_wording(), *CONSENT_WORDINGS.last().unwrap());
        let mut versions: Vec<_> = CONSENT_WORDINGS.iter().map(|w| w.version).collect();
        versions.dedup();
        assert_eq!(versions.len(), CONSENT_WORDINGS.len());
        assert_eq!(wording("2026-11-25").unwrap().version, "2026-11-25");
        assert!(wording("1999-01-01").is_none());
    }

    #[test]
    fn codes_are_six_digits_and_read_as_typed() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(normalize_code(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize_code(" 012 345 ").as_deref(), Some("012345"));
        assert_eq!(normalize_code("012-345").as_deref(), Some("012345"));
        assert_eq!(normalize_code("12345"), None);
        assert_eq!(normalize_code("1234567"), None);
        assert_eq!(normalize_code("12a456"), None);
        assert_eq!(normalize_code("１２３４５６"), None);
    }

    #[test]
    fn a_code_hash_depends_on_the_request() {
        assert_ne!(
            code_hash(RequestId(1), "123456"),
            code_hash(RequestId(2), "123456")
        );
        assert_eq!(
            code_hash(RequestId(1), "123456"),
            code_hash(RequestId(1), "123456")
        );
    }

    #[test]
    fn the_code_text_carries_exactly_one_six_digit_group() {
        let text = code_text("042917");
        let groups: Vec<&str> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|group| !group.is_empty())
            .collect();
        assert_eq!(groups.iter().filter(|g| g.len() == 6).count(), 1);
        assert!(groups.iter().all(|g| g.len() == 6 || g.len() < 6));
        assert!(text.contains("042917"));
    }

    #[test]
    fn keywords_are_read_like_carriers_read_them() {
        for stop in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP ALL",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
        ] {
            assert_eq!(parse_keyword(stop), SmsKeyword::OptOut, "{stop}");
        }
        for start in ["START", "unstop", "Start!"] {
            assert_eq!(parse_keyword(start), SmsKeyword::OptIn, "{start}");
        }
        for yes in ["YES", "yes", "Yes!", " y "] {
            assert_eq!(parse_keyword(yes), SmsKeyword::Yes, "{yes}");
        }
        assert_eq!(parse_keyword("help"), SmsKeyword::Help);
        for again in ["AGAIN", "again", " Again! "] {
            assert_eq!(parse_keyword(again), SmsKeyword::Again, "{again}");
        }
        for other in [
            "again please",
            "stop calling me maybe",
            "yes please",
            "",
            "123456",
            "no",
            "0",
            "6",
            "12",
        ] {
            assert_eq!(parse_keyword(other), SmsKeyword::Other, "{other}");
        }
        for (digit, value) in [("1", 1), (" 5 ", 5), ("3.", 3)] {
            assert_eq!(
                parse_keyword(digit),
                SmsKeyword::Score(Score::new(value).expect("score")),
                "{digit}"
            );
        }
    }
}
