//! The OpenAPI document of the JSON API, served at `/api/v1/openapi.json`.
//!
//! Most of it is generated from the handlers' annotations. What every operation
//! shares is added here, in one place, from what the server really does: the
//! answers the extractors and the limits give to any route ([`CommonAnswers`]),
//! the links from the routes that create things to the routes that use their ids
//! ([`add_links`]), and the schemas of values whose rules a plain `string` does not
//! say (names, messages, phones, weekdays, `HH:MM` times, time zone names). May not: describe a route that
//! the router does not serve.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono_tz::TZ_VARIANTS;
use serde_json::{Value, json};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::{calls, consent, mentors, requests};
use crate::domain::text::{MESSAGE_MAX, SHORT_TEXT_MAX};
use crate::web::error::ErrorBody;
use crate::web::limits::LIMITED_ROUTES;

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ridealong",
        description = "Commute-time mentoring calls.\n\nEvery error answers with the \
            shape `{\"error\": {\"code\", \"message\", \"field\"?}}`. A 422 also answers \
            rules a schema cannot state: a phone number that is not a real, callable \
            number; a window shorter than one call; a pause that ends before it starts; \
            availability wholly outside calling hours."
    ),
    paths(
        mentors::create_mentor, mentors::list_mentors, mentors::get_mentor,
        mentors::create_window, mentors::delete_window, mentors::create_pause,
        mentors::delete_pause, mentors::list_slots, mentors::resume_mentor,
        requests::create_request, requests::list_requests, requests::get_request,
        requests::cancel_request, consent::confirm, consent::new_code,
        calls::list_calls, calls::get_call, calls::cancel_call,
    ),
    components(schemas(
        WeekdayName, TimeZoneName, ShortText, MessageText, PhoneText, TimeOfDay
    )),
    modifiers(&BearerAuth, &CommonAnswers),
    tags(
        (name = "mentors", description = "Mentors, commute windows, pauses and slots"),
        (name = "requests", description = "Seekers' requests for a call"),
        (name = "calls", description = "Booked calls and their event logs"),
    )
)]
pub struct ApiDoc;

/// A weekday as the API writes it.
#[derive(ToSchema)]
#[schema(as = Weekday)]
#[allow(dead_code, non_camel_case_types)]
pub enum WeekdayName {
    /// Monday.
    mon,
    /// Tuesday.
    tue,
    /// Wednesday.
    wed,
    /// Thursday.
    thu,
    /// Friday.
    fri,
    /// Saturday.
    sat,
    /// Sunday.
    sun,
}

/// An IANA time zone name the server knows (`Europe/Dublin`): the names of the
/// tz database this build carries.
pub struct TimeZoneName;

impl PartialSchema for TimeZoneName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An IANA time zone name, e.g. `America/New_York`."))
            .enum_values(Some(TZ_VARIANTS.iter().map(|zone| zone.name())))
            .into()
    }
}

impl ToSchema for TimeZoneName {
    fn name() -> Cow<'static, str> {
        "TimeZone".into()
    }
}

