-- A dial the provider could not take (down, rate limiting us, unreachable) is put
-- back with the time to try again, while the slot still allows it. NULL: dial at
-- the slot's start.
alter table calls add column retry_at timestamptz;
