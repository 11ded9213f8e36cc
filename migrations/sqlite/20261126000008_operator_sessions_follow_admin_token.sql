-- An operator session remembers which admin token signed it in: a fingerprint
-- of the token (a domain-separated SHA-256), never the token itself. When the
-- deployment changes the token, the sessions it signed in stop working with it.
-- NULL for mentors, and for operator sessions made before this column, which
-- therefore end once.
alter table web_sessions add column admin_key text;
