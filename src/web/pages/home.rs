//! `/`: what ridealong is and how a call works, for seekers and for mentors.

use axum::Router;
use axum::routing::get;
use maud::{Markup, html};

use super::layout::page;
use crate::web::AppState;

/// The front page.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home() -> Markup {
    page(
        "Help on someone's drive to work",
        html! {
            section.hero {
                h1 { "Stuck in your job search? Ask for help." }
                p.lead {
                    "The people who get help are the ones who say they need it. "
                    "ridealong pairs you with a mentor who gives away part of their "
                    "commute to talk with you by phone — fifteen minutes, no strings."
                }
                p { a.button href="/request" { "Ask for a call" } }
            }
            section aria-labelledby="how-seekers" {
                h2 #how-seekers { "How a call works" }
                ol.steps {
                    li {
                        strong { "You send one honest request. " }
                        "Your first name, your phone, what you are stuck on and when you can take a call."
                    }
                    li {
                        strong { "We find a mentor's commute that fits. " }
                        "We text you the day and time, in your own time zone, and the number the call will come from."
                    }
                    li {
                        strong { "Your phone rings at that time. " }
                        "The mentor is driving, so the call is hands-free and to the point. "
                        "Neither of you sees the other's number."
                    }
                    li {
                        strong { "Missed it? " }
                        "We book another time. You can move or cancel from the private link we give you."
                    }
                }
            }
            section aria-labelledby="how-mentors" {
                h2 #how-mentors { "For mentors" }
                p {
                    "Tell us when you drive to work, once. We fill those windows with short calls, "
                    "ring you when it is time, say who is next and what they need, and connect "
                    "you when you press 1. Press 2 and we kindly skip. Pause whenever you are away."
                }
                p { a href="/mentor" { "Mentor sign-in" } }
            }
        },
    )
}
