package distribute_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
)

// The hooks see what the metrics count: each batch once its marks committed, with its units, and each failed
// attempt once, with the error the log reports.
func TestForwarderHooksSeeEveryPublishedBatchAndEveryFailedAttempt(t *testing.T) {
	o := newMemOutbox()
	o.add(2500)
	b := &memBroker{failures: []int{400, 0}}
	o.failMarks = 1
	perUnit, batches := map[string]int{}, 0
	var failures []string
	cfg := distribute.Config{
		BatchSize: 1000, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		Forwarded: func(batch []events.Distribution) {
			batches++
			for _, d := range batch {
				perUnit[d.Unit]++
			}
		},
		Failed: func(err error) { failures = append(failures, err.Error()) },
	}
	f, err := distribute.NewForwarder(cfg, o, b, slog.New(&recorder{}))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Drain(context.Background()); err != nil || n != 2500 {
		t.Fatalf("Drain = %d, %v; want 2500", n, err)
	}
	// add spreads seqs 1..2500 over the units by seq % 3: 0 → 420102, 1 → 420106, 2 → broadcast.
	want := map[string]int{"420102": 833, "420106": 834, events.BroadcastUnit: 833}
	for unit, n := range want {
		if perUnit[unit] != n {
			t.Errorf("unit %s: hook saw %d published events, want %d (all: %v)", unit, perUnit[unit], n, perUnit)
		}
	}
	if batches != 3 {
		t.Errorf("Forwarded called %d times, want once per committed batch of 1000: 3", batches)
	}
	if len(failures) != 3 {
		t.Fatalf("Failed called %d times for two failed sends and one failed mark: %q", len(failures), failures)
	}
	if !strings.Contains(failures[0], "broker.example:9092") {
		t.Errorf("Failed got %q, want the sender's error naming the broker", failures[0])
	}
}
