-- Deferred work: workflow timers now, outbound deliveries later.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    run_at_ns       BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    lease_until_ns  BIGINT  NOT NULL,
    leased_by       TEXT    NOT NULL,
    last_error      TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    created_at_ns   BIGINT  NOT NULL,
    updated_at_ns   BIGINT  NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due ON jobs (state, run_at_ns);
