package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
)

// CaptureBacklog counts the upstream rows after each table's durable watermark: what a catch-up has ahead of it.
// It reads the (update_time, id) index the capture pages walk, once per table.
func CaptureBacklog(ctx context.Context, upstream, store *pgxpool.Pool) (int64, error) {
	marks := NewWatermarks(store)
	var total int64
	for _, k := range events.Catalogue {
		pos, err := marks.Load(ctx, k.Table)
		if err != nil {
			return total, fmt.Errorf("capture backlog of %s: %w", k.Table, err)
		}
		from := pgx.Identifier{k.Table}.Sanitize()
		sql, args := `SELECT count(*) FROM `+from, []any{}
		if !pos.IsZero() {
			sql, args = sql+` t WHERE (t.update_time, t.id) > ($1, $2)`, []any{pos.Time, pos.ID}
		}
		var n int64
		if err := upstream.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			return total, fmt.Errorf("capture backlog of %s: %w", k.Table, err)
		}
		total += n
	}
	return total, nil
}

// OutboxBacklog counts the distribution events committed and not yet on the broker.
func OutboxBacklog(ctx context.Context, store *pgxpool.Pool) (int64, error) {
	var n int64
	err := store.QueryRow(ctx, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("outbox backlog: %w", err)
	}
	return n, nil
}
