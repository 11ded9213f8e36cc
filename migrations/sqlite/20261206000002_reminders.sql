-- Reminders before a call (issue 15): a notice of kind 'reminder' in the outbox,
-- due some minutes before the call, and links to the manage page that reminders
-- carry.
--
-- SQLite cannot change a CHECK constraint in place, so the outbox is rebuilt:
-- a new table with the wider checks, the rows copied, the old one dropped and the
-- new one renamed. Nothing references notifications, so the drop and the rename
-- leave every other table as it was.
create table notifications_rebuilt (
    id integer primary key,
    request_id integer not null references requests (id),
    call_id integer not null references calls (id),
    recipient text not null check (recipient in ('seeker', 'mentor')),
    -- 'reminder': the seeker is reminded of the call shortly before it.
    kind text not null check (kind in ('booked', 'moved', 'canceled', 'reminder')),
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
     provider_sid, last_error, created_at, sent_at)
select id, request_id, call_id, recipient, kind, status, attempts, next_attempt_at,
       provider_sid, last_error, created_at, sent_at
from notifications;
drop table notifications;
alter table notifications_rebuilt rename to notifications;
-- The notifier's query: pending notices that are due.
create index notifications_due on notifications (status, next_attempt_at);
-- One reminder per call, however often its booking is written.
create unique index notifications_one_reminder_per_call on notifications (call_id)
    where kind = 'reminder';

-- Links to the manage page (/r/{token}) that reminders carry. A request's own
-- manage token is stored only as a hash, so a reminder cannot quote it: each
-- reminder mints a token of its own, stored here as a hash, that opens the
-- request like its manage token until it expires (a few days after the text) or
-- the request's data is erased.
create table manage_links (
    -- SHA-256 of the token, like requests.manage_token_hash; the lookup key.
    token_hash text primary key,
    request_id integer not null references requests (id),
    created_at text not null,
    expires_at text not null
);
-- Erasure deletes a request's links.
create index manage_links_by_request on manage_links (request_id);
-- Expired links are swept by their expiry.
create index manage_links_by_expiry on manage_links (expires_at);
