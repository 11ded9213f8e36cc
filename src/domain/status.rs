//! The exact status and outcome strings of the public contract.

string_enum! {
    /// Where a seeker's request stands.
    RequestStatus {
        /// Waiting for the seeker to confirm the phone number.
        Unconfirmed => "unconfirmed",
        /// Waiting for a slot.
        Pending => "pending",
        /// Booked into a call.
        Scheduled => "scheduled",
        /// A call took place.
        Completed => "completed",
        /// Withdrawn by the seeker or an operator.
        Canceled => "canceled",
        /// The seeker missed too many calls.
        Unreachable => "unreachable",
        /// Never confirmed in time.
        Expired => "expired",
    }
}

impl RequestStatus {
    /// Statuses that count as the phone number's one open request.
    pub const OPEN: &[RequestStatus] = &[
        RequestStatus::Unconfirmed,
        RequestStatus::Pending,
        RequestStatus::Scheduled,
    ];

    /// Whether the request is still in play.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

string_enum! {
    /// Where a booked call stands.
    CallStatus {
        /// Booked; not yet placed.
        Scheduled => "scheduled",
        /// The provider has been asked to ring the mentor.
        Dialing => "dialing",
        /// Someone answered.
        InProgress => "in_progress",
        /// Over, with an outcome.
        Ended => "ended",
        /// Called off before it was placed.
        Canceled => "canceled",
    }
}

string_enum! {
    /// How a call ended.
    Outcome {
        /// Mentor and seeker talked.
        Completed => "completed",
        /// The mentor did not pick up or was busy.
        MentorNoAnswer => "mentor_no_answer",
        /// The mentor pressed 2 or said nothing.
        MentorDeclined => "mentor_declined",
        /// The seeker did not pick up.
        SeekerNoAnswer => "seeker_no_answer",
        /// The seeker's line was busy.
        SeekerBusy => "seeker_busy",
        /// The provider could not place a leg.
        Failed => "failed",
        /// Called off.
        Canceled => "canceled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_serde_and_from_str() {
        for status in RequestStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<RequestStatus>().unwrap(), *status);
        }
        for status in CallStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for outcome in Outcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
        assert!("Pending".parse::<RequestStatus>().is_err());
    }
}
