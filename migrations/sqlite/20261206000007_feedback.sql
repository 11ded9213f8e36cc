-- Seekers rate a completed call with one key (issue 16, point 4), and the
-- webhook outbox tells of it (issue 17, point 2: `feedback.received`).
--
-- calls and requests are only ever altered with `add column` here: the webhook
-- outbox's triggers on them would not survive a rebuild.

-- The seeker's one-key answer to "how much did the call help", 1 to 5; a later
-- reply replaces an earlier one. NULL until the seeker replies.
alter table calls add column feedback_score integer
    check (feedback_score is null or feedback_score between 1 and 5);
-- When the stored score was received.
alter table calls add column feedback_at text;

-- SQLite cannot change a CHECK constraint in place, so the outbox is rebuilt
-- (as in 20261206000002) to take two more kinds. Nothing references
-- notifications, so the drop and the rename leave every other table as it was.
create table notifications_rebuilt (
    id integer primary key,
    request_id integer not null references requests (id),
    call_id integer not null references calls (id),
    recipient text not null check (recipient in ('seeker', 'mentor')),
    -- 'resting': the mentor is told they rest after repeated misses, and how to
    -- come back (the call is the miss that did it). 'feedback': the seeker of a
    -- completed call is asked how much it helped.
    kind text not null check (kind in ('booked', 'moved', 'canceled', 'reminder', 'resting',
                                       'feedback')),
    status text not null check (status in ('pending', 'sent', 'failed', 'skipped')),
    attempts integer not null default 0,
    next_attempt_at text not null,
    provider_sid text,
    last_error text,
    created_at text not null,
    sent_at text,
    starts_at text,
    check ((kind = 'reminder') = (starts_at is not null))
);
insert into notifications_rebuilt
    (id, request_id, call_id, recipient, kind, status, attempts, next_attempt_at,
     provider_sid, last_error, created_at, sent_at, starts_at)
select id, request_id, call_id, recipient, kind, status, attempts, next_attempt_at,
       provider_sid, last_error, created_at, sent_at, starts_at
from notifications;
drop table notifications;
alter table notifications_rebuilt rename to notifications;
-- The notifier's query: pending notices that are due.
create index notifications_due on notifications (status, next_attempt_at);
-- One reminder per call, however often its booking is written.
create unique index notifications_one_reminder_per_call on notifications (call_id)
    where kind = 'reminder';
-- One feedback question per completed call, however often its ending is tried.
create unique index notifications_one_feedback_per_call on notifications (call_id)
    where kind = 'feedback';

-- The answer rate, completion rate and feedback of one mentor over the last
-- 30 days read their calls by start.
create index calls_by_mentor_and_start on calls (mentor_id, starts_at);

-- feedback.received: a seeker's score for a call, with when it came. The outbox
-- is rebuilt to take the new type, as notifications above. The triggers on calls
-- and requests name webhook_events in their bodies: with the modern rename,
-- SQLite re-checks them and refuses the rename while the old table is gone, so
-- the legacy rename (which leaves trigger bodies alone, and they name the
-- table that exists again once it is done) is used for this one statement.
create table webhook_events_rebuilt (
    id integer primary key,
    webhook_id text not null unique,
    type text not null check (type in ('call.ended', 'request.updated', 'feedback.received')),
    request_id integer not null references requests (id),
    -- call.ended and feedback.received: the call; request.updated: the request's
    -- booked call, if any.
    call_id integer references calls (id),
    mentor_id integer references mentors (id),
    request_status text,
    previous_status text,
    request_attempts integer,
    outcome text,
    talk_seconds integer,
    starts_at text,
    ended_at text,
    -- feedback.received: the score, 1 to 5.
    feedback_score integer check (feedback_score is null or feedback_score between 1 and 5),
    occurred_at text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0 check (attempts >= 0),
    next_attempt_at text not null,
    last_attempt_at text,
    last_error text,
    last_status_code integer,
    created_at text not null,
    delivered_at text
);
insert into webhook_events_rebuilt
    (id, webhook_id, type, request_id, call_id, mentor_id, request_status, previous_status,
     request_attempts, outcome, talk_seconds, starts_at, ended_at, occurred_at, status,
     attempts, next_attempt_at, last_attempt_at, last_error, last_status_code, created_at,
     delivered_at)
select id, webhook_id, type, request_id, call_id, mentor_id, request_status, previous_status,
       request_attempts, outcome, talk_seconds, starts_at, ended_at, occurred_at, status,
       attempts, next_attempt_at, last_attempt_at, last_error, last_status_code, created_at,
       delivered_at
from webhook_events;
drop table webhook_events;
pragma legacy_alter_table = on;
alter table webhook_events_rebuilt rename to webhook_events;
pragma legacy_alter_table = off;
-- The deliverer's query: pending events that are due.
create index webhook_events_due on webhook_events (status, next_attempt_at);
-- In order per request: an event waits while an earlier one of its request is pending.
create index webhook_events_by_request on webhook_events (request_id, id);

-- A score stored on a call (each reply, the replacing ones too), written in the
-- reply's own transaction.
create trigger webhook_feedback_received after update of feedback_score, feedback_at on calls
when new.feedback_at is not null and new.feedback_at is not old.feedback_at
    and (select enabled from webhook_settings where id = 1) = 1
begin
    insert into webhook_events (webhook_id, type, request_id, call_id, mentor_id, starts_at,
        ended_at, feedback_score, occurred_at, next_attempt_at, created_at)
    values ('msg_' || lower(hex(randomblob(16))), 'feedback.received', new.request_id, new.id,
        new.mentor_id, new.starts_at, new.ended_at, new.feedback_score, new.feedback_at,
        new.feedback_at, new.feedback_at);
end;
