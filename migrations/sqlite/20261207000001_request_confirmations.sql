-- Phone confirmation moves out of `requests` into a narrow table of its own
-- (issue 18). Each code text rewrote the wide request row twice, when the
-- notifier claimed it and when it went out, and neither write could be HOT
-- (`confirm_send_at` was indexed): every new request was written three times
-- into all nine of its indexes, and under intake load the code texts took three
-- quarters of PostgreSQL's time. Now the code and its text's outbox live in one
-- small row per request that must confirm its number, with two indexes; the
-- request row is written again only when its status changes.
create table request_confirmations (
    request_id integer primary key references requests (id),
    -- The code texted to the seeker, as a salted hash only; the notifier makes a
    -- new code when it sends the text, so the code is never stored in clear.
    code_hash text,
    expires_at text,
    -- Wrong codes entered against the current code.
    tries integer not null default 0 check (tries >= 0),
    -- A code text claimed again because its first claim ran out keeps the code
    -- that claim may have delivered valid until its own expiry.
    prev_code_hash text,
    prev_expires_at text,
    -- Code texts asked for so far (the first one included).
    codes_sent integer not null default 0 check (codes_sent >= 0),
    -- Outbox of code texts: due at this time; NULL when there is nothing to send,
    -- and always NULL once the request is no longer unconfirmed.
    send_at text,
    -- Sends tried for the current code text (for backoff).
    send_attempts integer not null default 0 check (send_attempts >= 0),
    -- Why the last code text could not be sent ('opted_out', 'invalid_number',
    -- 'failed'); never the provider's message, which can quote the number.
    send_error text
);
-- The notifier's query: code texts that are due.
create index request_confirmations_due on request_confirmations (send_at)
    where send_at is not null;

insert into request_confirmations (request_id, code_hash, expires_at, tries, prev_code_hash,
    prev_expires_at, codes_sent, send_at, send_attempts, send_error)
select id, confirm_code_hash, confirm_expires_at, confirm_tries, confirm_prev_code_hash,
    confirm_prev_expires_at, confirm_codes_sent,
    case when status = 'unconfirmed' then confirm_send_at end, confirm_send_attempts,
    confirm_send_error
from requests
where confirm_codes_sent > 0 or confirm_send_at is not null or confirm_code_hash is not null;

drop index requests_code_texts_due;
-- One column at a time: SQLite drops no more per statement. The outbox
-- triggers on `requests` name none of these columns, so they stay.
alter table requests drop column confirm_code_hash;
alter table requests drop column confirm_expires_at;
alter table requests drop column confirm_tries;
alter table requests drop column confirm_prev_code_hash;
alter table requests drop column confirm_prev_expires_at;
alter table requests drop column confirm_codes_sent;
alter table requests drop column confirm_send_at;
alter table requests drop column confirm_send_attempts;
alter table requests drop column confirm_send_error;
