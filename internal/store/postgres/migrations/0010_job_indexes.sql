-- Found by draining a 32k-delivery backlog at 300/s on SQLite: the FIFO
-- check and a connector's backlog read every job there was.
-- A FIFO group's head is its oldest open job: one seek in this index.
CREATE INDEX jobs_group_open ON jobs (group_key, created_at_ns, id) WHERE state IN ('pending', 'running');
DROP INDEX jobs_group;
-- A connector's backlog and dead letters without its delivered history.
CREATE INDEX jobs_kind_state ON jobs (kind, state, key, created_at_ns);
