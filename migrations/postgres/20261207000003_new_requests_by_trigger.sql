-- What follows from storing a new request is written by one statement-level
-- trigger, from the insert's transition table (issue 18: intake stores up to
-- 128 requests a statement):
--
-- * An unconfirmed request's first code text, due at once. Every unconfirmed
--   request has its row in request_confirmations; until now each insert wrote it
--   with a statement of its own (or a data-modifying WITH), so the rule lived in
--   the application three times. SQLite's migration adds the same rule as a
--   per-row trigger.
-- * request.updated webhook events, as updates' are since 20261207000002: the
--   same events, in request order within a statement, and one look at
--   webhook_settings per statement instead of a PL/pgSQL call per row.
create function requests_created() returns trigger language plpgsql as $$
begin
    insert into request_confirmations (request_id, send_at, codes_sent)
    select id, created_at, 1 from new_requests where status = 'unconfirmed';
    if not exists (select 1 from webhook_settings where id = 1 and enabled) then
        return null;
    end if;
    insert into webhook_events (webhook_id, type, request_id, call_id, mentor_id, starts_at,
        request_status, previous_status, request_attempts, occurred_at, next_attempt_at,
        created_at)
    select webhook_message_id(), 'request.updated', n.id, c.id, c.mentor_id, c.starts_at,
        n.status, null, n.attempts, n.updated_at, n.updated_at, n.updated_at
    from new_requests n
    left join calls c
        on c.request_id = n.id and c.status in ('scheduled', 'dialing', 'in_progress')
    order by n.id;
    return null;
end
$$;
drop trigger webhook_request_created on requests;
create trigger requests_created after insert on requests
    referencing new table as new_requests
    for each statement execute function requests_created();
-- The per-row function served only the two triggers now replaced.
drop function webhook_request_updated();
