-- The status and customer indexes carry (updated_at_ns, id) so a filtered
-- page is an index range, not a sort of every matching row. On PostgreSQL
-- this costs no extra index writes: updated_at_ns is indexed, so every
-- shipment update is non-HOT and already adds an entry to every index.
DROP INDEX shipments_status;
DROP INDEX shipments_customer;
CREATE INDEX shipments_status   ON shipments (status, updated_at_ns, id) WHERE visible;
CREATE INDEX shipments_customer ON shipments (customer_id, updated_at_ns, id) WHERE visible;
