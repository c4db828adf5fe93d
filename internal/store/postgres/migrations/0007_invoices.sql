-- Invoices and the gapless counters that number them.
CREATE TABLE invoices (
    id             TEXT PRIMARY KEY,
    shipment_id    TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    total          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    erp_ref        TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    created_at_ns  BIGINT  NOT NULL,
    updated_at_ns  BIGINT  NOT NULL
);
CREATE INDEX invoices_shipment ON invoices (shipment_id);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
CREATE INDEX invoices_status ON invoices (status, id);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT  NOT NULL
);
