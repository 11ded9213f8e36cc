-- Telephony: what the dispatcher records around each provider request, what the
-- provider's callbacks tell us, and the SMS notices waiting to go out.

-- How many times the dispatcher claimed the call; fences its later writes.
alter table calls add column dial_attempts integer not null default 0;
-- When the dispatcher asked the provider to ring the mentor.
alter table calls add column dialed_at text;
-- When the mentor pressed 1 (NULL: not, or not yet).
alter table calls add column accepted_at text;
alter table calls add column ended_at text;
-- The bridged seeker leg's provider id.
alter table calls add column seeker_call_sid text;
-- The dispatcher's query: scheduled calls by start.
create index calls_by_status_start on calls (status, starts_at);
-- Callbacks find their call by the provider's id.
create unique index calls_by_provider_sid on calls (provider_call_sid)
    where provider_call_sid is not null;

-- Status callbacks can arrive twice: (CallSid, SequenceNumber) names one.
alter table call_events add column provider_sid text;
alter table call_events add column sequence_number integer;
create unique index call_events_once_per_callback on call_events (provider_sid, sequence_number)
    where sequence_number is not null;

-- SMS notices, written in the same transaction as what caused them (an outbox):
-- the notifier composes the text when it sends, from the data as it is then.
create table notifications (
    id integer primary key,
    request_id integer not null references requests (id),
    call_id integer not null references calls (id),
    recipient text not null check (recipient in ('seeker', 'mentor')),
    kind text not null check (kind in ('booked', 'moved', 'canceled')),
    status text not null check (status in ('pending', 'sent', 'failed')),
    -- Sends tried so far; each claim bumps it and pushes next_attempt_at out, so
    -- a notifier that dies mid-send is retried later.
    attempts integer not null default 0,
    next_attempt_at text not null,
    provider_sid text,
    last_error text,
    created_at text not null,
    sent_at text
);
-- The notifier's query: pending notices that are due.
create index notifications_due on notifications (status, next_attempt_at);
