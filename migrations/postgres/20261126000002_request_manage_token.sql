-- The seeker's manage page (/r/{token}) finds its request by the hash of the
-- private token on every visit; unique so one hash names one request, like
-- mentors' token hashes.
create unique index requests_by_manage_token on requests (manage_token_hash);
