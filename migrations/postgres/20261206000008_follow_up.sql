-- A follow-up offered from the car (issue 16, point 5): when the seeker hangs up
-- first, the mentor may press 1 to offer another call; the seeker is texted, and
-- a reply of AGAIN within 7 days makes a new request that prefers that mentor.
-- Both calls record the link: the offered call its offer and the request it led
-- to, the new request (and so each of its calls) the call it follows up.

-- When the mentor pressed 1 to offer another call; NULL when they did not.
alter table calls add column follow_up_offered_at timestamptz;
-- The request the seeker's AGAIN made from this call's offer; NULL until then.
-- Set once: a second AGAIN finds the offer taken.
alter table calls add column follow_up_request_id bigint references requests (id);
-- The call whose offer this request answers; NULL for a request a seeker made.
alter table requests add column follow_up_of bigint references calls (id);

-- 'follow_up': the seeker is told the mentor would talk again, and to reply
-- AGAIN to book.
alter table notifications drop constraint notifications_kind_check,
    add constraint notifications_kind_check
        check (kind in ('booked', 'moved', 'canceled', 'reminder', 'resting', 'feedback',
                        'follow_up'));
-- One follow-up offer per call, however often the mentor presses 1.
create unique index notifications_one_follow_up_per_call on notifications (call_id)
    where kind = 'follow_up';
