-- Insights read the newest invoices and delivered events in a window of
-- time: a range of these indexes each, not a scan and sort of the table.
-- (invoices_created carries the primary key id, events_delivered the rowid
-- seq: both are in index order for the tie-breaks.)
CREATE INDEX invoices_created ON invoices (created_at_ns);
-- Partial: one entry per delivery.delivered event, none for the others, so
-- the events the pipeline appends by the thousand cost nothing more.
CREATE INDEX events_delivered ON events (received_at_ns) WHERE type = 'delivery.delivered';
