package nats

import (
	"context"
	"errors"
	"fmt"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/crossdockhq/crossdock/internal/outbox"
)

func TestClassify(t *testing.T) {
	apiErr := func(code jetstream.ErrorCode) error {
		return fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: code, Description: "x"})
	}
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"over max_payload", natsgo.ErrMaxPayload, true},
		{"over the stream's max_msg_size", apiErr(errCodeMessageTooLarge), true},
		{"stream sealed", apiErr(errCodeStreamSealed), true},
		{"stream out of space", apiErr(10077), false},
		{"no stream", jetstream.ErrNoStreamResponse, false},
		{"no responders", natsgo.ErrNoResponders, false},
		{"reconnecting", natsgo.ErrReconnectBufExceeded, false},
		{"timeout", context.DeadlineExceeded, false},
		{"cancelled", context.Canceled, false},
		{"authorization", natsgo.ErrAuthorization, false},
		{"connection closed", natsgo.ErrConnectionClosed, false},
	}
	for _, tt := range tests {
		err := classify("a.b", 10, 1<<20, tt.err)
		if outbox.IsPermanent(err) != tt.permanent {
			t.Errorf("%s: permanent %v, want %v (%v)", tt.name, outbox.IsPermanent(err), tt.permanent, err)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: %v does not wrap %v", tt.name, err, tt.err)
		}
	}
}
