package pipeline

import (
	"context"
	"io"
	"testing"
)

// BenchmarkRunToIdle measures the whole pipeline — capture, sort, store, distribute — over a seeded national
// upstream, from an empty store to idle. The capture benchmark is its reference: the rest is sorting.
// Run: go tool task test PKGS=./pipeline/ -- -run '^$' -bench RunToIdle -benchtime 1x
func BenchmarkRunToIdle(b *testing.B) {
	upstreamURL, _, rows := seededUpstream(b, 5000)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		cfg, _, _, _ := benchCaptureEnv(b, upstreamURL)
		b.StartTimer()
		if err := Run(context.Background(), cfg, NewLogger(io.Discard, "error"), true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
