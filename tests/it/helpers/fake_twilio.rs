//! A fake Twilio REST API for one account, on 127.0.0.1 port 0, speaking Twilio's
//! wire format: form-encoded requests, HTTP Basic auth, JSON answers and Twilio's
//! error bodies (`{"code", "message", "more_info", "status"}`).
//!
//! Served: create, fetch, list (filters and paging) and update calls; create
//! messages. Every request is recorded. A test can inject failures into the next
//! requests ([`FakeTwilio::fail_next`]), mark numbers invalid, and have created calls
//! played against the app's webhooks by [`Player`] (instant pace) with a
//! [`CallScript`] per callee; [`FakeTwilio::wait_for_plays`] awaits them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use ridealong::clock::{Clock, SystemClock};
use ridealong::telephony::player::{
    CallScript, Pace, PlayReport, PlayedCall, Player, new_call_sid,
};

/// How long [`FakeTwilio::wait_for_plays`] waits before failing the test.
const PLAY_WAIT_LIMIT: Duration = Duration::from_secs(30);
/// The longest [`FakeTwilio::wait_for_texts_to`] waits.
const TEXT_WAIT_LIMIT: Duration = Duration::from_secs(30);

/// A failure injected into one request, before it is otherwise handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429 with code 20429; the request is not processed.
    RateLimited,
    /// This HTTP status (500, 503, …) with a Twilio error body; not processed.
    Status(u16),
    /// The request is processed, then the answer is held this long (longer than
    /// the client's timeout to make it give up).
    Delay(Duration),
    /// The request is processed, then the connection is closed without an answer.
    CloseConnection,
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Decoded form parameters, in order (repeated keys kept).
    pub form: Vec<(String, String)>,
    /// The Basic-auth user and password, if any were sent.
    pub basic_auth: Option<(String, String)>,
    /// HTTP status answered; 0 when the connection was closed instead.
    pub status: u16,
}

impl RecordedRequest {
    /// Every form value of `name`, in order.
    pub fn form_values(&self, name: &str) -> Vec<&str> {
        values(&self.form, name)
    }

    /// The first form value of `name`.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        values(&self.form, name).first().copied()
    }

    /// The first query value of `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        values(&self.query, name).first().copied()
    }
}

/// A call the fake knows: created through the API, or a leg a played call dialed.
#[derive(Clone, Debug)]
pub struct FakeCall {
    /// `CA…`
    pub sid: String,
    /// Callee.
    pub to: String,
    /// Caller ID.
    pub from: String,
    /// Current status: `queued` until played, then the played outcome.
    pub status: String,
    /// `outbound-api`, or `outbound-dial` for a dialed leg.
    pub direction: String,
    /// The parent of a dialed leg.
    pub parent_call_sid: Option<String>,
    /// Seconds, once finished.
    pub duration: Option<u32>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The create-call form (empty for a dialed leg).
    pub form: Vec<(String, String)>,
}

/// A text the fake accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMessage {
    /// `SM…`
    pub sid: String,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// The text.
    pub body: String,
}

/// The fake's mutable state.
#[derive(Default)]
struct Books {
    requests: Vec<RecordedRequest>,
    failures: VecDeque<Failure>,
    hold_texts_until: Option<usize>,
    calls: Vec<FakeCall>,
    messages: Vec<FakeMessage>,
    scripts: HashMap<String, CallScript>,
    auto_play: bool,
    invalid_numbers: HashSet<String>,
    unsubscribed: HashSet<String>,
    reports: Vec<PlayReport>,
}

/// Send-SMS requests held, and whether enough were held at once to let all go.
#[derive(Default)]
struct TextGate {
    held: usize,
    open: bool,
}

struct Shared {
    account_sid: String,
    auth_token: String,
    player: Player,
    books: Mutex<Books>,
    plays: watch::Sender<usize>,
    creates: watch::Sender<usize>,
    /// Messages accepted so far.
    messages: watch::Sender<usize>,
    /// Send-SMS requests held now (see [`FakeTwilio::hold_texts_until`]).
    text_gate: watch::Sender<TextGate>,
    clock: Mutex<Arc<dyn Clock>>,
}

