package config

import (
	"testing"
	"time"
)

func TestReconciliationNext(t *testing.T) {
	at := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		schedule string
		tz       string
		want     time.Time
		ok       bool
	}{
		{"default nightly", "30 2 * * *", "UTC", time.Date(2026, 12, 4, 2, 30, 0, 0, time.UTC), true},
		{"no zone means UTC", "30 2 * * *", "", time.Date(2026, 12, 4, 2, 30, 0, 0, time.UTC), true},
		{"in Berlin (UTC+1 in December)", "30 2 * * *", "Europe/Berlin", time.Date(2026, 12, 4, 1, 30, 0, 0, time.UTC), true},
		{"descriptor", "@daily", "UTC", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), true},
		{"off", ScheduleOff, "UTC", time.Time{}, false},
		{"invalid", "61 2 * * *", "UTC", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultReconciliation()
			r.Schedule, r.Timezone = tt.schedule, tt.tz
			got, ok := r.Next(at)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, %v; want %s, %v", at, got, ok, tt.want, tt.ok)
			}
		})
	}
}
