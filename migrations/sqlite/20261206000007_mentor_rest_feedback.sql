-- Mentors rest after repeated misses, and seekers rate a completed call with one
-- key (issue 16, points 3 and 4).
--
-- calls and requests are only ever altered with `add column` here: another
-- branch puts triggers on them, which a rebuild would drop.

-- Mentor-side misses (mentor_no_answer, mentor_declined) since the mentor's last
-- completed call, counted in the transaction that ends each call, under the
-- mentor row's lock, so two instances ending two calls at once count both.
alter table mentors add column consecutive_misses integer not null default 0
    check (consecutive_misses >= 0);
-- When the mentor started resting after too many misses in a row; NULL while
-- the mentor takes calls. A resting mentor is left out of matching.
alter table mentors add column resting_since text;

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