/// Characters that are control characters (Unicode category Cc), as a regular
/// expression class body.
macro_rules! controls {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// Control characters other than tab, newline and carriage return.
macro_rules! controls_but_line_breaks {
    () => {
        r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
    };
}

/// Declares a schema-only string type: its name in the document, what it is, and
/// the pattern and lengths the server holds it to.
macro_rules! string_schema {
    ($(#[$doc:meta])* $type:ident = $name:literal, $description:expr,
     pattern: $pattern:expr, length: $min:expr, $max:expr) => {
        $(#[$doc])*
        pub struct $type;

        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .pattern(Some($pattern))
                    .min_length(Some($min))
                    .max_length(Some($max))
                    .into()
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                $name.into()
            }
        }
    };
}

string_schema!(
    /// A name or a topic: one line of 1–100 characters, not only spaces.
    ShortText = "ShortText",
    "One line of 1–100 characters with something besides spaces (counted after \
     trimming); no control characters.",
    pattern: concat!(
        "^[^", controls!(), r"]*[^\s", controls!(), "][^", controls!(), "]*$"
    ),
    length: 1, SHORT_TEXT_MAX
);

string_schema!(
    /// A seeker's message: 1–4,000 characters, newlines and tabs allowed.
    MessageText = "MessageText",
    "1–4,000 characters with something besides spaces (counted after trimming); \
     newlines and tabs are the only control characters allowed.",
    pattern: concat!(
        "^[^", controls_but_line_breaks!(), r"]*[^\s", controls!(), "][^",
        controls_but_line_breaks!(), "]*$"
    ),
    length: 1, MESSAGE_MAX
);

string_schema!(
    /// A phone number as people write it.
    PhoneText = "PhoneText",
    "A phone number: `+` and the country code, or a national number read in the \
     country of the time zone given with it; digits, spaces and `( ) . -`. It must \
     be a real, callable number (not premium-rate, emergency, pager or voicemail): \
     one that is not is refused with 422.",
    pattern: r"^\s*\+?[0-9 ().\-]*[0-9][0-9 ().\-]*\s*$",
    length: 1, 40
);

string_schema!(
    /// A local time of day.
    TimeOfDay = "TimeOfDay",
    "A local time, `HH:MM` from 00:00 to 23:59.",
    pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    length: 5, 5
);

/// A boolean that must be `true` (the seeker's consent), as a schema.
pub fn must_be_true() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds the answers that come from the layers around the handlers, to every
/// operation they can reach, unless the operation describes them itself:
/// - a JSON body: 400 (not JSON), 413 (too large), 415 (not `application/json`),
///   422 (fields of the wrong type);
/// - a query: 422 (a value that does not parse);
/// - a path id: 404 (an id that is not a number names nothing);
/// - a bearer token: 401;
/// - the rate-limited posts of [`LIMITED_ROUTES`]: 429;
/// - every operation: 503 (too busy, past the deadline, or the database is
///   unreachable; with `Retry-After`).
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                let answers = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    answers
                        .entry(status.to_owned())
                        .or_insert_with(|| error_answer(description));
                };
                if operation.request_body.is_some() {
                    add("400", "The body is not JSON");
                    add("413", "The body is too large");
                    add("415", "The body is not sent as `application/json`");
                    add("422", "A field is missing, of the wrong type, or refused");
                }
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                if parameters
                    .iter()
                    .any(|p| p.parameter_in == ParameterIn::Query)
                {
                    add("422", "A query value does not parse, or is refused");
                }
                if parameters
                    .iter()
                    .any(|p| p.parameter_in == ParameterIn::Path)
                {
                    add("404", "Nothing has that id");
                }
                let secured = operation.security.as_deref().is_some_and(|security| {
                    security.iter().any(|requirement| {
                        serde_json::to_value(requirement).is_ok_and(|value| {
                            value.as_object().is_some_and(|keys| !keys.is_empty())
                        })
                    })
                });
                if secured {
                    add("401", "No token, or one that is not known");
                }
                if method == "post" && LIMITED_ROUTES.contains(&path.as_str()) {
                    add("429", "Too many posts from this address; see `Retry-After`");
                }
                add(
                    "503",
                    "Too busy, past the deadline, or the database is unreachable; \
                     see `Retry-After`",
                );
            }
        }
    }
}

/// The document as served: [`ApiDoc`] with the [links](add_links), built once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("serializable");
        add_links(&mut document);
        document
    })
}

