-- Core schema: mentors with their commute windows and pauses, seekers' requests,
-- and the calls the matcher books between them. Times are UTC RFC 3339 text;
-- local times and dates are kept with the zone they are read in.

create table mentors (
    id integer primary key,
    name text not null,
    -- E.164; validated before it gets here.
    phone text not null,
    timezone text not null,
    -- JSON array of strings.
    topics text not null default '[]',
    call_minutes integer not null default 15 check (call_minutes between 5 and 120),
    -- NULL: every slot that fits in a window occurrence is usable.
    max_calls_per_window integer check (max_calls_per_window >= 1),
    -- SHA-256 of the mentor's API token; the token itself is never stored.
    token_hash text not null,
    created_at text not null
);
-- Token look-ups on every mentor API call; unique so a hash names one mentor.
create unique index mentors_token_hash on mentors (token_hash);

create table commute_windows (
    id integer primary key,
    mentor_id integer not null references mentors (id) on delete cascade,
    -- Bitmask, Monday = 1 ... Sunday = 64.
    weekdays integer not null check (weekdays between 1 and 127),
    start_time text not null,
    end_time text not null,
    timezone text not null,
    created_at text not null,
    -- end == start would be empty or a whole day; end < start crosses midnight.
    check (start_time <> end_time)
);
create index commute_windows_by_mentor on commute_windows (mentor_id);

create table pauses (
    id integer primary key,
    mentor_id integer not null references mentors (id) on delete cascade,
    -- Inclusive dates in the mentor's zone.
    first_day text not null,
    last_day text not null,
    created_at text not null,
    check (first_day <= last_day)
);
create index pauses_by_mentor on pauses (mentor_id);

create table requests (
    id integer primary key,
    name text not null,
    phone text not null,
    timezone text not null,
    topic text not null,
    message text not null,
    -- JSON array of {weekdays, start, end} in the seeker's zone; [] = weekdays.
    availability text not null default '[]',
    status text not null check (status in
        ('unconfirmed', 'pending', 'scheduled', 'completed', 'canceled', 'unreachable', 'expired')),
    -- Seeker-side misses only.
    attempts integer not null default 0 check (attempts >= 0),
    -- SHA-256 of the manage token handed to the seeker.
    manage_token_hash text not null,
    consented_at text not null,
    created_at text not null,
    updated_at text not null
);
-- One open request per phone number, enforced even against concurrent submits.
create unique index requests_one_open_per_phone on requests (phone)
    where status in ('unconfirmed', 'pending', 'scheduled');
-- The matcher reads pending requests oldest first.
create index requests_by_status_age on requests (status, created_at, id);

create table calls (
    id integer primary key,
    request_id integer not null references requests (id),
    mentor_id integer not null references mentors (id),
    starts_at text not null,
    ends_at text not null,
    status text not null check (status in
        ('scheduled', 'dialing', 'in_progress', 'ended', 'canceled')),
    outcome text check (outcome in ('completed', 'mentor_no_answer', 'mentor_declined',
        'seeker_no_answer', 'seeker_busy', 'failed', 'canceled')),
    talk_seconds integer check (talk_seconds >= 0),
    provider_call_sid text,
    created_at text not null,
    updated_at text not null,
    check (ends_at > starts_at)
);
-- A mentor's slot is booked at most once, even by two matcher runs at once;
-- a canceled call frees its slot.
create unique index calls_one_booking_per_slot on calls (mentor_id, starts_at)
    where status <> 'canceled';
-- A request has at most one call that is booked or under way.
create unique index calls_one_live_call_per_request on calls (request_id)
    where status in ('scheduled', 'dialing', 'in_progress');
-- Calendar reads: a mentor's calls in a time range, and everything due soon.
create index calls_by_start on calls (starts_at);

create table call_events (
    id integer primary key,
    call_id integer not null references calls (id) on delete cascade,
    kind text not null,
    -- JSON object with what the event carries.
    detail text not null default '{}',
    created_at text not null
);
create index call_events_by_call on call_events (call_id, id);
