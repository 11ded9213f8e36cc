-- Booking moves requests from 'pending' to 'scheduled' 500 at a time (issue 18):
-- an update that changes a request's status writes a new entry in every index
-- on status whose predicate holds for the new row. The two indexes on status
-- served only queries for a few statuses, never 'scheduled' (the status nearly
-- every request spends its booked days in), so each becomes partial on the
-- statuses its queries ask for, written in the same form as the queries (SQLite
-- uses a partial index only when the query repeats its condition):
-- the matcher's pending requests and the count of them,
create index requests_pending_by_age on requests (created_at, id) where status = 'pending';
-- the housekeeper's expiry of unconfirmed requests by age and the count of them,
create index requests_unconfirmed_by_age on requests (created_at, id)
    where status = 'unconfirmed';
-- and the housekeeper's erasure of finished requests by last change.
create index requests_finished_by_update on requests (updated_at)
    where status in ('completed', 'canceled', 'unreachable', 'expired');
drop index requests_by_status_age;
drop index requests_by_status_updated;
-- (PostgreSQL's webhook trigger on request updates also became one per statement;
-- SQLite's triggers stay as they were.)
