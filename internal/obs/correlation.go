package obs

import (
	"context"
	"strings"

	"github.com/google/uuid"
)

type correlationKey struct{}

// WithCorrelation returns ctx carrying correlation id id.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// Correlation returns ctx's correlation id, or "".
func Correlation(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// NewCorrelationID makes a fresh, time-ordered correlation id.
func NewCorrelationID() string { return uuid.Must(uuid.NewV7()).String() }

// MaxCorrelationLen bounds correlation ids accepted from outside.
const MaxCorrelationLen = 128

// CorrelationFromHeaders picks the request's correlation id: X-Correlation-ID
// if present and sane, else the trace id of a W3C traceparent, else "".
func CorrelationFromHeaders(xCorrelationID, traceparent string) string {
	if id := strings.TrimSpace(xCorrelationID); id != "" && len(id) <= MaxCorrelationLen && printable(id) {
		return id
	}
	// traceparent: version "-" trace-id(32 hex) "-" parent-id(16 hex) "-" flags
	parts := strings.Split(strings.TrimSpace(traceparent), "-")
	if len(parts) == 4 && len(parts[1]) == 32 && isHex(parts[1]) && parts[1] != strings.Repeat("0", 32) {
		return parts[1]
	}
	return ""
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
