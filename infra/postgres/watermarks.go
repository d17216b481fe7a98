package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/capture"
)

// Watermarks keeps capture positions in the bridge's own schema.
type Watermarks struct{ db *pgxpool.Pool }

var _ capture.Watermarks = (*Watermarks)(nil)

// NewWatermarks stores positions through db, the bridge's own database.
func NewWatermarks(db *pgxpool.Pool) *Watermarks { return &Watermarks{db: db} }

// Load returns the zero Position for a table never captured.
func (w *Watermarks) Load(ctx context.Context, table string) (capture.Position, error) {
	var pos capture.Position
	err := w.db.QueryRow(ctx,
		`SELECT update_time, row_id FROM bridge.capture_watermark WHERE table_name = $1`, table).Scan(&pos.Time, &pos.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return capture.Position{}, nil
	}
	if err != nil {
		return capture.Position{}, fmt.Errorf("query watermark: %w", err)
	}
	return pos, nil
}

// Save records a position; it never moves a watermark backwards, so a stale poller cannot rewind another's.
func (w *Watermarks) Save(ctx context.Context, table string, pos capture.Position) error {
	_, err := w.db.Exec(ctx, `
		INSERT INTO bridge.capture_watermark (table_name, update_time, row_id, saved_at)
		VALUES ($1, $2, $3, now())
		ON CONFLICT (table_name) DO UPDATE SET update_time = excluded.update_time, row_id = excluded.row_id, saved_at = now()
		WHERE (bridge.capture_watermark.update_time, bridge.capture_watermark.row_id) < (excluded.update_time, excluded.row_id)`,
		table, pos.Time, pos.ID)
	return err
}
