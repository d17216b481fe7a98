package pace_test

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/handlers/pace"
)

func TestBackoffGrowsToItsCapAndResets(t *testing.T) {
	b := pace.Backoff(100*time.Millisecond, time.Second)
	var last time.Duration
	for range 10 {
		last = b.NextBackOff()
	}
	if last < 800*time.Millisecond || last > 1200*time.Millisecond {
		t.Fatalf("after 10 failures the pause is %s, want about the 1s cap", last)
	}
	b.Reset()
	if first := b.NextBackOff(); first > 120*time.Millisecond {
		t.Fatalf("after a reset the pause is %s, want about 100ms", first)
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { pace.Sleep(ctx, time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep ignored its cancelled context")
	}
}
