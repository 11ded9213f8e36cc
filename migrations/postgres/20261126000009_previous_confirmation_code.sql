-- A code text claimed again because its first claim ran out (the notifier died
-- before recording the text as sent, or the send failed and is retried) goes out
-- with a new code. The code the first claim may already have delivered stays
-- valid until its own expiry, so the seeker is not left holding a dead code.
-- A new code the seeker asks for replaces the old one as before.
alter table requests add column confirm_prev_code_hash text;
alter table requests add column confirm_prev_expires_at timestamptz;
