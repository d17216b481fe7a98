package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

func openMigrated(t *testing.T, migrate func(context.Context, *pgxpool.Pool) error) *pgxpool.Pool {
	t.Helper()
	db, err := postgres.Open(context.Background(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// Capture lag is the age, at the settle line, of the oldest upstream row the durable watermark has not passed:
// it shrinks as the watermark moves, is 0 once the rest is younger than max_commit_delay, and a quiet table
// shows none however old its rows.
func TestCaptureLagIsTheAgeOfTheOldestRowNotYetPassed(t *testing.T) {
	ctx := context.Background()
	upstream := openMigrated(t, postgres.MigrateUpstream)
	store := openMigrated(t, func(ctx context.Context, db *pgxpool.Pool) error {
		return postgres.Migrate(ctx, db, slog.New(slog.DiscardHandler))
	})
	exec := func(db *pgxpool.Pool, sql string) {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(upstream, `INSERT INTO registration (id, update_time, kind) VALUES
		('R1', now() - interval '2 hours', 1), ('R2', now() - interval '1 hour', 1), ('R3', now() - interval '1 minute', 1)`)
	exec(upstream, `INSERT INTO dictionary (id, update_time) VALUES ('D1', now() - interval '30 days')`)
	state := postgres.NewMetricsState(store, upstream, 5*time.Minute)
	marks := postgres.NewWatermarks(store)
	at := func(id string) capture.Position {
		var pos capture.Position
		if err := upstream.QueryRow(ctx, `SELECT update_time, id FROM registration WHERE id = $1`, id).Scan(&pos.Time, &pos.ID); err != nil {
			t.Fatal(err)
		}
		return pos
	}
	if err := marks.Save(ctx, events.Dictionary, capture.Position{Time: time.Now().Add(-30 * 24 * time.Hour).Add(time.Hour), ID: "D1"}); err != nil {
		t.Fatal(err)
	}
	// The rows were stamped just now, relative to the upstream clock; the minute allows for the test's own run.
	for _, c := range []struct {
		watermark string
		min, max  time.Duration
	}{
		{"", 115 * time.Minute, 116 * time.Minute}, // R1 is 2 h old, 1 h 55 min behind the settle line
		{"R1", 55 * time.Minute, 56 * time.Minute}, // R2 next
		{"R2", 0, 0}, // R3 is younger than max_commit_delay: not settled yet
	} {
		if c.watermark != "" {
			if err := marks.Save(ctx, events.Registration, at(c.watermark)); err != nil {
				t.Fatal(err)
			}
		}
		lag, err := state.CaptureLag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := lag[events.Registration]; got < c.min || got > c.max {
			t.Errorf("watermark after %q: registration lag %s, want %s to %s", c.watermark, got, c.min, c.max)
		}
		if len(lag) != len(events.Catalogue) || lag[events.Dictionary] != 0 || lag[events.Subject] != 0 {
			t.Errorf("watermark after %q: lag %v, want every table, 0 for the captured dictionary and the empty subject", c.watermark, lag)
		}
	}
}

func TestBacklogsCountParkedRowsAndUnpublishedEvents(t *testing.T) {
	ctx := context.Background()
	store := openMigrated(t, func(ctx context.Context, db *pgxpool.Pool) error {
		return postgres.Migrate(ctx, db, slog.New(slog.DiscardHandler))
	})
	state := postgres.NewMetricsState(store, nil, 5*time.Minute)
	b, err := state.Backlogs(ctx)
	if err != nil || b.Parked != 0 || b.Outbox != 0 || b.OutboxOldest != 0 {
		t.Fatalf("empty store: %+v, %v; want nothing", b, err)
	}
	for _, sql := range []string{
		`INSERT INTO bridge.parked (table_name, id, update_time, payload, waiting_table, waiting_id) VALUES
			('info_provider', 'C1', now(), '{}', 'registration', 'R9'), ('subject', 'S1', now(), '{}', 'registration', 'R9')`,
		`INSERT INTO bridge.outbox (event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload, created_at, published_at)
			SELECT 'e' || g, '420106', 'registration.upserted', 'registration', 'R' || g, 'R' || g, now(), '{}',
				now() - interval '10 minutes', CASE WHEN g > 3 THEN now() END
			FROM generate_series(1, 5) g`,
	} {
		if _, err := store.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	b, err = state.Backlogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Parked != 2 || b.Outbox != 3 || b.OutboxOldest < 10*time.Minute || b.OutboxOldest > 11*time.Minute {
		t.Fatalf("backlogs %+v, want 2 parked, 3 unpublished, the oldest about 10 minutes old", b)
	}
}
