package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/metrics"
)

// MetricsState reads the gauges that are state in the store and the upstream, for every bridge instance alike.
type MetricsState struct {
	store, upstream *pgxpool.Pool
	maxCommitDelay  time.Duration
}

var _ metrics.State = (*MetricsState)(nil)

// NewMetricsState reads the store's backlogs and the capture lag against the upstream; maxCommitDelay is
// capture's, which puts the settle line.
func NewMetricsState(store, upstream *pgxpool.Pool, maxCommitDelay time.Duration) *MetricsState {
	return &MetricsState{store: store, upstream: upstream, maxCommitDelay: maxCommitDelay}
}

// Backlogs counts in one round trip; the outbox count walks the partial index of unpublished events.
func (s *MetricsState) Backlogs(ctx context.Context) (metrics.Backlogs, error) {
	var b metrics.Backlogs
	var oldest float64
	err := s.store.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM bridge.parked),
			count(*), coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
		FROM bridge.outbox WHERE published_at IS NULL`).Scan(&b.Parked, &b.Outbox, &oldest)
	if err != nil {
		return b, fmt.Errorf("read parked rows and outbox backlog: %w", err)
	}
	b.OutboxOldest = time.Duration(oldest * float64(time.Second))
	return b, nil
}

// CaptureLag reads the watermarks, then per table the first upstream row after its watermark through the
// (update_time, id) index capture pages walk: one index probe per table, all in one round trip.
func (s *MetricsState) CaptureLag(ctx context.Context) (map[string]time.Duration, error) {
	marks, err := s.watermarks(ctx)
	if err != nil {
		return nil, err
	}
	batch := &pgx.Batch{}
	for _, k := range events.Catalogue {
		from, args := pgx.Identifier{k.Table}.Sanitize()+" t", []any{s.maxCommitDelay}
		if pos, ok := marks[k.Table]; ok {
			from, args = from+" WHERE (t.update_time, t.id) > ($2, $3)", append(args, pos.Time, pos.ID)
		}
		batch.Queue(`SELECT coalesce(extract(epoch FROM (now() - $1::interval) - min(update_time)), 0)::float8
			FROM (SELECT t.update_time FROM `+from+` ORDER BY t.update_time, t.id LIMIT 1) first`, args...)
	}
	results := s.upstream.SendBatch(ctx, batch)
	defer results.Close()
	lag := make(map[string]time.Duration, len(events.Catalogue))
	for _, k := range events.Catalogue {
		var seconds float64
		if err := results.QueryRow().Scan(&seconds); err != nil {
			return nil, fmt.Errorf("capture lag of %s: %w", k.Table, err)
		}
		lag[k.Table] = time.Duration(max(seconds, 0) * float64(time.Second))
	}
	return lag, nil
}

// watermarks reads every table's durable capture position at once; a table never captured is absent.
func (s *MetricsState) watermarks(ctx context.Context) (map[string]capture.Position, error) {
	rows, err := s.store.Query(ctx, `SELECT table_name, update_time, row_id FROM bridge.capture_watermark`)
	if err != nil {
		return nil, fmt.Errorf("read capture watermarks: %w", err)
	}
	marks := map[string]capture.Position{}
	var table string
	var pos capture.Position
	_, err = pgx.ForEachRow(rows, []any{&table, &pos.Time, &pos.ID}, func() error {
		marks[table] = pos
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read capture watermarks: %w", err)
	}
	return marks, nil
}
