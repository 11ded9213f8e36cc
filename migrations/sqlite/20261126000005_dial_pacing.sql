-- RIDEALONG_CPS holds for the whole cluster: every claim reserves the next free
-- send time here, in the claim's transaction, so instances sharing a database
-- space their dials together. One row.
create table dial_pacing (
    id integer primary key check (id = 1),
    -- The earliest instant the next dial may reach the provider.
    next_at text not null,
    created_at text not null
);
