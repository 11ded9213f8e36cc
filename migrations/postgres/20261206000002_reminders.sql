-- Reminders before a call (issue 15): a notice of kind 'reminder' in the outbox,
-- due some minutes before the call, and links to the manage page that reminders
-- carry.

-- 'reminder': the seeker is reminded of the call shortly before it.
alter table notifications drop constraint notifications_kind_check,
    add constraint notifications_kind_check
        check (kind in ('booked', 'moved', 'canceled', 'reminder'));
-- 'skipped': a reminder that must not go (its call was canceled or moved, or the
-- number opted out of texts) and was not sent.
alter table notifications drop constraint notifications_status_check,
    add constraint notifications_status_check
        check (status in ('pending', 'sent', 'failed', 'skipped'));
-- A reminder's call start when it was queued: the reminder goes only while its
-- call is still scheduled at that instant. NULL for other notices.
alter table notifications add column starts_at timestamptz,
    add constraint notifications_starts_at_of_reminders
        check ((kind = 'reminder') = (starts_at is not null));
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
    request_id bigint not null references requests (id),
    created_at timestamptz not null,
    expires_at timestamptz not null
);
-- Erasure deletes a request's links.
create index manage_links_by_request on manage_links (request_id);
-- Expired links are swept by their expiry.
create index manage_links_by_expiry on manage_links (expires_at);