impl Shared {
    fn books(&self) -> MutexGuard<'_, Books> {
        self.books
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> DateTime<Utc> {
        let clock = self
            .clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        clock.now()
    }
}

/// A running fake Twilio; the server stops when this is dropped.
pub struct FakeTwilio {
    shared: Arc<Shared>,
    base_url: String,
    server: JoinHandle<()>,
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTwilio {
    /// Starts a fake for a fresh account on 127.0.0.1, port 0.
    pub async fn start() -> FakeTwilio {
        let auth_token = format!("{:032x}", rand::random::<u128>());
        let shared = Arc::new(Shared {
            account_sid: format!("AC{:032x}", rand::random::<u128>()),
            player: Player::new(auth_token.clone(), Pace::Instant),
            auth_token,
            books: Mutex::new(Books::default()),
            plays: watch::channel(0).0,
            creates: watch::channel(0).0,
            messages: watch::channel(0).0,
            text_gate: watch::channel(TextGate::default()).0,
            clock: Mutex::new(Arc::new(SystemClock)),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Twilio");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<Connection>();
            let _ = axum::serve(KillableListener(listener), service).await;
        });
        FakeTwilio {
            shared,
            base_url,
            server,
        }
    }

    /// `http://127.0.0.1:{port}`: the API base URL to configure a client with.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The account's SID (`AC…`).
    pub fn account_sid(&self) -> &str {
        &self.shared.account_sid
    }

    /// The account's auth token (Basic-auth password, webhook signing key).
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// Stamps calls and messages with `clock` (the app's manual clock, say) instead
    /// of the machine's, so `StartTime` filters agree with the app's idea of now.
    pub fn use_clock(&self, clock: impl Clock) {
        *self
            .shared
            .clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(clock);
    }

    /// Plays every call created to `number` by `script`.
    pub fn script_for(&self, number: &str, script: CallScript) {
        self.shared
            .books()
            .scripts
            .insert(number.to_owned(), script);
    }

    /// Stops playing calls created to `number`: they stay `queued`, as if the
    /// phone were still ringing.
    pub fn unscript(&self, number: &str) {
        self.shared.books().scripts.remove(number);
    }

    /// Whether calls to numbers without a script are played too (by
    /// `CallScript::default()`). Off at start.
    pub fn auto_play(&self, on: bool) {
        self.shared.books().auto_play = on;
    }

    /// Makes `number` an invalid `To` (400, code 21211).
    pub fn invalid_number(&self, number: &str) {
        self.shared
            .books()
            .invalid_numbers
            .insert(number.to_owned());
    }

    /// How many send-SMS requests reached the fake, refused ones included.
    pub fn message_posts(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.path.ends_with("Messages.json"))
            .count()
    }

    /// Makes texts to `number` fail the way Twilio refuses a number that replied
    /// STOP: 400 with code 21610.
    pub fn unsubscribe(&self, number: &str) {
        self.shared.books().unsubscribed.insert(number.to_owned());
    }

    /// Holds the answer to every send-SMS request until `n` of them are waiting
    /// at the same moment, then answers them all and the rest at once: a client
    /// sending one text at a time never gets an answer (its requests time out).
    pub fn hold_texts_until(&self, n: usize) {
        self.shared.books().hold_texts_until = Some(n);
        self.shared.text_gate.send_modify(|gate| gate.open = false);
    }

    /// Injects `failure` into each of the next `n` requests.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.shared
            .books()
            .failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// Sets the status of call `sid` (to put it in progress, say).
    pub fn set_status(&self, sid: &str, status: &str) {
        let mut books = self.shared.books();
        let call = books
            .calls
            .iter_mut()
            .find(|call| call.sid == sid)
            .expect("a known call");
        call.status = status.to_owned();
    }

    /// Books a call that came in from `from` to `to` with provider id `sid`,
    /// now in `status`, without playing anything: a call whose webhooks the
    /// test sends itself (or loses).
    pub fn add_inbound_call(&self, sid: &str, from: &str, to: &str, status: &str) {
        let created_at = self.shared.now();
        self.shared.books().calls.push(FakeCall {
            sid: sid.to_owned(),
            to: to.to_owned(),
            from: from.to_owned(),
            status: status.to_owned(),
            direction: "inbound".to_owned(),
            parent_call_sid: None,
            duration: None,
            created_at,
            form: Vec::new(),
        });
    }

