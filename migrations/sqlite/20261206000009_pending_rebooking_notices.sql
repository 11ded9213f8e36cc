-- Every booking drops its seeker's "finding you a new time" text if it has not
-- gone out yet (a pending seeker 'canceled' notice of the same request): the
-- booked notice tells the new time instead. The matcher books requests in
-- chunks of 500, and without an index each chunk read the whole outbox for the
-- few such notices there are: 16 ms a chunk, a sixth of persisting 100,000
-- bookings on PostgreSQL (issue 18). Partial, so it holds only seekers'
-- cancellation notices; the delete checks their status itself (see
-- `Store::book_reminding`).
create index notifications_seeker_cancels on notifications (request_id)
    where recipient = 'seeker' and kind = 'canceled';
