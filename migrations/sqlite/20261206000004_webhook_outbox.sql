-- Outbound webhooks (Standard Webhooks): an outbox of events filled by triggers,
-- so every statement that ends a call or changes a request's status, wherever it
-- runs, records its event in its own transaction; the webhook deliverer posts them.
-- Events carry ids, statuses, outcomes and times only: never a phone number, a
-- name, a topic or message text.

-- One row: whether webhooks are on. `serve` sets it from its configuration at
-- start-up; the triggers write nothing while it is off, so an instance without a
-- webhook URL does not grow the outbox.
create table webhook_settings (
    id integer primary key check (id = 1),
    enabled integer not null default 0 check (enabled in (0, 1)),
    created_at text not null,
    updated_at text not null
);
insert into webhook_settings (id, enabled, created_at, updated_at)
values (1, 0, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));

create table webhook_events (
    id integer primary key,
    -- The `webhook-id` header: made once with the event, the same on every
    -- redelivery, so receivers can drop duplicates.
    webhook_id text not null unique,
    type text not null check (type in ('call.ended', 'request.updated')),
    request_id integer not null references requests (id),
    -- call.ended: the call; request.updated: the request's booked call, if any.
    call_id integer references calls (id),
    mentor_id integer references mentors (id),
    -- request.updated: the status after and before the change (NULL for a new
    -- request), and the seeker-side misses counted so far.
    request_status text,
    previous_status text,
    request_attempts integer,
    -- call.ended: how it ended and when.
    outcome text,
    talk_seconds integer,
    starts_at text,
    ended_at text,
    -- When the change happened (the payload's `timestamp`).
    occurred_at text not null,
    -- Delivery: 'pending' until a 2xx answer ('delivered') or until retries for
    -- 24 hours ran out ('failed').
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    -- Posts tried so far; each claim bumps it and moves next_attempt_at to the
    -- claim's lease end, so a deliverer that dies mid-post is retried later, and
    -- fences the outcome it records.
    attempts integer not null default 0 check (attempts >= 0),
    next_attempt_at text not null,
    last_attempt_at text,
    -- The last failure's kind ('timeout', 'connect', 'http_500', …) and the
    -- receiver's status code, if it answered; never the receiver's body.
    last_error text,
    last_status_code integer,
    created_at text not null,
    delivered_at text
);
-- The deliverer's query: pending events that are due.
create index webhook_events_due on webhook_events (status, next_attempt_at);
-- In order per request: an event waits while an earlier one of its request is pending.
create index webhook_events_by_request on webhook_events (request_id, id);

-- A call that ended (a canceled call is a request.updated to 'canceled').
create trigger webhook_call_ended after update of status on calls
when new.status = 'ended' and old.status <> 'ended'
    and (select enabled from webhook_settings where id = 1) = 1
begin
    insert into webhook_events (webhook_id, type, request_id, call_id, mentor_id, outcome,
        talk_seconds, starts_at, ended_at, occurred_at, next_attempt_at, created_at)
    values ('msg_' || lower(hex(randomblob(16))), 'call.ended', new.request_id, new.id,
        new.mentor_id, new.outcome, new.talk_seconds, new.starts_at,
        coalesce(new.ended_at, new.updated_at), coalesce(new.ended_at, new.updated_at),
        new.updated_at, new.updated_at);
end;

-- A new request.
create trigger webhook_request_created after insert on requests
when (select enabled from webhook_settings where id = 1) = 1
begin
    insert into webhook_events (webhook_id, type, request_id, request_status,
        request_attempts, occurred_at, next_attempt_at, created_at)
    values ('msg_' || lower(hex(randomblob(16))), 'request.updated', new.id, new.status,
        new.attempts, new.updated_at, new.updated_at, new.updated_at);
end;

-- A request whose status changed, with the call it is booked into (if any).
create trigger webhook_request_updated after update of status on requests
when new.status is not old.status
    and (select enabled from webhook_settings where id = 1) = 1
begin
    insert into webhook_events (webhook_id, type, request_id, call_id, mentor_id, starts_at,
        request_status, previous_status, request_attempts, occurred_at, next_attempt_at,
        created_at)
    select 'msg_' || lower(hex(randomblob(16))), 'request.updated', new.id, c.id, c.mentor_id,
        c.starts_at, new.status, old.status, new.attempts, new.updated_at, new.updated_at,
        new.updated_at
    from (select 1) left join calls c
        on c.request_id = new.id and c.status in ('scheduled', 'dialing', 'in_progress');
end;
