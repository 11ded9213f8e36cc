-- Signed-in browsers: a mentor (after an SMS code) or the operator (after the admin
-- token). The cookie holds a random token; only its SHA-256 is stored, so a copy of
-- the database signs nobody in.
create table web_sessions (
    token_hash text primary key,
    -- Exactly one of: the mentor this session belongs to, or the operator.
    mentor_id bigint references mentors (id) on delete cascade,
    operator boolean not null default false,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    check ((mentor_id is not null) <> operator)
);
-- Sign-out everywhere and the sweep of expired sessions.
create index web_sessions_by_mentor on web_sessions (mentor_id);
create index web_sessions_by_expiry on web_sessions (expires_at);
