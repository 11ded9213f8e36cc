//! TwiML, the XML that tells Twilio what to do on a call. A small builder that
//! escapes every text and attribute, so a seeker's name can never inject markup.

use std::fmt::Write;

/// A TwiML `<Response>` under construction.
#[derive(Default, Debug)]
pub struct Twiml {
    verbs: String,
}

/// `<Gather>`: collect a key press, then POST it to `action`.
#[derive(Debug)]
pub struct Gather<'a> {
    /// Where the digits go.
    pub action: &'a str,
    /// How many digits end the input.
    pub num_digits: u32,
    /// Seconds of silence before giving up.
    pub timeout_seconds: u32,
    /// Whether every key counts as input, `#` included (Twilio otherwise takes
    /// `#` to mean "done" and reports no digits).
    pub any_key: bool,
}

/// `<Dial>` to one `<Number>`.
#[derive(Debug)]
pub struct Dial<'a> {
    /// The number shown to the callee (the service number).
    pub caller_id: &'a str,
    /// Seconds to let the callee's phone ring.
    pub timeout_seconds: u32,
    /// Most seconds the bridged call may last.
    pub time_limit_seconds: u32,
    /// Where Twilio POSTs the outcome (`DialCallStatus`, `DialCallDuration`).
    pub action: &'a str,
    /// The callee's number.
    pub number: &'a str,
    /// Where the callee leg's status callbacks go.
    pub number_status_callback: &'a str,
    /// TwiML run on the callee's leg once answered, before the bridge (a call
    /// screen): the legs are bridged only when it ends without hanging up.
    pub number_url: Option<&'a str>,
}

impl Twiml {
    /// An empty response.
    pub fn new() -> Twiml {
        Twiml::default()
    }

    /// Speaks `text`.
    pub fn say(mut self, text: &str) -> Twiml {
        let _ = write!(self.verbs, "<Say language=\"en-US\">{}</Say>", escape(text));
        self
    }

    /// Waits `seconds`.
    pub fn pause(mut self, seconds: u32) -> Twiml {
        let _ = write!(self.verbs, "<Pause length=\"{seconds}\"/>");
        self
    }

    /// Collects digits while the verbs built by `inside` play; the action is
    /// requested even when nothing was pressed, so silence is recorded too.
    pub fn gather(mut self, gather: &Gather<'_>, inside: impl FnOnce(Twiml) -> Twiml) -> Twiml {
        let inner = inside(Twiml::new()).verbs;
        let finish = if gather.any_key {
            " finishOnKey=\"\""
        } else {
            ""
        };
        let _ = write!(
            self.verbs,
            "<Gather input=\"dtmf\" numDigits=\"{}\" timeout=\"{}\"{finish} action=\"{}\" \
             method=\"POST\" actionOnEmptyResult=\"true\">{inner}</Gather>",
            gather.num_digits,
            gather.timeout_seconds,
            escape(gather.action),
        );
        self
    }

    /// Dials one number and bridges it in.
    pub fn dial(mut self, dial: &Dial<'_>) -> Twiml {
        let screen = dial.number_url.map_or_else(String::new, |url| {
            format!(" url=\"{}\" method=\"POST\"", escape(url))
        });
        let _ = write!(
            self.verbs,
            "<Dial callerId=\"{}\" answerOnBridge=\"true\" timeout=\"{}\" timeLimit=\"{}\" \
             action=\"{}\" method=\"POST\"><Number{screen} statusCallback=\"{}\" \
             statusCallbackEvent=\"initiated ringing answered completed\" \
             statusCallbackMethod=\"POST\">{}</Number></Dial>",
            escape(dial.caller_id),
            dial.timeout_seconds,
            dial.time_limit_seconds,
            escape(dial.action),
            escape(dial.number_status_callback),
            escape(dial.number),
        );
        self
    }

    /// Replies to an inbound text with `text` (messaging webhooks).
    pub fn message(mut self, text: &str) -> Twiml {
        let _ = write!(self.verbs, "<Message>{}</Message>", escape(text));
        self
    }

    /// Ends the call.
    pub fn hangup(mut self) -> Twiml {
        self.verbs.push_str("<Hangup/>");
        self
    }

    /// The XML document.
    pub fn build(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{}</Response>",
            self.verbs
        )
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let xml = Twiml::new().say("Ada <script>&\"'").build();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Say language=\"en-US\">Ada &lt;script&gt;&amp;&quot;&apos;</Say></Response>"
        );
    }

    #[test]
    fn gather_wraps_its_prompt_and_always_reports() {
        let xml = Twiml::new()
            .gather(
                &Gather {
                    action: "https://x/g?a=1&b=2",
                    num_digits: 1,
                    timeout_seconds: 6,
                    any_key: false,
                },
                |t| t.say("Press 1"),
            )
            .build();
        assert!(xml.contains("action=\"https://x/g?a=1&amp;b=2\""), "{xml}");
        assert!(xml.contains("actionOnEmptyResult=\"true\"><Say"), "{xml}");
        assert!(!xml.contains("finishOnKey"), "{xml}");
    }

    #[test]
    fn a_screen_takes_any_key_and_runs_on_the_callee_before_the_bridge() {
        let gather = Twiml::new()
            .gather(
                &Gather {
                    action: "https://x/screen-result",
                    num_digits: 1,
                    timeout_seconds: 8,
                    any_key: true,
                },
                |t| t.say("Press any key"),
            )
            .build();
        assert!(gather.contains("finishOnKey=\"\""), "{gather}");
        let dial = Twiml::new()
            .dial(&Dial {
                caller_id: "+15005550006",
                timeout_seconds: 30,
                time_limit_seconds: 900,
                action: "https://x/dial",
                number: "+12015550199",
                number_status_callback: "https://x/seeker-status",
                number_url: Some("https://x/screen?a=1&b=2"),
            })
            .build();
        assert!(
            dial.contains(
                "<Number url=\"https://x/screen?a=1&amp;b=2\" method=\"POST\" statusCallback="
            ),
            "{dial}"
        );
        assert!(dial.contains("answerOnBridge=\"true\""), "{dial}");
    }
}
