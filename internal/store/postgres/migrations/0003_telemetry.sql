-- Raw positions, apart from the events log: compact (no JSON), keyed by
-- (vehicle, time) so a retry through any input is a duplicate, and pruned
-- by time after the retention period.
CREATE TABLE positions (
    vehicle_id     TEXT    NOT NULL,
    time_ns        BIGINT NOT NULL,
    device_id      TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    received_at_ns BIGINT NOT NULL,
    correlation_id TEXT    NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    lon            DOUBLE PRECISION NOT NULL,
    speed_kph      DOUBLE PRECISION,
    heading        DOUBLE PRECISION,
    odometer_km    DOUBLE PRECISION,
    temperature_c  DOUBLE PRECISION,
    altitude_m     DOUBLE PRECISION,
    accuracy_m     DOUBLE PRECISION,
    battery_pct    DOUBLE PRECISION,
    PRIMARY KEY (vehicle_id, time_ns)
);
CREATE INDEX positions_time ON positions (time_ns);

-- Device registry: a device belongs to one vehicle.
CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL
);
CREATE INDEX devices_vehicle ON devices (vehicle_id);
