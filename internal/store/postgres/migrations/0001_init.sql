-- crossdock schema v1 (PostgreSQL). Times are int64 Unix nanoseconds (UTC).
CREATE TABLE events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    shipment_id    TEXT    NOT NULL DEFAULT '',
    time_ns        BIGINT  NOT NULL,
    received_at_ns BIGINT  NOT NULL,
    correlation_id TEXT    NOT NULL DEFAULT '',
    causation_id   TEXT    NOT NULL DEFAULT '',
    principal      TEXT    NOT NULL DEFAULT '',
    data           TEXT    NOT NULL,
    UNIQUE (source, id)
);
CREATE INDEX events_timeline ON events (shipment_id, time_ns, seq) WHERE shipment_id <> '';

CREATE TABLE shipments (
    id            TEXT    PRIMARY KEY,
    visible       BOOLEAN NOT NULL,
    status        TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    updated_at_ns BIGINT  NOT NULL
);
CREATE INDEX shipments_updated ON shipments (updated_at_ns, id) WHERE visible;
-- status and customer indexes leave updated_at out: every write moves it,
-- and moving three index entries per update tripled the write amplification.
CREATE INDEX shipments_status ON shipments (status) WHERE visible;
CREATE INDEX shipments_customer ON shipments (customer_id) WHERE visible;

CREATE TABLE vehicles (
    id            TEXT    PRIMARY KEY,
    state         TEXT    NOT NULL,
    updated_at_ns BIGINT  NOT NULL
);

CREATE TABLE quarantine (
    id             TEXT    PRIMARY KEY,
    received_at_ns BIGINT  NOT NULL,
    source         TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    errors         TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    payload        BYTEA   NOT NULL,
    truncated      BOOLEAN NOT NULL,
    replayed_at_ns BIGINT,
    replay_state   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX quarantine_source ON quarantine (source, id);
