package pipeline

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/seed"
)

// BenchmarkCapture measures capture of a seeded national upstream (all twelve kinds) onto the real broker, and,
// as the reference in the same run, reading the same pages without publishing: the gap is what publishing and
// watermarking cost. Run: go tool task test PKGS=./pipeline/ -- -run '^$' -bench Capture -benchtime 3x
func BenchmarkCapture(b *testing.B) {
	ctx := context.Background()
	upstreamURL, upstream, rows := seededUpstream(b, 20000)
	source := postgres.NewUpstreamSource(upstream)

	b.Run("reference-read-only", func(b *testing.B) {
		for range b.N {
			readAll(b, source, 2000)
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("capture-to-kafka", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			cfg, store, pub, partitions := benchCaptureEnv(b, upstreamURL)
			b.StartTimer()
			runner := newCaptureRunner(cfg, NewLogger(io.Discard, "error"), upstream, store, pub, partitions, nil)
			if err := runner.Run(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// seededUpstream is a fresh upstream database seeded with a national data set of so many registrations, updated an
// hour ago; rows is how many rows the seed wrote across all kinds.
func seededUpstream(b *testing.B, registrations int) (url string, db *pgxpool.Pool, rows int) {
	b.Helper()
	ctx := context.Background()
	url = testenv.Postgres(b)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := postgres.MigrateUpstream(ctx, db); err != nil {
		b.Fatal(err)
	}
	stats, err := seed.Generate(ctx, db, seed.Options{Registrations: registrations, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	return url, db, stats.Total()
}

func readAll(b *testing.B, source *postgres.UpstreamSource, batch int) {
	for _, k := range events.Catalogue {
		var pos capture.Position
		for {
			page, err := source.ReadPage(context.Background(), k.Table, pos, batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) < batch {
				break
			}
			pos = capture.PositionOf(page[len(page)-1])
		}
	}
}

func benchCaptureEnv(b *testing.B, upstreamURL string) (Config, *pgxpool.Pool, *kafka.Publisher, map[string]int) {
	ctx := context.Background()
	cfg, err := LoadConfig("", nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.UpstreamURL, cfg.StoreURL = upstreamURL, testenv.Postgres(b)
	cfg.KafkaBrokers, cfg.TopicPrefix = testenv.KafkaBrokers(b), testenv.TopicPrefix(b)
	store, err := postgres.Open(ctx, cfg.StoreURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(store.Close)
	if err := postgres.Migrate(ctx, store, NewLogger(io.Discard, "error")); err != nil {
		b.Fatal(err)
	}
	partitions, err := ensureTopics(ctx, NewLogger(io.Discard, "error"), cfg, cfg.captureTopics())
	if err != nil {
		b.Fatal(err)
	}
	pub, err := openPublisher(ctx, NewLogger(io.Discard, "error"), cfg.kafka())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pub.Close() })
	return cfg, store, pub, partitions
}
