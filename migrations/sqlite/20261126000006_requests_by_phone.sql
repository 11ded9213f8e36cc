-- How many requests a phone number made lately: the daily cap on requests per
-- number (each can text it) reads this.
create index requests_by_phone_and_time on requests (phone, created_at);