    /// Books a leg that call `parent` dialed to `to`, as a `<Dial>` would, with
    /// its final `status` and `duration_seconds`.
    pub fn add_dialed_leg(&self, parent: &str, to: &str, status: &str, duration_seconds: u32) {
        let created_at = self.shared.now();
        let mut books = self.shared.books();
        let from = books
            .calls
            .iter()
            .find(|call| call.sid == parent)
            .expect("a known parent call")
            .from
            .clone();
        let sid = ridealong::telephony::player::new_call_sid();
        books.calls.push(FakeCall {
            sid,
            to: to.to_owned(),
            from,
            status: status.to_owned(),
            direction: "outbound-dial".to_owned(),
            parent_call_sid: Some(parent.to_owned()),
            duration: Some(duration_seconds),
            created_at,
            form: Vec::new(),
        });
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.books().requests.clone()
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<FakeMessage> {
        self.shared.books().messages.clone()
    }

    /// The calls created through the API, oldest first, with their current state.
    pub fn created_calls(&self) -> Vec<FakeCall> {
        self.shared
            .books()
            .calls
            .iter()
            .filter(|call| call.parent_call_sid.is_none())
            .cloned()
            .collect()
    }

    /// The reports of the calls played so far, in the order they ended.
    pub async fn play_reports(&self) -> Vec<PlayReport> {
        self.shared.books().reports.clone()
    }

    /// Waits until `n` calls have been created in all (answered 201), at most `bound`.
    pub async fn wait_for_creates(&self, n: usize, bound: Duration) {
        let mut creates = self.shared.creates.subscribe();
        tokio::time::timeout(bound, creates.wait_for(|created| *created >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} calls not created within {bound:?}"))
            .expect("the fake is running");
    }

    /// Waits until `n` messages to `to` have been accepted (at most
    /// [`TEXT_WAIT_LIMIT`]), and returns every message to `to`, oldest first:
    /// for texts sent in the background, such as mentor sign-in codes.
    pub async fn wait_for_texts_to(&self, to: &str, n: usize) -> Vec<FakeMessage> {
        let mut accepted = self.shared.messages.subscribe();
        tokio::time::timeout(
            TEXT_WAIT_LIMIT,
            accepted.wait_for(|_| self.texts_to(to).len() >= n),
        )
        .await
        .unwrap_or_else(|_| panic!("{n} texts to {to} not accepted within {TEXT_WAIT_LIMIT:?}"))
        .expect("the fake is running");
        self.texts_to(to)
    }

    /// Every message accepted so far to `to`, oldest first.
    pub fn texts_to(&self, to: &str) -> Vec<FakeMessage> {
        self.messages()
            .into_iter()
            .filter(|message| message.to == to)
            .collect()
    }

    /// Waits until `n` send-SMS requests are held at once (see
    /// [`FakeTwilio::hold_texts_until`]), at most [`TEXT_WAIT_LIMIT`].
    pub async fn wait_for_held_texts(&self, n: usize) {
        let mut gate = self.shared.text_gate.subscribe();
        tokio::time::timeout(TEXT_WAIT_LIMIT, gate.wait_for(|gate| gate.held >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} texts not held at once within {TEXT_WAIT_LIMIT:?}"))
            .expect("the fake is running");
    }

    /// Answers the texts held now, and every text after them at once.
    pub fn release_texts(&self) {
        self.shared.text_gate.send_modify(|gate| gate.open = true);
    }

    /// Places a call from `from` to the account's number `to`, the way Twilio
    /// does when someone rings it: `voice_url` (the number's "A call comes in"
    /// webhook) is requested, signed with the account's token, and its TwiML
    /// played to the end by `script` (the caller's part is the seeker's, a
    /// `<Dial>`ed leg's the mentor's; see [`Player::play_inbound`]). The call and
    /// its dialed leg are booked like created ones, so listings find them; the
    /// report is returned, not counted among [`FakeTwilio::wait_for_plays`]'s.
    pub async fn place_inbound_call(
        &self,
        voice_url: &str,
        from: &str,
        to: &str,
        script: CallScript,
    ) -> PlayReport {
        let call = FakeCall {
            sid: new_call_sid(),
            to: to.to_owned(),
            from: from.to_owned(),
            status: "ringing".to_owned(),
            direction: "inbound".to_owned(),
            parent_call_sid: None,
            duration: None,
            created_at: self.shared.now(),
            form: Vec::new(),
        };
        let played = PlayedCall {
            sid: call.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            from: call.from.clone(),
            to: call.to.clone(),
            url: voice_url.to_owned(),
            status_callback: None,
        };
        self.shared.books().calls.push(call);
        let report = self
            .shared
            .player
            .play_inbound(played.clone(), script)
            .await;
        book_played(&self.shared, &played, &report);
        report
    }

    /// Waits until `n` calls have been played, and returns all reports.
    pub async fn wait_for_plays(&self, n: usize) -> Vec<PlayReport> {
        let mut plays = self.shared.plays.subscribe();
        tokio::time::timeout(PLAY_WAIT_LIMIT, plays.wait_for(|played| *played >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} played calls not reported within {PLAY_WAIT_LIMIT:?}"))
            .expect("the fake is running");
        self.play_reports().await
    }
}

/// Twilio's error answer.
fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        "The requested resource was not found",
    )
}

/// Handles every request: record, inject, authenticate, route.
async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: decode_form(uri.query().unwrap_or_default()),
        form: if method == Method::POST {
            decode_form(&String::from_utf8_lossy(&body))
        } else {
            Vec::new()
        },
        basic_auth: basic_auth(&headers),
        status: 0,
    };
    let (index, failure, hold_until) = {
        let mut books = shared.books();
        books.requests.push(request.clone());
        let hold_until = books
            .hold_texts_until
            .filter(|_| request.path.ends_with("Messages.json"));
        (
            books.requests.len() - 1,
            books.failures.pop_front(),
            hold_until,
        )
    };
    if let Some(n) = hold_until {
        hold_text(&shared, n).await;
    }
    let response = match &failure {
        Some(Failure::RateLimited) => {
            twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
        }
        Some(Failure::Status(status)) => {
            let status = StatusCode::from_u16(*status).expect("a valid HTTP status");
            twilio_error(
                status,
                20000 + u32::from(status.as_u16()),
                status.canonical_reason().unwrap_or("Error"),
            )
        }
        _ => route(&shared, &request),
    };
    let status = match failure {
        Some(Failure::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response.status().as_u16()
        }
        Some(Failure::CloseConnection) => {
            connection.kill();
            0
        }
        _ => response.status().as_u16(),
    };
    shared.books().requests[index].status = status;
    response
}

