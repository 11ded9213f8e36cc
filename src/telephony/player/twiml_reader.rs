//! Reads the TwiML documents our webhooks answer with, the way Twilio reads
//! them: the verbs the player acts on (`<Say>`, `<Pause>`, `<Gather>`, `<Dial>`
//! with a `<Number>`, `<Redirect>`, `<Hangup>`, `<Reject>`) with Twilio's
//! defaults, and a refusal for anything Twilio would refuse. Only reading lives
//! here; playing the call is [`super::Player`]'s.
//!
//! Longer than most modules because of its tests: a third of it reads sample
//! TwiML.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// `<Gather timeout>` when not given.
const DEFAULT_GATHER_TIMEOUT: u32 = 5;

/// HTTP method of a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HttpMethod {
    Get,
    Post,
}

/// A TwiML verb, with what the player needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verb {
    Say(String),
    Pause(u32),
    Gather(GatherVerb),
    Dial(DialVerb),
    Redirect {
        url: String,
        method: HttpMethod,
    },
    Hangup,
    Reject,
    /// A verb the player does not act on (`<Play>`, `<Record>`, …): skipped.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct GatherVerb {
    pub(super) action: Option<String>,
    /// The key that ends input without counting (`#` unless set, `""` for none).
    pub(super) finish_on_key: String,
    pub(super) method: HttpMethod,
    pub(super) timeout: u32,
    pub(super) action_on_empty_result: bool,
    /// The nested `<Say>`/`<Pause>`/`<Play>` verbs.
    pub(super) prompt: Vec<Verb>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DialVerb {
    pub(super) caller_id: Option<String>,
    pub(super) timeout: Option<u32>,
    pub(super) time_limit: Option<u32>,
    pub(super) action: Option<String>,
    pub(super) method: HttpMethod,
    pub(super) answer_on_bridge: bool,
    pub(super) number: NumberNoun,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NumberNoun {
    pub(super) number: String,
    /// TwiML run on the callee's leg once answered, before the bridge.
    pub(super) url: Option<String>,
    pub(super) url_method: HttpMethod,
    pub(super) status_callback: Option<String>,
    /// The events named in `statusCallbackEvent`; Twilio's default is `completed` only.
    pub(super) events: Vec<String>,
    pub(super) status_callback_method: HttpMethod,
}

/// A generic XML element.
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn u32_attribute(&self, name: &str) -> Result<Option<u32>, String> {
        self.attribute(name)
            .map(|value| {
                value
                    .trim()
                    .parse()
                    .map_err(|_| format!("<{}> {name} is not a whole number", self.name))
            })
            .transpose()
    }

    fn bool_attribute(&self, name: &str) -> bool {
        self.attribute(name)
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    }

    fn method_attribute(&self, name: &str) -> Result<HttpMethod, String> {
        match self.attribute(name).map(str::trim) {
            None | Some("") => Ok(HttpMethod::Post),
            Some(value) if value.eq_ignore_ascii_case("POST") => Ok(HttpMethod::Post),
            Some(value) if value.eq_ignore_ascii_case("GET") => Ok(HttpMethod::Get),
            Some(_) => Err(format!("<{}> {name} must be GET or POST", self.name)),
        }
    }

    /// All text inside, whitespace collapsed (SSML tags inside `<Say>` keep their text).
    fn text(&self) -> String {
        fn collect(element: &Element, into: &mut String) {
            for child in &element.children {
                match child {
                    Node::Text(text) => into.push_str(text),
                    Node::Element(inner) => {
                        into.push(' ');
                        collect(inner, into);
                        into.push(' ');
                    }
                }
            }
        }
        let mut raw = String::new();
        collect(self, &mut raw);
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|child| match child {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    fn has_loose_text(&self) -> bool {
        self.children
            .iter()
            .any(|child| matches!(child, Node::Text(text) if !text.trim().is_empty()))
    }
}

/// Reads an XML document into an element tree.
fn parse_xml(xml: &str) -> Result<Element, String> {
    fn push_text(stack: &mut [Element], text: &str) -> Result<(), String> {
        match stack.last_mut() {
            Some(parent) => {
                if let Some(Node::Text(last)) = parent.children.last_mut() {
                    last.push_str(text);
                } else {
                    parent.children.push(Node::Text(text.to_owned()));
                }
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None => Err("text outside the root element".to_owned()),
        }
    }

    let mut reader = Reader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|error| error.to_string())? {
            Event::Start(start) => stack.push(element(&start)?),
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None if root.is_none() => root = Some(done),
                    None => return Err("more than one root element".to_owned()),
                }
            }
            Event::Text(text) => push_text(
                &mut stack,
                &text.xml10_content().map_err(|error| error.to_string())?,
            )?,
            Event::CData(data) => push_text(
                &mut stack,
                &data.decode().map_err(|error| error.to_string())?,
            )?,
            Event::GeneralRef(reference) => {
                let resolved = match reference
                    .resolve_char_ref()
                    .map_err(|error| error.to_string())?
                {
                    Some(character) => character.to_string(),
                    None => {
                        let name = reference.decode().map_err(|error| error.to_string())?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_owned()
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
            Event::Empty(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_)
            | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("unclosed element".to_owned());
    }
    root.ok_or_else(|| "empty document".to_owned())
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name =
        String::from_utf8(start.name().as_ref().to_vec()).map_err(|error| error.to_string())?;
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let key = String::from_utf8(attribute.key.as_ref().to_vec())
            .map_err(|error| error.to_string())?;
        let value = attribute
            .unescape_value()
            .map_err(|error| error.to_string())?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}

/// Reads a TwiML document into its verbs.
pub(super) fn parse_twiml(xml: &str) -> Result<Vec<Verb>, String> {
    let root = parse_xml(xml)?;
    if root.name != "Response" {
        return Err(format!(
            "the root element is <{}>, not <Response>",
            root.name
        ));
    }
    if root.has_loose_text() {
        return Err("text outside a verb".to_owned());
    }
    root.elements().map(verb).collect()
}

fn verb(element: &Element) -> Result<Verb, String> {
    Ok(match element.name.as_str() {
        "Say" => Verb::Say(element.text()),
        "Pause" => Verb::Pause(element.u32_attribute("length")?.unwrap_or(1)),
        "Gather" => Verb::Gather(GatherVerb {
            action: element.attribute("action").map(str::to_owned),
            finish_on_key: element.attribute("finishOnKey").unwrap_or("#").to_owned(),
            method: element.method_attribute("method")?,
            timeout: element
                .u32_attribute("timeout")?
                .unwrap_or(DEFAULT_GATHER_TIMEOUT),
            action_on_empty_result: element.bool_attribute("actionOnEmptyResult"),
            prompt: element
                .elements()
                .map(|inner| match inner.name.as_str() {
                    "Say" | "Pause" | "Play" => verb(inner),
                    other => Err(format!("<{other}> cannot be nested in <Gather>")),
                })
                .collect::<Result<_, _>>()?,
        }),
        "Dial" => Verb::Dial(dial(element)?),
        "Redirect" => Verb::Redirect {
            url: element.text(),
            method: element.method_attribute("method")?,
        },
        "Hangup" => Verb::Hangup,
        "Reject" => Verb::Reject,
        other => Verb::Other(other.to_owned()),
    })
}

fn dial(element: &Element) -> Result<DialVerb, String> {
    let mut nouns = element.elements();
    let number = match (nouns.next(), nouns.next()) {
        (Some(noun), None) if noun.name == "Number" => NumberNoun {
            number: noun.text(),
            url: noun.attribute("url").map(str::to_owned),
            url_method: noun.method_attribute("method")?,
            status_callback: noun.attribute("statusCallback").map(str::to_owned),
            events: match noun.attribute("statusCallbackEvent") {
                Some(events) => events
                    .split([' ', ','])
                    .filter(|event| !event.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => vec!["completed".to_owned()],
            },
            status_callback_method: noun.method_attribute("statusCallbackMethod")?,
        },
        (None, None) if !element.text().is_empty() => NumberNoun {
            number: element.text(),
            url: None,
            url_method: HttpMethod::Post,
            status_callback: None,
            events: Vec::new(),
            status_callback_method: HttpMethod::Post,
        },
        (Some(noun), None) => return Err(format!("<Dial><{}> is not supported", noun.name)),
        (None, None) => return Err("<Dial> without a number".to_owned()),
        (_, Some(_)) => {
            return Err("<Dial> with more than one noun is not supported".to_owned());
        }
    };
    if number.number.is_empty() {
        return Err("<Number> without a number".to_owned());
    }
    Ok(DialVerb {
        caller_id: element.attribute("callerId").map(str::to_owned),
        timeout: element.u32_attribute("timeout")?,
        time_limit: element.u32_attribute("timeLimit")?,
        action: element.attribute("action").map(str::to_owned),
        method: element.method_attribute("method")?,
        answer_on_bridge: element.bool_attribute("answerOnBridge"),
        number,
    })
}

/// `reference` resolved against the document URL `base`, as Twilio resolves a
/// relative `action`.
pub(super) fn resolve_url(base: &str, reference: &str) -> Result<String, String> {
    let base = reqwest::Url::parse(base).map_err(|error| error.to_string())?;
    base.join(reference.trim())
        .map(String::from)
        .map_err(|error| error.to_string())
}

/// `url` with `params` appended to its query string (a GET webhook).
pub(super) fn with_query(url: &str, params: &[(String, String)]) -> Result<String, String> {
    let mut url = reqwest::Url::parse(url).map_err(|error| error.to_string())?;
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::twiml::{Dial, Gather, Twiml};

    #[test]
    fn reads_the_twiml_the_service_writes() {
        let xml = Twiml::new()
            .gather(
                &Gather {
                    action: "https://x.test/gather?call=7&amp=1",
                    num_digits: 1,
                    timeout_seconds: 6,
                    any_key: false,
                },
                |t| t.say("A call for Ada & Bob <3").pause(1),
            )
            .say("Goodbye.")
            .dial(&Dial {
                caller_id: "+15550000000",
                timeout_seconds: 20,
                time_limit_seconds: 900,
                action: "/dial",
                number: "+15551112222",
                number_status_callback: "https://x.test/status?leg=seeker",
                number_url: Some("https://x.test/screen"),
            })
            .hangup()
            .build();
        let verbs = parse_twiml(&xml).expect("valid TwiML");
        assert_eq!(
            verbs,
            vec![
                Verb::Gather(GatherVerb {
                    action: Some("https://x.test/gather?call=7&amp=1".to_owned()),
                    finish_on_key: "#".to_owned(),
                    method: HttpMethod::Post,
                    timeout: 6,
                    action_on_empty_result: true,
                    prompt: vec![
                        Verb::Say("A call for Ada & Bob <3".to_owned()),
                        Verb::Pause(1)
                    ],
                }),
                Verb::Say("Goodbye.".to_owned()),
                Verb::Dial(DialVerb {
                    caller_id: Some("+15550000000".to_owned()),
                    timeout: Some(20),
                    time_limit: Some(900),
                    action: Some("/dial".to_owned()),
                    method: HttpMethod::Post,
                    answer_on_bridge: true,
                    number: NumberNoun {
                        number: "+15551112222".to_owned(),
                        url: Some("https://x.test/screen".to_owned()),
                        url_method: HttpMethod::Post,
                        status_callback: Some("https://x.test/status?leg=seeker".to_owned()),
                        events: ["initiated", "ringing", "answered", "completed"]
                            .map(str::to_owned)
                            .to_vec(),
                        status_callback_method: HttpMethod::Post,
                    },
                }),
                Verb::Hangup,
            ]
        );
    }

    #[test]
    fn defaults_are_twilios() {
        let verbs = parse_twiml(
            "<Response><Gather><Say>Hi</Say></Gather><Pause/><Dial>+15551112222</Dial>\
             <Redirect method=\"GET\">/next</Redirect><Reject/><Play>https://x.test/a.mp3</Play></Response>",
        )
        .expect("valid TwiML");
        assert_eq!(
            verbs,
            vec![
                Verb::Gather(GatherVerb {
                    action: None,
                    finish_on_key: "#".to_owned(),
                    method: HttpMethod::Post,
                    timeout: 5,
                    action_on_empty_result: false,
                    prompt: vec![Verb::Say("Hi".to_owned())],
                }),
                Verb::Pause(1),
                Verb::Dial(DialVerb {
                    caller_id: None,
                    timeout: None,
                    time_limit: None,
                    action: None,
                    method: HttpMethod::Post,
                    answer_on_bridge: false,
                    number: NumberNoun {
                        number: "+15551112222".to_owned(),
                        url: None,
                        url_method: HttpMethod::Post,
                        status_callback: None,
                        events: Vec::new(),
                        status_callback_method: HttpMethod::Post,
                    },
                }),
                Verb::Redirect {
                    url: "/next".to_owned(),
                    method: HttpMethod::Get
                },
                Verb::Reject,
                Verb::Other("Play".to_owned()),
            ]
        );
    }

    #[test]
    fn number_without_events_reports_completion_only() {
        let verbs = parse_twiml(
            "<Response><Dial><Number statusCallback=\"/s\">+15551112222</Number></Dial></Response>",
        )
        .expect("valid TwiML");
        let [Verb::Dial(dial)] = verbs.as_slice() else {
            panic!("{verbs:?}")
        };
        assert_eq!(dial.number.events, vec!["completed".to_owned()]);
    }

    #[test]
    fn say_text_is_unescaped_and_whitespace_collapsed() {
        let verbs = parse_twiml(
            "<?xml version=\"1.0\"?>\n<Response>\n  <Say voice=\"alice\">\n    Ada &amp; Bob &#x41;&#66;\n    \
             <break time=\"1s\"/>next<![CDATA[ <raw> ]]></Say>\n</Response>\n",
        )
        .expect("valid TwiML");
        assert_eq!(verbs, vec![Verb::Say("Ada & Bob AB next <raw>".to_owned())]);
    }

    #[test]
    fn broken_documents_are_refused() {
        for bad in [
            "",
            "not xml",
            "<Response><Say>unclosed</Response>",
            "<Response><Say>a</Say>",
            "<Other/>",
            "<Response/><Response/>",
            "<Response>loose text</Response>",
            "<Response><Pause length=\"soon\"/></Response>",
            "<Response><Gather method=\"PUT\"/></Response>",
            "<Response><Gather><Dial>+1555</Dial></Gather></Response>",
            "<Response><Dial><Client>ada</Client></Dial></Response>",
            "<Response><Dial/></Response>",
            "<Response><Say>&bogus;</Say></Response>",
        ] {
            assert!(parse_twiml(bad).is_err(), "accepted {bad:?}");
        }
        assert_eq!(parse_twiml("<Response/>"), Ok(Vec::new()));
    }

    #[test]
    fn relative_actions_resolve_against_the_document() {
        assert_eq!(
            resolve_url("https://x.test/hooks/twiml?call=1", "gather?x=2").as_deref(),
            Ok("https://x.test/hooks/gather?x=2")
        );
        assert_eq!(
            resolve_url("https://x.test/hooks/twiml", "/dial").as_deref(),
            Ok("https://x.test/dial")
        );
        assert_eq!(
            resolve_url("https://x.test/hooks/twiml", "https://y.test/a").as_deref(),
            Ok("https://y.test/a")
        );
    }

    #[test]
    fn get_webhooks_carry_their_parameters_in_the_query() {
        let params = vec![
            ("Digits".to_owned(), "1".to_owned()),
            ("To".to_owned(), "+1 555".to_owned()),
        ];
        assert_eq!(
            with_query("https://x.test/g?call=1", &params).as_deref(),
            Ok("https://x.test/g?call=1&Digits=1&To=%2B1+555")
        );
        assert_eq!(
            with_query("https://x.test/g", &[]).as_deref(),
            Ok("https://x.test/g")
        );
    }
}
