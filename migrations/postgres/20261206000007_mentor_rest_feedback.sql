-- Mentors rest after repeated misses, and seekers rate a completed call with one
-- key (issue 16, points 3 and 4).

-- Mentor-side misses (mentor_no_answer, mentor_declined) since the mentor's last
-- completed call, counted in the transaction that ends each call, under the
-- mentor row's lock, so two instances ending two calls at once count both.
alter table mentors add column consecutive_misses integer not null default 0
    check (consecutive_misses >= 0);
-- When the mentor started resting after too many misses in a row; NULL while
-- the mentor takes calls. A resting mentor is left out of matching.
alter table mentors add column resting_since timestamptz;

-- The seeker's one-key answer to "how much did the call help", 1 to 5; a later
-- reply replaces an earlier one. NULL until the seeker replies.
alter table calls add column feedback_score integer
    check (feedback_score is null or feedback_score between 1 and 5);
-- When the stored score was received.
alter table calls add column feedback_at timestamptz;

-- 'resting': the mentor is told they rest after repeated misses, and how to
-- come back (the call is the miss that did it). 'feedback': the seeker of a
-- completed call is asked how much it helped.
alter table notifications drop constraint notifications_kind_check,
    add constraint notifications_kind_check
        check (kind in ('booked', 'moved', 'canceled', 'reminder', 'resting', 'feedback'));
-- One feedback question per completed call, however often its ending is tried.
create unique index notifications_one_feedback_per_call on notifications (call_id)
    where kind = 'feedback';

-- The answer rate, completion rate and feedback of one mentor over the last
-- 30 days read their calls by start.
create index calls_by_mentor_and_start on calls (mentor_id, starts_at);
