package pipeline

import (
	"context"
	"io"
	"testing"
	"time"

	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
	"hotline-bridge/infra/testenv"
)

// BenchmarkRunToIdle measures the whole pipeline — capture, sort, store, distribute — over a seeded national
// upstream, from an empty store to idle. The capture benchmark is its reference: the rest is sorting.
// Run: go tool task test PKGS=./pipeline/ -- -run '^$' -bench RunToIdle -benchtime 1x
func BenchmarkRunToIdle(b *testing.B) {
	ctx := context.Background()
	upstreamURL := testenv.Postgres(b)
	upstream, err := postgres.Open(ctx, upstreamURL)
	if err != nil {
		b.Fatal(err)
	}
	defer upstream.Close()
	if err := postgres.MigrateUpstream(ctx, upstream); err != nil {
		b.Fatal(err)
	}
	stats, err := seed.Generate(ctx, upstream, seed.Options{Registrations: 5000, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		cfg, _, _ := benchCaptureEnv(b, upstreamURL)
		b.StartTimer()
		if err := Run(ctx, cfg, NewLogger(io.Discard, "error"), true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(stats.Total()*b.N)/b.Elapsed().Seconds(), "rows/s")
}
