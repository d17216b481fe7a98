package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
)

// UpstreamSource reads the national tables. It selects whole rows as JSON, so columns the national platform adds
// later are carried without a code change.
type UpstreamSource struct{ db *pgxpool.Pool }

var _ capture.Source = (*UpstreamSource)(nil)

// NewUpstreamSource reads through db, a read-only connection to the national platform.
func NewUpstreamSource(db *pgxpool.Pool) *UpstreamSource { return &UpstreamSource{db: db} }

// Now is the upstream's own clock.
func (s *UpstreamSource) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	err := s.db.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&now)
	return now, err
}

// ReadPage is a keyset page over the (update_time, id) index: cost per page stays flat however deep the backlog.
func (s *UpstreamSource) ReadPage(ctx context.Context, table string, after capture.Position, limit int) ([]events.RowVersion, error) {
	rows, err := s.query(ctx, table, after, limit)
	if err != nil {
		return nil, err
	}
	page := make([]events.RowVersion, 0, limit)
	for rows.Next() {
		v := events.RowVersion{Table: table}
		if err := rows.Scan(&v.ID, &v.UpdateTime, &v.Payload); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan %s row: %w", table, err)
		}
		page = append(page, v)
	}
	return page, rows.Err()
}

func (s *UpstreamSource) query(ctx context.Context, table string, after capture.Position, limit int) (pgx.Rows, error) {
	from := pgx.Identifier{table}.Sanitize()
	if after.IsZero() {
		return s.db.Query(ctx, fmt.Sprintf(
			`SELECT t.id, t.update_time, to_jsonb(t)::text FROM %s t ORDER BY t.update_time, t.id LIMIT $1`, from), limit)
	}
	return s.db.Query(ctx, fmt.Sprintf(
		`SELECT t.id, t.update_time, to_jsonb(t)::text FROM %s t
		 WHERE (t.update_time, t.id) > ($1, $2) ORDER BY t.update_time, t.id LIMIT $3`, from),
		after.Time, after.ID, limit)
}

// Referencing returns the current rows of table whose column holds one of ids: a family brought into a unit.
func (s *UpstreamSource) Referencing(ctx context.Context, table, column string, ids []string) ([]events.RowVersion, error) {
	rows, err := s.db.Query(ctx, fmt.Sprintf(`SELECT $2::text, t.id, t.update_time, to_jsonb(t)::text FROM %s t WHERE t.%s = ANY($1)`,
		pgx.Identifier{table}.Sanitize(), pgx.Identifier{column}.Sanitize()), ids, table)
	if err != nil {
		return nil, fmt.Errorf("read %s rows by %s: %w", table, column, err)
	}
	return collectVersions(rows)
}

var _ sort.Upstream = (*UpstreamSource)(nil)
