-- A request's calls of any status: booking asks whether the request had a call
-- before (to word the seeker's notice "moved" rather than "booked"). Without it
-- that question scans every call, once per booking.
create index calls_by_request on calls (request_id);
