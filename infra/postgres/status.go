package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/inspect"
	"hotline-bridge/handlers/status"
)

// StatusPage reads what the status page shows: inspection's readings, the flow per unit from the distribution
// log, and the newest inspection kept.
type StatusPage struct {
	*Inspection
}

var _ status.Store = StatusPage{}

// NewStatusPage reads the store, and the upstream for the capture lag.
func NewStatusPage(store, upstream *pgxpool.Pool, maxCommitDelay time.Duration) StatusPage {
	return StatusPage{NewInspection(store, upstream, maxCommitDelay)}
}

// Flow sums the distribution log's successful sends per unit since hour and since day, with each unit's last send
// (found through the log's index on unit and time, however long ago it was).
func (s StatusPage) Flow(ctx context.Context, units []string, hour, day time.Time) (map[string]status.UnitFlow, error) {
	rows, err := s.store.Query(ctx, `SELECT u,
			coalesce((SELECT sum(events) FROM bridge.distribution_log d
				WHERE d.unit_code = u AND d.started_at >= $2 AND d.error IS NULL), 0)::bigint,
			coalesce((SELECT sum(events) FROM bridge.distribution_log d
				WHERE d.unit_code = u AND d.started_at >= $3 AND d.error IS NULL), 0)::bigint,
			(SELECT max(finished_at) FROM bridge.distribution_log d WHERE d.unit_code = u AND d.error IS NULL)
		FROM unnest($1::text[]) AS u`, units, hour, day)
	if err != nil {
		return nil, fmt.Errorf("read the flow per unit: %w", err)
	}
	out := map[string]status.UnitFlow{}
	var f status.UnitFlow
	if _, err := pgx.ForEachRow(rows, []any{&f.Unit, &f.LastHour, &f.LastDay, &f.LastSent}, func() error {
		out[f.Unit] = f
		f.LastSent = nil
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the flow per unit: %w", err)
	}
	return out, nil
}

// LastInspection is the newest inspection kept, nil when none was.
func (s StatusPage) LastInspection(ctx context.Context) (*inspect.Report, error) {
	r, ok, err := LatestInspection(ctx, s.store)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}
