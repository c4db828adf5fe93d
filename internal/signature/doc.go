// Package signature signs and verifies webhook bodies: the header
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", with a window
// against replays and several v1 values while a secret rotates. The API
// verifies what partners send; the webhook connector signs what crossdock
// sends. Pure functions: the caller passes the time.
package signature
