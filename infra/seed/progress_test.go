package seed_test

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/infra/seed"
)

// Progress ends exact, and while Generate runs its count only grows and its estimate stays near the end total.
func TestProgressFollowsGenerateAndChange(t *testing.T) {
	db := newUpstream(t)
	var p seed.Progress
	if p.RowsTotal() != 0 {
		t.Fatal("a total is estimated before anything committed")
	}
	seen := watch(&p)
	st, err := seed.Generate(context.Background(), db, seed.Options{Registrations: 3000, ChunkSize: 250, Now: fixedNow, Progress: &p})
	if err != nil {
		t.Fatal(err)
	}
	samples := seen()
	if p.Rows() != int64(st.Total()) || p.RowsTotal() != int64(st.Total()) {
		t.Fatalf("after Generate: rows %d of %d estimated, Stats say %d", p.Rows(), p.RowsTotal(), st.Total())
	}
	assertSamples(t, samples, int64(st.Total()))

	if _, err := seed.Change(context.Background(), db, seed.ChangeOptions{Rounds: 3, BatchSize: 20, Interval: -1, Progress: &p}); err != nil {
		t.Fatal(err)
	}
	if p.Rounds() != 3 {
		t.Fatalf("%d rounds counted, want 3", p.Rounds())
	}
	var none *seed.Progress // callers that show no progress leave it nil
	if none.Rows() != 0 || none.RowsTotal() != 0 || none.Rounds() != 0 {
		t.Fatal("a nil Progress counts")
	}
}

type progressSample struct{ rows, total int64 }

// watch reads p from another goroutine, as a display does, until the returned func is called.
func watch(p *seed.Progress) func() []progressSample {
	stop, out := make(chan struct{}), make(chan []progressSample)
	go func() {
		var got []progressSample
		for {
			select {
			case <-stop:
				out <- got
				return
			case <-time.After(time.Millisecond):
				got = append(got, progressSample{p.Rows(), p.RowsTotal()})
			}
		}
	}()
	return func() []progressSample { close(stop); return <-out }
}

func assertSamples(t *testing.T, samples []progressSample, final int64) {
	t.Helper()
	var last int64
	for _, s := range samples {
		if s.rows < last {
			t.Fatalf("rows went back from %d to %d", last, s.rows)
		}
		last = s.rows
		if s.total != 0 && (s.total < final*9/10 || s.total > final*11/10) {
			t.Fatalf("estimated %d rows in all while %d were written, more than 10%% off", s.total, final)
		}
	}
	t.Logf("%d samples while generating", len(samples))
}
