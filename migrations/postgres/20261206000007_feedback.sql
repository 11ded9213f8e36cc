-- Seekers rate a completed call with one key (issue 16, point 4), and the
-- webhook outbox tells of it (issue 17, point 2: `feedback.received`).

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

-- feedback.received: a seeker's score for a call, with when it came.
alter table webhook_events drop constraint webhook_events_type_check,
    add constraint webhook_events_type_check
        check (type in ('call.ended', 'request.updated', 'feedback.received'));
alter table webhook_events add column feedback_score integer
    check (feedback_score is null or feedback_score between 1 and 5);

-- A score stored on a call (each reply, the replacing ones too), written in the
-- reply's own transaction.
create function webhook_feedback_received() returns trigger language plpgsql as $$
begin
    if not exists (select 1 from webhook_settings where id = 1 and enabled) then
        return null;
    end if;
    insert into webhook_events (webhook_id, type, request_id, call_id, mentor_id, starts_at,
        ended_at, feedback_score, occurred_at, next_attempt_at, created_at)
    values (webhook_message_id(), 'feedback.received', new.request_id, new.id, new.mentor_id,
        new.starts_at, new.ended_at, new.feedback_score, new.feedback_at, new.feedback_at,
        new.feedback_at);
    return null;
end
$$;
create trigger webhook_feedback_received after update of feedback_score, feedback_at on calls
    for each row when (new.feedback_at is not null
                       and new.feedback_at is distinct from old.feedback_at)
    execute function webhook_feedback_received();
