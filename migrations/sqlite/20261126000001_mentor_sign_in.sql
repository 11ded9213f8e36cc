-- Mentor sign-in by a one-time code sent by SMS, and each mentor's private
-- calendar feed link.

-- The code a mentor was last sent. One row per mentor (the primary key) so a new
-- code replaces the old one. Only a SHA-256 of the code (salted with the mentor id)
-- is kept; a code stops working when it expires, is used, or has been guessed
-- wrong too often (the row is deleted then).
create table mentor_sign_in_codes (
    mentor_id integer primary key references mentors (id) on delete cascade,
    code_hash text not null,
    -- Wrong guesses so far.
    attempts integer not null default 0 check (attempts >= 0),
    created_at text not null,
    expires_at text not null
);

-- Every code sent, so the sign-in form cannot flood a phone with texts: sends per
-- mentor (one phone each) in the last hour are counted before sending another.
create table mentor_sign_in_sends (
    id integer primary key,
    mentor_id integer not null references mentors (id) on delete cascade,
    created_at text not null
);
-- The count of a mentor's recent sends, and the sweep of old rows.
create index mentor_sign_in_sends_by_mentor on mentor_sign_in_sends (mentor_id, created_at);
create index mentor_sign_in_sends_by_age on mentor_sign_in_sends (created_at);

-- The secret link of a mentor's calendar feed. Only the SHA-256 of the token is
-- stored, like every other token: the link is shown when it is made, and a new one
-- replaces the old (one row per mentor).
create table mentor_calendars (
    mentor_id integer primary key references mentors (id) on delete cascade,
    token_hash text not null,
    created_at text not null
);
-- Feed requests look the mentor up by the token's hash; unique so it names one.
create unique index mentor_calendars_token_hash on mentor_calendars (token_hash);
