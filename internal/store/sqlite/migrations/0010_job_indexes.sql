-- Found by draining a 32k-delivery backlog at 300/s: finding the heads of
-- FIFO groups and a connector's backlog read every job there was.
--
-- head is 1 when a job may run as far as its FIFO group goes: it is in no
-- group, or it is the oldest open job of its group. Every change to a
-- group's open jobs keeps it so, and claims read the ready jobs alone.
ALTER TABLE jobs ADD COLUMN head INTEGER NOT NULL DEFAULT 1;
CREATE INDEX jobs_group_open ON jobs (group_key, created_at_ns, id) WHERE state IN ('pending', 'running');
DROP INDEX jobs_group;
UPDATE jobs SET head = 0 WHERE group_key <> '' AND state IN ('pending', 'running') AND EXISTS (
    SELECT 1 FROM jobs e WHERE e.group_key = jobs.group_key AND e.state IN ('pending', 'running')
        AND (e.created_at_ns < jobs.created_at_ns OR (e.created_at_ns = jobs.created_at_ns AND e.id < jobs.id)));
CREATE INDEX jobs_ready ON jobs (kind, run_at_ns) WHERE state = 'pending' AND head = 1;
-- A connector's backlog and dead letters without its delivered history.
CREATE INDEX jobs_kind_state ON jobs (kind, state, key, created_at_ns);
