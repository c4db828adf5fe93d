-- Cases: the workflow's projection of what needs a person's attention.
CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    shipment_id    TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    stop_id        TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    cause          TEXT    NOT NULL,
    blocking       INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    opened_at_ns   INTEGER NOT NULL,
    closed_at_ns   INTEGER NOT NULL,
    resolved_by    TEXT    NOT NULL,
    resolution     TEXT    NOT NULL,
    note           TEXT    NOT NULL,
    assignee       TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL,
    carrier        TEXT    NOT NULL,
    region         TEXT    NOT NULL,
    comments       TEXT    NOT NULL,
    updated_at_ns  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cases_shipment ON cases (shipment_id, opened_at_ns);
CREATE INDEX cases_status ON cases (status, opened_at_ns, id);
CREATE INDEX cases_code ON cases (code, status, opened_at_ns);