/// Waits until `n` send-SMS requests are held at once; from then on the gate
/// stays open. A request whose client gave up before stops counting.
async fn hold_text(shared: &Arc<Shared>, n: usize) {
    /// Counts a held request while it waits.
    struct Held<'a>(&'a watch::Sender<TextGate>);
    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.send_modify(|gate| gate.held -= 1);
        }
    }
    let mut gate = shared.text_gate.subscribe();
    shared.text_gate.send_modify(|gate| gate.held += 1);
    let held = Held(&shared.text_gate);
    let _ = gate.wait_for(|gate| gate.open || gate.held >= n).await;
    shared.text_gate.send_modify(|gate| gate.open = true);
    drop(held);
}

fn route(shared: &Arc<Shared>, request: &RecordedRequest) -> Response {
    let authorized = request.basic_auth.as_ref().is_some_and(|(user, password)| {
        *user == shared.account_sid && *password == shared.auth_token
    });
    if !authorized {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let ["2010-04-01", "Accounts", account, rest @ ..] = segments.as_slice() else {
        return not_found();
    };
    if *account != shared.account_sid {
        return not_found();
    }
    match (request.method.as_str(), rest) {
        ("POST", ["Calls.json"]) => create_call(shared, request),
        ("GET", ["Calls.json"]) => list_calls(shared, request),
        ("GET", ["Calls", file]) => match file.strip_suffix(".json") {
            Some(sid) => fetch_call(shared, sid),
            None => not_found(),
        },
        ("POST", ["Calls", file]) => match file.strip_suffix(".json") {
            Some(sid) => update_call(shared, sid, request),
            None => not_found(),
        },
        ("POST", ["Messages.json"]) => create_message(shared, request),
        (_, ["Calls.json"] | ["Calls", _] | ["Messages.json"]) => {
            twilio_error(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed")
        }
        _ => not_found(),
    }
}

fn create_call(shared: &Arc<Shared>, request: &RecordedRequest) -> Response {
    let given = |name: &str| request.form_value(name).filter(|value| !value.is_empty());
    let Some(to) = given("To") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21201,
            "No 'To' number is specified",
        );
    };
    let Some(from) = given("From") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21213,
            "No 'From' number is specified",
        );
    };
    if given("Url").is_none() && given("Twiml").is_none() && given("ApplicationSid").is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21205, "Url parameter is required");
    }
    if let Some(method) = given("Method").or(given("StatusCallbackMethod"))
        && !matches!(method, "GET" | "POST")
    {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Method must be GET or POST");
    }
    let events = request.form_values("StatusCallbackEvent");
    if events
        .iter()
        .any(|event| !matches!(*event, "initiated" | "ringing" | "answered" | "completed"))
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21626,
            "Invalid StatusCallbackEvent",
        );
    }
    for (name, most) in [("Timeout", 600), ("TimeLimit", 86_400)] {
        if let Some(value) = given(name)
            && !value
                .parse::<u32>()
                .is_ok_and(|seconds| (1..=most).contains(&seconds))
        {
            return twilio_error(StatusCode::BAD_REQUEST, 20001, &format!("Invalid {name}"));
        }
    }
    let mut books = shared.books();
    if books.invalid_numbers.contains(to) {
        return twilio_error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number");
    }
    let call = FakeCall {
        sid: new_call_sid(),
        to: to.to_owned(),
        from: from.to_owned(),
        status: "queued".to_owned(),
        direction: "outbound-api".to_owned(),
        parent_call_sid: None,
        duration: None,
        created_at: shared.now(),
        form: request.form.clone(),
    };
    let body = call_json(&shared.account_sid, &call);
    let script = books
        .scripts
        .get(to)
        .copied()
        .or(books.auto_play.then(CallScript::default));
    if let (Some(script), Some(url)) = (script, given("Url")) {
        let played = PlayedCall {
            sid: call.sid.clone(),
            account_sid: shared.account_sid.clone(),
            from: call.from.clone(),
            to: call.to.clone(),
            url: url.to_owned(),
            status_callback: given("StatusCallback").map(str::to_owned),
        };
        tokio::spawn(play(shared.clone(), played, script));
    }
    books.calls.push(call);
    shared.creates.send_modify(|created| *created += 1);
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// Plays a created call and books its outcome.
async fn play(shared: Arc<Shared>, call: PlayedCall, script: CallScript) {
    let report = shared.player.play(call.clone(), script).await;
    book_played(&shared, &call, &report);
    let played = {
        let mut books = shared.books();
        books.reports.push(report);
        books.reports.len()
    };
    shared.plays.send_replace(played);
}

