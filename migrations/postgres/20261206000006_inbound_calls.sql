-- The call-back line: a seeker who missed a call and rings the service number
-- while that commute is still open is put through to the mentor. Such a call is
-- placed by the seeker, not by the dispatcher: `inbound` tells them apart in the
-- call JSON and in the operator's figures (a completed inbound call is a missed
-- call recovered). Added as a column, not by rebuilding `calls`: the outbox
-- triggers on `calls` must survive this migration.
alter table calls add column inbound boolean not null default false;
