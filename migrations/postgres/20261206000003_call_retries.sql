-- A second try in the same commute: after a seeker-side miss, the request is
-- booked at once into a later free slot of the same window occurrence, and the
-- new call names the call it retries. NULL: booked by the matcher.
alter table calls add column retry_of bigint references calls (id);
-- One second try per missed call, even when two instances end the missed call
-- at once (a webhook and the reconciler): the loser's insert finds this taken.
create unique index calls_one_retry_per_miss on calls (retry_of)
    where retry_of is not null;