/// Books the outcome of played `call`: its status, duration and dialed leg.
fn book_played(shared: &Arc<Shared>, call: &PlayedCall, report: &PlayReport) {
    let mut books = shared.books();
    let duration = report
        .requests
        .iter()
        .rev()
        .filter(|hit| hit.param("CallSid") == Some(call.sid.as_str()))
        .find_map(|hit| hit.param("CallDuration")?.parse().ok());
    if let Some(booked) = books.calls.iter_mut().find(|booked| booked.sid == call.sid) {
        booked.status = report.mentor_status.clone();
        booked.duration = duration.or(Some(0));
    }
    if let Some(leg) = &report.dialed {
        books.calls.push(FakeCall {
            sid: leg.sid.clone(),
            to: leg.number.clone(),
            from: leg.caller_id.clone(),
            status: leg.status.clone(),
            direction: "outbound-dial".to_owned(),
            parent_call_sid: Some(call.sid.clone()),
            duration: Some(leg.duration_seconds),
            created_at: shared.now(),
            form: Vec::new(),
        });
    }
}

fn fetch_call(shared: &Arc<Shared>, sid: &str) -> Response {
    match shared.books().calls.iter().find(|call| call.sid == sid) {
        Some(call) => axum::Json(call_json(&shared.account_sid, call)).into_response(),
        None => not_found(),
    }
}

