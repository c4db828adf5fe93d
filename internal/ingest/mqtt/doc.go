// Package mqtt is the MQTT telemetry input: a subscriber (Eclipse Paho)
// that takes positions published by trackers or gateways on
// crossdock/telemetry/{device_id} with QoS 1.
//
// It owns the broker session, decoding a message into an ingest.Position
// and acknowledging it. A message is acknowledged (PUBACK) only after the
// sink committed it — or kept it in quarantine, if it could not be decoded.
// The session is persistent (clean session off, a fixed client id), so
// messages not acknowledged when crossdock stops, dies or loses the broker
// are delivered again when it reconnects. It never resolves devices,
// checks value ranges or writes tables itself.
package mqtt
