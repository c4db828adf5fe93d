-- Reconciliation runs: checks of the hub's records of one kind against the
-- ERP's or the fleet's over a period, and the discrepancies they found.
CREATE TABLE reconciliations (
    id              TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL,
    from_ns         BIGINT  NOT NULL,
    to_ns           BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    triggered_by    TEXT    NOT NULL,
    requested_by    TEXT    NOT NULL,
    checked         BIGINT  NOT NULL,
    findings        BIGINT  NOT NULL,
    error           TEXT    NOT NULL,
    started_at_ns   BIGINT  NOT NULL,
    finished_at_ns  BIGINT  NOT NULL,
    updated_at_ns   BIGINT  NOT NULL
);
CREATE INDEX reconciliations_kind ON reconciliations (kind, id);
CREATE INDEX reconciliations_status ON reconciliations (status, id);

-- seq orders a run's findings. Writers of one run hold its row's lock, so
-- the identity's numbers increase in commit order within a run.
CREATE TABLE reconciliation_findings (
    run_id       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY,
    code         TEXT    NOT NULL,
    shipment_id  TEXT    NOT NULL,
    invoice_id   TEXT    NOT NULL,
    vehicle_id   TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    found_at_ns  BIGINT  NOT NULL,
    PRIMARY KEY (run_id, id)
);
CREATE UNIQUE INDEX reconciliation_findings_run ON reconciliation_findings (run_id, seq);
CREATE INDEX reconciliation_findings_code ON reconciliation_findings (run_id, code, seq);