fn update_call(shared: &Arc<Shared>, sid: &str, request: &RecordedRequest) -> Response {
    let mut books = shared.books();
    let Some(call) = books.calls.iter_mut().find(|call| call.sid == sid) else {
        return not_found();
    };
    let live = matches!(call.status.as_str(), "queued" | "ringing");
    match request.form_value("Status") {
        // Cancelling affects only calls not yet answered.
        Some("canceled") if live => call.status = "canceled".to_owned(),
        Some("canceled") => {}
        // Hanging up ends a call in any live state; one never answered counts as
        // canceled (unconfirmed).
        Some("completed") if live => call.status = "canceled".to_owned(),
        Some("completed") if call.status == "in-progress" => call.status = "completed".to_owned(),
        Some("completed") => {}
        Some(_) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                "Status must be canceled or completed",
            );
        }
        None if request.form_value("Url").is_some() || request.form_value("Twiml").is_some() => {
            if call.status != "in-progress" {
                return twilio_error(
                    StatusCode::BAD_REQUEST,
                    21220,
                    "Call is not in-progress. Cannot redirect.",
                );
            }
        }
        None => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Nothing to update"),
    }
    axum::Json(call_json(&shared.account_sid, call)).into_response()
}

fn list_calls(shared: &Arc<Shared>, request: &RecordedRequest) -> Response {
    let page_size = match request.query_value("PageSize").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(size @ 1..=1000)) => size,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize"),
    };
    let page = match request.query_value("Page").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(page)) => page,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid Page"),
    };
    let mut started: Vec<(&str, Bound)> = Vec::new();
    for (name, value) in &request.query {
        let compare = match name.as_str() {
            "StartTime>" => ">",
            "StartTime<" => "<",
            "StartTime" => "=",
            _ => continue,
        };
        match Bound::parse(value) {
            Some(bound) => started.push((compare, bound)),
            None => {
                return twilio_error(StatusCode::BAD_REQUEST, 20001, &format!("Invalid {name}"));
            }
        }
    }
    let books = shared.books();
    let matching: Vec<&FakeCall> = books
        .calls
        .iter()
        .rev()
        .filter(|call| request.query_value("To").is_none_or(|to| call.to == to))
        .filter(|call| {
            request
                .query_value("From")
                .is_none_or(|from| call.from == from)
        })
        .filter(|call| {
            request
                .query_value("Status")
                .is_none_or(|status| call.status == status)
        })
        .filter(|call| {
            request
                .query_value("ParentCallSid")
                .is_none_or(|parent| call.parent_call_sid.as_deref() == Some(parent))
        })
        .filter(|call| {
            started
                .iter()
                .all(|(compare, bound)| bound.admits(compare, call.created_at))
        })
        .collect();
    let start = page * page_size;
    let calls: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|call| call_json(&shared.account_sid, call))
        .collect();
    let list_path = format!("/2010-04-01/Accounts/{}/Calls.json", shared.account_sid);
    let filters: Vec<(String, String)> = request
        .query
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "Page" | "PageToken"))
        .cloned()
        .collect();
    let page_uri = |page: usize, token: Option<&str>| {
        let mut query = filters.clone();
        query.push(("Page".to_owned(), page.to_string()));
        if let Some(token) = token {
            query.push(("PageToken".to_owned(), format!("PA{token}")));
        }
        format!("{list_path}?{}", encode_form(&query))
    };
    let next_page_uri = (matching.len() > start + page_size)
        .then(|| page_uri(page + 1, Some(&matching[start + page_size - 1].sid)));
    let body = json!({
        "calls": calls,
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": (start + calls.len()).saturating_sub(1),
        "uri": page_uri(page, None),
        "first_page_uri": page_uri(0, None),
        "next_page_uri": next_page_uri,
        "previous_page_uri": page.checked_sub(1).map(|previous| page_uri(previous, None)),
    });
    axum::Json(body).into_response()
}

