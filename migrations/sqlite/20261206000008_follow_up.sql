-- A follow-up offered from the car (issue 16, point 5): when the seeker hangs up
-- first, the mentor may press 1 to offer another call; the seeker is texted, and
-- a reply of AGAIN within 7 days makes a new request that prefers that mentor.
-- Both calls record the link: the offered call its offer and the request it led
-- to, the new request (and so each of its calls) the call it follows up.
--
-- calls and requests are only ever altered with `add column` here: the webhook
-- outbox's triggers on them would not survive a rebuild.

-- When the mentor pressed 1 to offer another call; NULL when they did not.
alter table calls add column follow_up_offered_at text;
-- The request the seeker's AGAIN made from this call's offer; NULL until then.
-- Set once: a second AGAIN finds the offer taken.
alter table calls add column follow_up_request_id integer references requests (id);
-- The call whose offer this request answers; NULL for a request a seeker made.
alter table requests add column follow_up_of integer references calls (id);

-- SQLite cannot change a CHECK constraint in place, so the outbox is rebuilt (as
-- in 20261206000007) to take one more kind. Nothing references notifications,
-- so the drop and the rename leave every other table as it was.
create table notifications_rebuilt (
    id integer primary key,
    request_id integer not null references requests (id),
    call_id integer not null references calls (id),
    recipient text not null check (recipient in ('seeker', 'mentor')),
    -- 'resting': the mentor is told they rest after repeated misses, and how to
    -- come back (the call is the miss that did it). 'feedback': the seeker of a
    -- completed call is asked how much it helped. 'follow_up': the seeker is
    -- told the mentor would talk again, and to reply AGAIN to book.
    kind text not null check (kind in ('booked', 'moved', 'canceled', 'reminder', 'resting',
                                       'feedback', 'follow_up')),
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
-- One follow-up offer per call, however often the mentor presses 1.
create unique index notifications_one_follow_up_per_call on notifications (call_id)
    where kind = 'follow_up';