/// A link: from the answer `status` of `method path` to operation `target`, with
/// its parameters and the runtime expressions that fill them.
type LinkFrom = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Adds OpenAPI links from the answers that carry an id to the operations that
/// take it, so that a client (or a stateful test) can follow them.
///
/// They are written into the JSON rather than through utoipa's `Link`, which
/// (in 5.5) names its fields `operation_id` and `request_body` instead of the
/// specification's `operationId` and `requestBody`, so that tools ignore them.
fn add_links(document: &mut Value) {
    const NEW_ID: &str = "$response.body#/id";
    const FIRST_ID: &str = "$response.body#/0/id";
    const MENTOR: &str = "$request.path.id";
    const TOKEN: &str = "$response.body#/manage_token";
    const MENTORS: &str = "/api/v1/mentors";
    const REQUESTS: &str = "/api/v1/requests";
    let links: &[LinkFrom] = &[
        (MENTORS, "post", "201", "get_mentor", &[("id", NEW_ID)]),
        (MENTORS, "post", "201", "create_window", &[("id", NEW_ID)]),
        (MENTORS, "post", "201", "create_pause", &[("id", NEW_ID)]),
        (MENTORS, "post", "201", "list_slots", &[("id", NEW_ID)]),
        (
            MENTORS,
            "post",
            "201",
            "list_calls",
            &[("mentor_id", NEW_ID)],
        ),
        (
            "/api/v1/mentors/{id}/windows",
            "post",
            "201",
            "delete_window",
            &[("id", MENTOR), ("wid", NEW_ID)],
        ),
        (
            "/api/v1/mentors/{id}/pauses",
            "post",
            "201",
            "delete_pause",
            &[("id", MENTOR), ("pid", NEW_ID)],
        ),
        (
            REQUESTS,
            "post",
            "201",
            "get_request",
            &[("id", NEW_ID), ("token", TOKEN)],
        ),
        (
            REQUESTS,
            "post",
            "201",
            "confirm",
            &[("id", NEW_ID), ("token", TOKEN)],
        ),
        (
            REQUESTS,
            "post",
            "201",
            "new_code",
            &[("id", NEW_ID), ("token", TOKEN)],
        ),
        (
            REQUESTS,
            "post",
            "201",
            "cancel_request",
            &[("id", NEW_ID), ("token", TOKEN)],
        ),
        (
            "/api/v1/calls",
            "get",
            "200",
            "get_call",
            &[("id", FIRST_ID)],
        ),
        (
            "/api/v1/calls",
            "get",
            "200",
            "cancel_call",
            &[("id", FIRST_ID)],
        ),
        (MENTORS, "post", "201", "resume_mentor", &[("id", NEW_ID)]),
    ];
    for &(path, method, status, target, parameters) in links {
        let answer = document["paths"][path][method]["responses"][status]
            .as_object_mut()
            .unwrap_or_else(|| panic!("{method} {path} has no {status} answer to link from"));
        let parameters: serde_json::Map<String, Value> = parameters
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
            .collect();
        let links = answer.entry("links").or_insert_with(|| json!({}));
        links[target] = json!({ "operationId": target, "parameters": parameters });
    }
}

/// The operations of `item`, with their lowercase methods.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

/// An answer with the error shape.
fn error_answer(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    ErrorBody::name(),
                ))))
                .build(),
        )
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_names_an_operation_and_its_parameters() {
        let document = document();
        let mut operations = std::collections::HashMap::new();
        for item in document["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("path item").values() {
                let id = operation["operationId"].as_str().expect("operation id");
                let names: Vec<String> = operation["parameters"]
                    .as_array()
                    .map(|parameters| {
                        parameters
                            .iter()
                            .map(|p| p["name"].as_str().expect("name").to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                operations.insert(id.to_owned(), names);
            }
        }
        let mut links = 0;
        for item in document["paths"].as_object().expect("paths").values() {
            for operation in item.as_object().expect("path item").values() {
                for answer in operation["responses"]
                    .as_object()
                    .expect("responses")
                    .values()
                {
                    for link in answer["links"]
                        .as_object()
                        .into_iter()
                        .flat_map(|l| l.values())
                    {
                        links += 1;
                        let target = link["operationId"].as_str().expect("target");
                        let known = &operations[target];
                        for name in link["parameters"].as_object().expect("parameters").keys() {
                            assert!(known.contains(name), "{target} takes no {name}");
                        }
                    }
                }
            }
        }
        assert_eq!(links, 14);
    }

    #[test]
    fn query_parameters_are_in_the_query() {
        let list = &document()["paths"]["/api/v1/calls"]["get"]["parameters"];
        for parameter in list.as_array().expect("parameters") {
            assert_eq!(parameter["in"], "query", "{parameter}");
            assert_ne!(parameter["required"], true, "{parameter}");
        }
    }
}
