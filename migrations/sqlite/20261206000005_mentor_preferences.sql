-- Per-request mentor preferences the matcher reads, and calls mentors give back (issue 16):
-- avoid_mentor_id: the mentor who took the request's call back ("can't make
--   it"); the request is rebooked with another mentor where one has a slot.
-- preferred_mentor_id: the mentor the seeker asked to talk to again; the request
--   is booked into that mentor's next free slot within 7 days of its creation,
--   with anyone after that.
-- Both NULL for most requests. No index: the matcher reads every pending request
-- anyway. Should a mentor ever be removed, preferences for them go with them.
alter table requests add column avoid_mentor_id integer references mentors (id) on delete set null;
alter table requests add column preferred_mentor_id integer references mentors (id) on delete set null;

-- Who gave a booked call back, on a call canceled that way: 'mentor' (they said
-- they cannot make it: the call keeps holding that time on their calendar, so
-- nobody is booked into it again) or 'pause' (the pause takes the time away
-- anyway). NULL on every other call.
alter table calls add column released_by text check (released_by in ('mentor', 'pause'));
