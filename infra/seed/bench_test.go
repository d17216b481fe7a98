package seed_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"hotline-bridge/infra/seed"
)

// BenchmarkGenerate measures Generate into a fresh reference upstream on the test PostgreSQL and, as the reference
// in the same run, generating the same rows in memory without writing them: the gap is what COPY into PostgreSQL
// costs. Both print rows/s and the peak heap in use while they ran, which must stay flat as the size grows.
// 200,000 registrations are left out with -short; 1,000,000 run only when BRIDGE_SEED_MILLION is set.
// Run: go tool task test PKGS=./infra/seed/ -- -run '^$' -bench Generate -benchtime 1x
func BenchmarkGenerate(b *testing.B) {
	sizes := []int{20000}
	if !testing.Short() {
		sizes = append(sizes, 200000)
	}
	if os.Getenv("BRIDGE_SEED_MILLION") != "" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		opts := seed.Options{Registrations: n, Now: fixedNow}
		b.Run(fmt.Sprintf("registrations=%d", n), func(b *testing.B) {
			var generated int
			b.Run("reference-in-memory", func(b *testing.B) {
				generated = measureRows(b, func() func() (int, error) {
					return func() (int, error) { return seed.GenerateInMemory(opts), nil }
				})
			})
			b.Run("into-postgres", func(b *testing.B) {
				written := measureRows(b, func() func() (int, error) {
					db := newUpstream(b)
					return func() (int, error) {
						st, err := seed.Generate(context.Background(), db, opts)
						return st.Total(), err
					}
				})
				if generated != 0 && written != generated {
					b.Fatalf("Generate wrote %d rows, the in-memory reference generated %d: they did not measure the same data", written, generated)
				}
			})
		})
	}
}

// BenchmarkChange measures change rounds of the default batch size on an upstream generated with 20,000
// registrations, one round per op.
func BenchmarkChange(b *testing.B) {
	ctx := context.Background()
	db := newUpstream(b)
	if _, err := seed.Generate(ctx, db, seed.Options{Registrations: 20000, Now: fixedNow}); err != nil {
		b.Fatal(err)
	}
	rows, rounds := 0, 0
	for b.Loop() {
		rounds++
		st, err := seed.Change(ctx, db, seed.ChangeOptions{Seed: int64(rounds), Rounds: 1, Interval: -1})
		if err != nil {
			b.Fatal(err)
		}
		rows += st.Total()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(rounds), "rows/round")
}

// measureRows times op once per benchmark iteration, each prepared by setup outside the timer, and reports the
// rows it produced per second and the peak heap in use while it ran. It returns the rows of one op.
func measureRows(b *testing.B, setup func() func() (int, error)) int {
	var rows, ops int
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		op := setup()
		runtime.GC()
		heap, stop := watchHeap()
		b.StartTimer()
		n, err := op()
		b.StopTimer()
		stop()
		if err != nil {
			b.Fatal(err)
		}
		rows, ops, peak = rows+n, ops+1, max(peak, *heap)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	return rows / ops
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
