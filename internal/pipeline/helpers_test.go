package pipeline_test

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/crossdockhq/crossdock/internal/obs"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}

// histogramCount is how many observations WriterBatchSize holds: one per
// committed write transaction.
func histogramCount(t *testing.T, m *obs.Metrics) uint64 {
	t.Helper()
	var out dto.Metric
	if err := m.WriterBatchSize.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}
