-- Partners and their keys (kept as SHA-256 only).
CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL,
    scopes        TEXT    NOT NULL, -- space-separated
    from_config   INTEGER NOT NULL,
    created_at_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    digest        BLOB PRIMARY KEY,
    prefix        TEXT    NOT NULL UNIQUE,
    partner_id    TEXT    NOT NULL REFERENCES partners (id),
    created_at_ns INTEGER NOT NULL,
    revoked_at_ns INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX api_keys_partner ON api_keys (partner_id, created_at_ns);

-- Which partner may read which shipment (object-level authorization).
CREATE TABLE shipment_partners (
    partner_id     TEXT    NOT NULL,
    shipment_id    TEXT    NOT NULL,
    shared_at_ns   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, shipment_id)
) WITHOUT ROWID;

-- Master data (customers, locations) as their system of record wrote it.
CREATE TABLE master_data (
    kind          TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    updated_at_ns INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
