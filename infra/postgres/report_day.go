package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ClaimReportDay writes a day's report once across every bridge instance: it claims the day in
// bridge.report_day and runs write inside the claiming transaction. Another instance claiming the same day
// waits for that transaction, then finds the day taken; a write that fails rolls the claim back, so the next
// attempt (of any instance) writes it. It reports whether this call wrote the report.
func (r *Reports) ClaimReportDay(ctx context.Context, day, dir string, write func(context.Context) error) (bool, error) {
	written := false
	err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bridge.report_day (day, dir) VALUES ($1::date, $2) ON CONFLICT (day) DO NOTHING`, day, dir)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := write(ctx); err != nil {
			return err
		}
		written = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("daily report of %s: %w", day, err)
	}
	return written, nil
}
