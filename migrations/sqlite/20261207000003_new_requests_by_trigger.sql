-- Every unconfirmed request has its row in request_confirmations, with its first
-- code text due at its creation. Until now each insert wrote that row with a
-- statement of its own, so intake's batch took a transaction of two statements;
-- the database now writes it as the request is stored, and the batch is one
-- statement (issue 18). PostgreSQL's migration adds the same rule to its
-- statement-level insert trigger.
create trigger request_first_code_text after insert on requests
    for each row when new.status = 'unconfirmed'
begin
    insert into request_confirmations (request_id, send_at, codes_sent)
    values (new.id, new.created_at, 1);
end;
