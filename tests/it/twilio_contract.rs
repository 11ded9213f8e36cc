//! Contract check against Twilio's official OpenAPI description: the client's real
//! requests are posted to a Prism mock of `twilio_api_v2010.json` (shared/twilio),
//! which refuses anything the spec does not allow (missing or malformed fields, a
//! JSON body, no Basic auth). `.ci/run` starts Prism and sets
//! `RIDEALONG_PRISM_URL`; without it these tests have nothing to talk to and say so.

use chrono::{TimeZone, Utc};

use ridealong::secret::Secret;
use ridealong::telephony::twilio::{TwilioClient, TwilioConfig};
use ridealong::telephony::{CallQuery, CallUpdate, NewCall, NewSms, Provider, ProviderError};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const CALL: &str = "CA0123456789abcdef0123456789abcdef";

fn client() -> Option<TwilioClient> {
    let Ok(base) = std::env::var("RIDEALONG_PRISM_URL") else {
        eprintln!(
            "RIDEALONG_PRISM_URL is not set: start Prism (see .ci/run) to run the contract check"
        );
        return None;
    };
    let config = TwilioConfig {
        api_base: base,
        account_sid: ACCOUNT.to_owned(),
        auth_token: Secret::new("contract-test-token"),
    };
    Some(TwilioClient::new(config).expect("client"))
}

/// The mock answered 2xx: a parsed answer, or a mock example our types do not
/// read (only a 2xx body can fail to parse). Anything else is a contract breach.
fn accepted<T: std::fmt::Debug>(what: &str, result: Result<T, ProviderError>) {
    match result {
        Ok(_) | Err(ProviderError::Protocol(_)) => {}
        Err(error) => panic!("the spec refuses our {what}: {error}"),
    }
}

#[tokio::test]
async fn create_call_is_a_request_the_spec_accepts() {
    let Some(client) = client() else { return };
    let call = NewCall {
        to: "+12015550123".to_owned(),
        from: "+15005550006".to_owned(),
        url: "https://ridealong.example/telephony/twilio/calls/1/answer".to_owned(),
        status_callback: "https://ridealong.example/telephony/twilio/calls/1/status".to_owned(),
        timeout_seconds: 25,
        time_limit_seconds: 1020,
    };
    accepted("create-call", client.create_call(&call).await);
}

#[tokio::test]
async fn send_sms_is_a_request_the_spec_accepts() {
    let Some(client) = client() else { return };
    let sms = NewSms {
        to: "+12015550199".to_owned(),
        from: "+15005550006".to_owned(),
        body: "ridealong: Grace will call you Mon Nov 30, 10:00 AM EST.".to_owned(),
    };
    accepted("send-SMS", client.send_sms(&sms).await);
}

#[tokio::test]
async fn fetching_listing_and_stopping_calls_are_requests_the_spec_accepts() {
    let Some(client) = client() else { return };
    accepted("fetch-call", client.fetch_call(CALL).await);
    let query = CallQuery {
        to: Some("+12015550123".to_owned()),
        started_after: Some(Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap()),
        parent_call_sid: Some(CALL.to_owned()),
        status: Some("in-progress".to_owned()),
        page_size: Some(1000),
    };
    accepted("list-calls", client.list_calls(&query).await);
    accepted(
        "cancel-call",
        client.update_call(CALL, CallUpdate::Cancel).await,
    );
    accepted(
        "hang-up-call",
        client.update_call(CALL, CallUpdate::HangUp).await,
    );
}
