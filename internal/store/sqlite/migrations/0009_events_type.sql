-- Replays select events by type in log order.
CREATE INDEX events_type ON events (type, seq);
