package pipeline_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// BenchmarkSourceReconcileDefaultSeed measures bridge reconcile --once --only source, and the whole bridge
// reconcile --once (the source check, then the delivery check of every unit topic), over the default seed (bridge
// seed: 20,000 registrations) after a run to idle, at the default pace (reconcile_rows_per_s 5000) and unpaced.
// Run: go tool task test PKGS=./pipeline/ -- -run '^$' -bench SourceReconcile -benchtime 2x
func BenchmarkSourceReconcileDefaultSeed(b *testing.B) {
	e := newBridgeEnv(b, testenv.KafkaBrokers(b))
	stats, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 20000})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := pipeline.Run(ctx, e.cfg, quietLogger(), true); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded: %s", stats.String())
	for _, checks := range [][]string{{"source"}, nil} {
		for _, pace := range []int{5000, 1_000_000} {
			b.Run(checksName(checks)+"/rows_per_s="+paceName(pace), func(b *testing.B) {
				cfg := e.cfg
				cfg.ReconcileRowsPerS = pace
				for range b.N {
					var out bytes.Buffer
					err := pipeline.Reconcile(ctx, cfg, quietLogger(), &out, pipeline.ReconcileOptions{Once: true, Only: checks})
					if err != nil {
						b.Fatalf("reconcile: %v\n%s", err, out.String())
					}
				}
			})
		}
	}
}

func checksName(only []string) string {
	if len(only) == 0 {
		return "checks=all"
	}
	return "checks=" + only[0]
}

func paceName(n int) string {
	if n >= 1_000_000 {
		return "unpaced"
	}
	return "5000"
}
