-- FIFO groups: a job is claimed only when no earlier job of its group is
-- pending or running (deliveries per connector and shipment).
ALTER TABLE jobs ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_group ON jobs (group_key, created_at_ns, id);
