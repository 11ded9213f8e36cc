-- Consent and privacy: who agreed to what and how, the phone confirmation a new
-- request waits for, SMS opt-outs, and erasure.

-- The consent wording's version, and where it was given ('web' form or 'api').
-- NULL on requests made before this was recorded.
alter table requests add column consent_version text;
alter table requests add column consent_source text check (consent_source in ('web', 'api'));
-- When and how the seeker proved the number is theirs: the code on the web page
-- ('web'), through the API ('api'), or by replying YES ('sms'). 'not_required'
-- when the deployment does not confirm numbers. NULL: not confirmed (yet).
alter table requests add column confirmed_at text;
alter table requests add column confirmed_via text
    check (confirmed_via in ('web', 'api', 'sms', 'not_required'));
-- The code texted to the seeker, as a salted hash only; the notifier makes a new
-- code when it sends the text, so the code is never stored in clear.
alter table requests add column confirm_code_hash text;
alter table requests add column confirm_expires_at text;
-- Wrong codes entered against the current code.
alter table requests add column confirm_tries integer not null default 0;
-- Code texts asked for so far (the first one included).
alter table requests add column confirm_codes_sent integer not null default 0;
-- Outbox of code texts: due at this time; NULL when there is nothing to send.
alter table requests add column confirm_send_at text;
-- Sends tried for the current code text (for backoff).
alter table requests add column confirm_send_attempts integer not null default 0;
-- Why the last code text could not be sent ('opted_out', 'invalid_number',
-- 'failed'); never the provider's message, which can quote the number.
alter table requests add column confirm_send_error text;
-- When the seeker's personal data was erased (by them, an operator, or retention).
alter table requests add column erased_at text;

-- The notifier's query: code texts that are due.
create index requests_code_texts_due on requests (confirm_send_at)
    where confirm_send_at is not null;
-- The housekeeper's queries: unconfirmed requests by age, finished ones by last change.
create index requests_by_status_updated on requests (status, updated_at);

-- Numbers that replied STOP (or that the provider says opted out): no SMS goes
-- to them until they reply START.
create table sms_opt_outs (
    phone text primary key,
    -- 'reply' (STOP) or 'provider' (error 21610).
    source text not null check (source in ('reply', 'provider')),
    created_at text not null
);
