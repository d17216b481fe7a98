package seed_test

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"hotline-bridge/infra/seed"
)

// TestGenerateTimings logs how long Generate takes and how much heap it holds at most. 200k registrations are
// skipped with -short; 1M only run when BRIDGE_SEED_MILLION is set.
func TestGenerateTimings(t *testing.T) {
	sizes := []int{20000}
	if !testing.Short() {
		sizes = append(sizes, 200000)
	}
	if os.Getenv("BRIDGE_SEED_MILLION") != "" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		db := newUpstream(t)
		peak, stop := watchHeap()
		start := time.Now()
		st, err := seed.Generate(context.Background(), db, seed.Options{Registrations: n, Now: fixedNow})
		elapsed := time.Since(start)
		stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d registrations: %d rows in %s (%.0f rows/s), peak heap %d MiB",
			n, st.Total(), elapsed.Round(time.Millisecond), float64(st.Total())/elapsed.Seconds(), *peak>>20)
		start = time.Now()
		st, err = seed.Change(context.Background(), db, seed.ChangeOptions{Rounds: 5, Interval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("  then 5 change rounds of batch 100 in %s: %d rows", time.Since(start).Round(time.Millisecond), st.Total())
	}
}

// watchHeap samples the heap in use until stop is called.
func watchHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

func BenchmarkGenerate20k(b *testing.B) {
	for range b.N {
		b.StopTimer()
		db := newUpstream(b)
		b.StartTimer()
		if _, err := seed.Generate(context.Background(), db, seed.Options{Registrations: 20000, Now: fixedNow}); err != nil {
			b.Fatal(err)
		}
	}
}
