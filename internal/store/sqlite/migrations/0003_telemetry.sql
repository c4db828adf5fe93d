-- Raw positions, apart from the events log: compact (no JSON), keyed by
-- (vehicle, time) so a retry through any input is a duplicate, and pruned
-- by time after the retention period.
CREATE TABLE positions (
    vehicle_id     TEXT    NOT NULL,
    time_ns        INTEGER NOT NULL,
    device_id      TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    received_at_ns INTEGER NOT NULL,
    correlation_id TEXT    NOT NULL,
    lat            REAL    NOT NULL,
    lon            REAL    NOT NULL,
    speed_kph      REAL,
    heading        REAL,
    odometer_km    REAL,
    temperature_c  REAL,
    altitude_m     REAL,
    accuracy_m     REAL,
    battery_pct    REAL,
    PRIMARY KEY (vehicle_id, time_ns)
) WITHOUT ROWID;
CREATE INDEX positions_time ON positions (time_ns);

-- Device registry: a device belongs to one vehicle.
CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_vehicle ON devices (vehicle_id);
