//! Looking for personal data where it must not be: [`Secrets`] scans text for
//! phone numbers in any format a person or a program might write them, and for
//! known secrets (tokens, codes, names, message text); [`Browser`] is the
//! cookie-keeping client the privacy tests sign in and read pages with.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use reqwest::{Response, StatusCode, header};

/// Characters that may sit between the digits of a written phone number:
/// `+1 (415) 555-0123`, `415.555.0123`, `+1/415/5550123`, `415+555+0123` (a form
/// encoded space).
const PHONE_SEPARATORS: [char; 8] = [' ', '-', '(', ')', '.', '+', '/', '\u{a0}'];

/// How many trailing digits of a number count as the number: seven is a local
/// number without its area code (`555-0123`), and no shorter run is distinctive.
const DISTINCTIVE_DIGITS: usize = 7;

#[derive(Clone, Debug)]
enum Needle {
    /// The last [`DISTINCTIVE_DIGITS`] of a phone number, found in any run of
    /// digits and separators once the separators are dropped.
    Phone(String),
    /// A digit group standing alone: not part of a longer run of digits, and not
    /// the fraction after a decimal point (timestamps and durations have those).
    Code(String),
    /// A string, compared case-insensitively.
    Text(String),
}

/// One secret found in a text.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What was found, e.g. "the seeker's number".
    pub label: String,
    /// The line it was found in, shortened around the find.
    pub context: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in: {}", self.label, self.context)
    }
}

/// Things a text must not contain, each with a label saying what it is.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    needles: Vec<(String, Needle)>,
}

impl Secrets {
    /// Nothing yet.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// A phone number (E.164): found in any format, down to its last seven digits
    /// (`+14155550123`, `14155550123`, `4155550123`, `(415) 555-0123`,
    /// `415-555-0123`, `415.555.0123`, `555-0123`, percent-encoded, …).
    pub fn phone(&mut self, label: &str, e164: &str) -> &mut Secrets {
        let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
        assert!(
            digits.len() >= DISTINCTIVE_DIGITS + 3,
            "{e164} is too short to tell apart"
        );
        let tail = digits[digits.len() - DISTINCTIVE_DIGITS..].to_owned();
        self.needles.push((label.to_owned(), Needle::Phone(tail)));
        self
    }

    /// A numeric code (`123456`), found as a digit group standing alone.
    pub fn code(&mut self, label: &str, code: &str) -> &mut Secrets {
        assert!(
            !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()),
            "{code:?} is not a numeric code"
        );
        self.needles
            .push((label.to_owned(), Needle::Code(code.to_owned())));
        self
    }

    /// A string (a token, a name, a message), found in any letter case.
    pub fn text(&mut self, label: &str, text: &str) -> &mut Secrets {
        assert!(text.len() >= 4, "{text:?} is too short to look for");
        self.needles
            .push((label.to_owned(), Needle::Text(text.to_lowercase())));
        self
    }

    /// Every secret found in `text`, line by line, as written and percent-decoded.
    pub fn find_in(&self, text: &str) -> Vec<Finding> {
        let mut found = Vec::new();
        for line in text.lines() {
            let decoded = percent_decoded(line);
            for (label, needle) in &self.needles {
                let at = needle.find(line).or_else(|| needle.find(&decoded));
                if let Some(at) = at {
                    found.push(Finding {
                        label: label.clone(),
                        context: around(line, at),
                    });
                }
            }
        }
        found
    }

    /// Fails the test, listing every find, when `text` (described by `what`)
    /// holds any of the secrets.
    pub fn assert_absent(&self, what: &str, text: &str) {
        let found = self.find_in(text);
        assert!(
            found.is_empty(),
            "{what} holds personal data or secrets:\n{}",
            found
                .iter()
                .map(|finding| format!("- {finding}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl Needle {
    /// Where (a byte index of `line`) this needle occurs, if it does.
    fn find(&self, line: &str) -> Option<usize> {
        match self {
            Needle::Text(text) => line.to_lowercase().find(text.as_str()).map(|at| {
                // Lowercasing can shift byte offsets; clamp to a char boundary.
                (0..=at.min(line.len()))
                    .rev()
                    .find(|index| line.is_char_boundary(*index))
                    .unwrap_or(0)
            }),
            Needle::Phone(tail) => phone_runs(line)
                .find(|(_, digits)| digits.contains(tail.as_str()))
                .map(|(start, _)| start),
            Needle::Code(code) => line.match_indices(code.as_str()).find_map(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + code.len()..].chars().next();
                let alone = !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
                    && !after.is_some_and(|c| c.is_ascii_digit());
                alone.then_some(at)
            }),
        }
    }
}

/// The runs of digits and [`PHONE_SEPARATORS`] in `line` that hold digits: where
/// each starts, and its digits alone.
fn phone_runs(line: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut runs = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, c) in line.char_indices() {
        if c.is_ascii_digit() || PHONE_SEPARATORS.contains(&c) {
            let (_, digits) = current.get_or_insert_with(|| (index, String::new()));
            if c.is_ascii_digit() {
                digits.push(c);
            }
        } else if let Some(run) = current.take() {
            runs.push(run);
        }
    }
    runs.extend(current);
    runs.into_iter().filter(|(_, digits)| !digits.is_empty())
}

/// `line` with `%XX` escapes decoded and `+` read as a space, as a query string
/// or form body is read.
fn percent_decoded(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .filter(|hex| hex.bytes().all(|digit| digit.is_ascii_hexdigit()))
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Up to 160 characters of `line` on each side of byte `at`.
fn around(line: &str, at: usize) -> String {
    let start = line[..at]
        .char_indices()
        .rev()
        .nth(159)
        .map_or(0, |(index, _)| index);
    let end = line[at..]
        .char_indices()
        .nth(160)
        .map_or(line.len(), |(index, _)| at + index);
    line[start..end].to_owned()
}

/// A browser as far as the pages care: it keeps cookies, follows no redirects, and
/// says its posts come from the same site, with the CSRF token of its cookie.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    /// A browser without cookies, visiting `base` (`http://127.0.0.1:port`).
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    /// The value of cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().expect("cookies");
        cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, response: &Response) {
        let mut cookies = self.cookies.lock().expect("cookies");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("a name=value pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// `GET path`: the status and the body.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET reaches the app");
        self.keep_cookies(&response);
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// Posts `fields` and the CSRF token as a form on one of the app's pages
    /// would (open a page first, for the CSRF cookie): the status, the
    /// `Location` if any, and the body.
    pub async fn submit(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let csrf = self
            .cookie("ridealong_csrf")
            .expect("a CSRF cookie: open a page first");
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .header("sec-fetch-site", "same-origin")
            .form(&all)
            .send()
            .await
            .expect("POST reaches the app");
        self.keep_cookies(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().expect("ascii").to_owned());
        (status, location, response.text().await.expect("body"))
    }
}

/// The one group of exactly six digits in an SMS body (a sign-in or confirmation
/// code); fails the test unless there is exactly one.
pub fn code_in(body: &str) -> String {
    let groups: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|group| group.len() == 6)
        .collect();
    assert_eq!(groups.len(), 1, "exactly one 6-digit group in {body:?}");
    groups[0].to_owned()
}
