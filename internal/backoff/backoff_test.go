package backoff

import (
	"testing"
	"time"
)

func TestExp(t *testing.T) {
	t.Parallel()
	base, limit := 500*time.Millisecond, 30*time.Second
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := Exp(i+1, base, limit); got != w {
			t.Errorf("Exp(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := Exp(0, base, limit); got != base {
		t.Errorf("Exp(0) = %v, want %v", got, base)
	}
	if got := Exp(1<<30, base, limit); got != limit {
		t.Errorf("Exp(huge) = %v, want %v", got, limit)
	}
	if got := Exp(3, time.Minute, limit); got != limit {
		t.Errorf("base above limit: %v, want %v", got, limit)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	for range 1000 {
		if d := Jitter(10*time.Second, 0.2); d < 8*time.Second || d > 12*time.Second {
			t.Fatalf("Jitter(10s, 0.2) = %v", d)
		}
	}
	if d := Jitter(time.Second, 0); d != time.Second {
		t.Fatalf("no jitter: %v", d)
	}
}
