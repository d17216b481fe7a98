package postgres

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/report"
)

// Reports reads the indicator report from the store: the bridge's logs and outbox, parking, quarantine,
// reconciliation, and the dedicated store's tables (ids, codes and times only).
type Reports struct {
	db     *pgxpool.Pool
	schema string
}

var _ report.Store = (*Reports)(nil)

// NewReports reads the dedicated store in schema.
func NewReports(db *pgxpool.Pool, schema string) *Reports { return &Reports{db: db, schema: schema} }

func (r *Reports) table(name string) string { return pgx.Identifier{r.schema, name}.Sanitize() }

// Capture sums the download log per table.
func (r *Reports) Capture(ctx context.Context, from, to time.Time) ([]report.CaptureLine, error) {
	rows, err := r.db.Query(ctx, `SELECT table_name, count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_published), 0), count(error)
		FROM bridge.download_log WHERE started_at >= $1 AND started_at < $2 GROUP BY 1 ORDER BY 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("sum the download log: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[report.CaptureLine])
	if err != nil {
		return nil, fmt.Errorf("sum the download log: %w", err)
	}
	return out, nil
}

// Flow counts the outbox's events per unit and table, and the rows the store holds now.
func (r *Reports) Flow(ctx context.Context, from, to time.Time) ([]report.FlowLine, error) {
	lines := map[[2]string]*report.FlowLine{}
	line := func(unit, table string) *report.FlowLine {
		k := [2]string{unit, table}
		if lines[k] == nil {
			lines[k] = &report.FlowLine{Unit: unit, Table: table}
		}
		return lines[k]
	}
	rows, err := r.db.Query(ctx, `SELECT unit_code, table_name,
			count(*) FILTER (WHERE created_at >= $1 AND created_at < $2 AND event_type NOT LIKE '%.removed'),
			count(*) FILTER (WHERE created_at >= $1 AND created_at < $2 AND event_type LIKE '%.removed'),
			count(*) FILTER (WHERE published_at >= $1 AND published_at < $2)
		FROM bridge.outbox
		WHERE (created_at >= $1 AND created_at < $2) OR (published_at >= $1 AND published_at < $2)
		GROUP BY 1, 2`, from, to)
	if err != nil {
		return nil, fmt.Errorf("count the outbox: %w", err)
	}
	var unit, table string
	var stored, removed, published int64
	_, err = pgx.ForEachRow(rows, []any{&unit, &table, &stored, &removed, &published}, func() error {
		l := line(unit, table)
		l.Stored, l.Removed, l.Published = stored, removed, published
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count the outbox: %w", err)
	}
	if err := r.decided(ctx, from, to, line); err != nil {
		return nil, err
	}
	for _, k := range events.Catalogue {
		rows, err := r.db.Query(ctx, `SELECT unit_code, count(*), count(*) FILTER (WHERE is_deleted) FROM `+r.table(k.Table)+` GROUP BY 1`)
		if err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", r.schema, k.Table, err)
		}
		var held, deleted int64
		_, err = pgx.ForEachRow(rows, []any{&unit, &held, &deleted}, func() error {
			l := line(unit, k.Table)
			l.Held, l.HeldDeleted = held, deleted
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", r.schema, k.Table, err)
		}
	}
	return sortedFlow(lines), nil
}

// decided counts the audit trail's decided hops of the period per unit and table: row versions captured and
// found to be the unit's (or broadcast).
func (r *Reports) decided(ctx context.Context, from, to time.Time, line func(unit, table string) *report.FlowLine) error {
	rows, err := r.db.Query(ctx, `SELECT unit_code, table_name, count(*) FROM bridge.audit_hop
		WHERE hop = $1 AND at >= $2 AND at < $3 AND unit_code IS NOT NULL AND unit_code NOT IN ($4, $5)
		GROUP BY 1, 2`, events.HopDecided, from, to, events.UnitNotWuhan, events.UnitParked)
	if err != nil {
		return fmt.Errorf("count decided hops: %w", err)
	}
	var unit, table string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&unit, &table, &n}, func() error {
		line(unit, table).Captured = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("count decided hops: %w", err)
	}
	return nil
}

func sortedFlow(lines map[[2]string]*report.FlowLine) []report.FlowLine {
	order := map[string]int{}
	for i, k := range events.Catalogue {
		order[k.Table] = i
	}
	keys := slices.SortedFunc(maps.Keys(lines), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(order[a[1]], order[b[1]]))
	})
	out := make([]report.FlowLine, 0, len(keys))
	for _, k := range keys {
		out = append(out, *lines[k])
	}
	return out
}

// Acknowledged counts per table the unit's events published in the period at an offset below the group's
// committed offset of their partition: those the group has read (its committed offset is the next it will read).
func (r *Reports) Acknowledged(ctx context.Context, unit string, committed map[int32]int64, from, to time.Time) (map[string]int64, error) {
	partitions := slices.Sorted(maps.Keys(committed))
	offsets := make([]int64, len(partitions))
	for i, p := range partitions {
		offsets[i] = committed[p]
	}
	rows, err := r.db.Query(ctx, `SELECT o.table_name, count(*)
		FROM bridge.outbox o JOIN unnest($4::int[], $5::bigint[]) AS c(p, next) ON o.kafka_partition = c.p AND o.kafka_offset < c.next
		WHERE o.unit_code = $1 AND o.published_at >= $2 AND o.published_at < $3
		GROUP BY 1`, unit, from, to, partitions, offsets)
	if err != nil {
		return nil, fmt.Errorf("count what unit %s acknowledged: %w", unit, err)
	}
	out := map[string]int64{}
	var table string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&table, &n}, func() error { out[table] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("count what unit %s acknowledged: %w", unit, err)
	}
	return out, nil
}

// WorkOrders counts the registrations registered in the period by unit, kind and status, with the labels of
// the dictionary's national entries (reg_kind, reg_status).
func (r *Reports) WorkOrders(ctx context.Context, from, to time.Time) ([]report.WorkOrderLine, error) {
	rows, err := r.db.Query(ctx, fmt.Sprintf(`WITH label AS (
			SELECT DISTINCT ON (dict_type, code) dict_type, code, label FROM %[2]s
			WHERE NOT is_deleted AND dict_type IN ('reg_kind', 'reg_status')
			ORDER BY dict_type, code, division_code NULLS FIRST)
		SELECT g.unit_code, g.kind, coalesce(k.label, ''), g.status, coalesce(s.label, ''), g.n
		FROM (SELECT unit_code, coalesce(kind::text, '') AS kind, coalesce(status, '') AS status, count(*) AS n
			FROM %[1]s WHERE NOT is_deleted AND registered_at >= $1 AND registered_at < $2 GROUP BY 1, 2, 3) g
		LEFT JOIN label k ON k.dict_type = 'reg_kind' AND k.code = g.kind
		LEFT JOIN label s ON s.dict_type = 'reg_status' AND s.code = g.status
		ORDER BY 1, 2, 4`, r.table(events.Registration), r.table(events.Dictionary)), from, to)
	if err != nil {
		return nil, fmt.Errorf("count work orders: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[report.WorkOrderLine])
	if err != nil {
		return nil, fmt.Errorf("count work orders: %w", err)
	}
	return out, nil
}
