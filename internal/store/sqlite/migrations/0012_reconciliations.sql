-- Reconciliation runs: checks of the hub's records of one kind against the
-- ERP's or the fleet's over a period, and the discrepancies they found.
CREATE TABLE reconciliations (
    id              TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL,
    from_ns         INTEGER NOT NULL,
    to_ns           INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    triggered_by    TEXT    NOT NULL,
    requested_by    TEXT    NOT NULL,
    checked         INTEGER NOT NULL,
    findings        INTEGER NOT NULL,
    error           TEXT    NOT NULL,
    started_at_ns   INTEGER NOT NULL,
    finished_at_ns  INTEGER NOT NULL,
    updated_at_ns   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX reconciliations_kind ON reconciliations (kind, id);
CREATE INDEX reconciliations_status ON reconciliations (status, id);

-- seq orders a run's findings: AUTOINCREMENT never gives a number twice,
-- so it increases in insertion order across the store.
CREATE TABLE reconciliation_findings (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    shipment_id  TEXT    NOT NULL,
    invoice_id   TEXT    NOT NULL,
    vehicle_id   TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    found_at_ns  INTEGER NOT NULL,
    UNIQUE (run_id, id)
);
CREATE INDEX reconciliation_findings_run ON reconciliation_findings (run_id, seq);
CREATE INDEX reconciliation_findings_code ON reconciliation_findings (run_id, code, seq);