/// A `StartTime` filter value: a UTC date, or an instant.
enum Bound {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Bound {
    fn parse(value: &str) -> Option<Bound> {
        if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            return Some(Bound::Date(date));
        }
        DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|instant| Bound::Instant(instant.with_timezone(&Utc)))
    }

    fn admits(&self, compare: &str, started: DateTime<Utc>) -> bool {
        let ordering = match self {
            Bound::Date(date) => started.date_naive().cmp(date),
            Bound::Instant(instant) => started.cmp(instant),
        };
        match compare {
            ">" => ordering.is_ge(),
            "<" => ordering.is_lt(),
            _ => ordering.is_eq(),
        }
    }
}

fn create_message(shared: &Arc<Shared>, request: &RecordedRequest) -> Response {
    let given = |name: &str| request.form_value(name).filter(|value| !value.is_empty());
    let Some(to) = given("To") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required",
        );
    };
    let Some(from) = given("From") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required",
        );
    };
    let Some(body) = given("Body") else {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required");
    };
    let mut books = shared.books();
    if books.invalid_numbers.contains(to) {
        return twilio_error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number");
    }
    if books.unsubscribed.contains(to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        );
    }
    let message = FakeMessage {
        sid: format!("SM{:032x}", rand::random::<u128>()),
        to: to.to_owned(),
        from: from.to_owned(),
        body: body.to_owned(),
    };
    let now = shared.now().to_rfc2822();
    let json = json!({
        "sid": message.sid,
        "account_sid": shared.account_sid,
        "status": "queued",
        "to": message.to,
        "from": message.from,
        "body": message.body,
        "direction": "outbound-api",
        "num_segments": "1",
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "date_sent": null,
        "error_code": null,
        "error_message": null,
        "price": null,
        "uri": format!("/2010-04-01/Accounts/{}/Messages/{}.json", shared.account_sid, message.sid),
    });
    books.messages.push(message);
    let accepted = books.messages.len();
    drop(books);
    shared.messages.send_replace(accepted);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

/// Twilio's JSON call object.
fn call_json(account_sid: &str, call: &FakeCall) -> Value {
    let created = call.created_at.to_rfc2822();
    json!({
        "sid": call.sid,
        "account_sid": account_sid,
        "status": call.status,
        "to": call.to,
        "from": call.from,
        "direction": call.direction,
        "parent_call_sid": call.parent_call_sid,
        "start_time": created,
        "end_time": null,
        "duration": call.duration.map(|seconds| seconds.to_string()),
        "date_created": created,
        "date_updated": created,
        "api_version": "2010-04-01",
        "answered_by": null,
        "price": null,
        "uri": format!("/2010-04-01/Accounts/{account_sid}/Calls/{}.json", call.sid),
    })
}

fn values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Decodes `application/x-www-form-urlencoded` text (also a query string).
fn decode_form(text: &str) -> Vec<(String, String)> {
    fn decode(part: &str) -> String {
        let bytes = part.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'+' => out.push(b' '),
                b'%' => match part
                    .get(index + 1..index + 3)
                    .filter(|hex| hex.bytes().all(|digit| digit.is_ascii_hexdigit()))
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                },
                byte => out.push(byte),
            }
            index += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Encodes pairs as a query string.
fn encode_form(pairs: &[(String, String)]) -> String {
    let url = reqwest::Url::parse_with_params("http://fake.invalid/", pairs).expect("a valid URL");
    url.query().unwrap_or_default().to_owned()
}

/// The connection a request came on, as connect info: lets a handler close it.
#[derive(Clone, Debug, Default)]
struct Connection {
    killed: Arc<AtomicBool>,
}

impl Connection {
    /// Fails every further read and write, so the server drops the connection
    /// instead of answering.
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections can be killed from a handler.
struct KillableListener(TcpListener);

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (KillableStream, Connection) {
        loop {
            if let Ok((stream, _)) = self.0.accept().await {
                let connection = Connection::default();
                return (
                    KillableStream {
                        inner: stream,
                        killed: connection.killed.clone(),
                    },
                    connection,
                );
            }
        }
    }

    fn local_addr(&self) -> io::Result<Connection> {
        Ok(Connection::default())
    }
}

/// A TCP stream that reads EOF and refuses writes once killed.
struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
