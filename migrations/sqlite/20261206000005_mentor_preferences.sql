-- Per-request mentor preferences the matcher reads, and calls mentors give back (issue 16):
-- avoid_mentor_id: the mentor who took the request's call back ("can't make
--   it"); the request is rebooked with another mentor where one has a slot.
-- preferred_mentor_id: the mentor the seeker asked to talk to again; the request
--   is booked into that mentor's next free slot within 7 days of its creation,
--   with anyone after that.
-- Both NULL for most requests. No index: the matcher reads every pending request
-- anyway. Should a mentor ever be removed, preferences for them go with them.
alter table requests add column avoid_mentor_id integer references mentors (id) on delete set null;
alter table requests add column preferred_mentor_id integer references mentors (id) on delete set null;

-- Who gave a booked call back, on a call canceled that way: 'mentor' (they said
-- they cannot make it: the call keeps holding that time on their calendar, so
-- nobody is booked into it again), 'pause' (the pause takes the time away
-- anyway) or 'rest' (the mentor rests after repeated misses and takes no calls
-- until they say they are back). NULL on every other call.
alter table calls add column released_by text check (released_by in ('mentor', 'pause', 'rest'));

-- Mentors rest after repeated misses (issue 16, point 3).
-- Mentor-side misses (mentor_no_answer, mentor_declined) in a row, since the
-- mentor's last completed call or their return from a rest; counted in the
-- transaction that ends each call, by an update of the mentor's row, so two
-- instances ending two calls at once both count.
alter table mentors add column consecutive_misses integer not null default 0
    check (consecutive_misses >= 0);
-- When the mentor started resting after too many misses in a row; NULL while the
-- mentor takes calls. A resting mentor is left out of matching until they (or
-- the operator) say they are back.
alter table mentors add column resting_since text;

-- SQLite cannot change a CHECK constraint in place, so the outbox is rebuilt (as
-- in 20261206000002) to take one more kind. Nothing references notifications,
-- so the drop and the rename leave every other table as it was.
create table notifications_rebuilt (
    id integer primary key,
    request_id integer not null references requests (id),
    call_id integer not null references calls (id),
    recipient text not null check (recipient in ('seeker', 'mentor')),
    -- 'resting': the mentor is told they rest after repeated misses, and how to
    -- come back (the call is the miss that did it).
    kind text not null check (kind in ('booked', 'moved', 'canceled', 'reminder', 'resting')),
    -- 'skipped': a reminder that must not go (its call was canceled or moved, or
    -- the number opted out of texts) and was not sent.
    status text not null check (status in ('pending', 'sent', 'failed', 'skipped')),
    -- Sends tried so far; each claim bumps it and pushes next_attempt_at out, so
    -- a notifier that dies mid-send is retried later.
    attempts integer not null default 0,
    next_attempt_at text not null,
    provider_sid text,
    last_error text,
    created_at text not null,
    sent_at text,
    -- A reminder's call start when it was queued: the reminder goes only while
    -- its call is still scheduled at that instant. NULL for other notices.
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
