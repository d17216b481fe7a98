package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/reconcile"
	"hotline-bridge/handlers/sort"
)

// rowDigest computes, in SQL, the event id capture gives the row version t (events.RowVersion.EventID): the
// first 16 bytes of sha256(table NUL id NUL update_time in Unix microseconds NUL the row as JSON), hex. The JSON
// is to_jsonb(t)::text, exactly what capture reads, on a session in UTC like capture's. $1 is the table name.
// The microseconds are built from whole seconds and the fraction, exact on every PostgreSQL version.
const rowDigest = `left(encode(sha256(convert_to($1::text, 'UTF8') || '\x00'::bytea || convert_to(t.id::text, 'UTF8')
	|| '\x00'::bytea || convert_to((extract(epoch FROM date_trunc('second', t.update_time))::bigint * 1000000
		+ extract(microseconds FROM t.update_time)::bigint % 1000000)::text, 'UTF8')
	|| '\x00'::bytea || convert_to(to_jsonb(t)::text, 'UTF8')), 'hex'), 32)`

// digestSum sums the digests' first 60 bits modulo reconcile.SummaryModulus, on either side.
func digestSum(column string) string {
	return fmt.Sprintf(`coalesce(sum(('x' || substr(%s, 1, 15))::bit(60)::bigint) %% %d, 0)::bigint`, column, uint64(reconcile.SummaryModulus))
}

// UpstreamCensus reads the national tables for source reconciliation: digests, never content, except for the
// rows to re-sort.
type UpstreamCensus struct {
	db     *pgxpool.Pool
	source *UpstreamSource
}

var _ reconcile.Upstream = (*UpstreamCensus)(nil)

// NewUpstreamCensus reads through db, the read-only connection to the national platform.
func NewUpstreamCensus(db *pgxpool.Pool) *UpstreamCensus {
	return &UpstreamCensus{db: db, source: NewUpstreamSource(db)}
}

// keysSQL is a keyset batch of the window along the (update_time, id) index capture reads by.
func keysSQL(table, columns string) string {
	return fmt.Sprintf(`SELECT %s FROM %s t
		WHERE t.update_time >= $2 AND t.update_time < $3 AND (t.update_time, t.id) > ($4, $5)
		ORDER BY t.update_time, t.id LIMIT $6`, columns, pgx.Identifier{table}.Sanitize())
}

// Summarize counts and sums one keyset batch of the window.
func (u *UpstreamCensus) Summarize(ctx context.Context, table string, w reconcile.Window, after reconcile.Key, limit int) (reconcile.Summary, reconcile.Key, error) {
	var s reconcile.Summary
	var lastTime *time.Time
	var lastID *string
	var sum int64
	err := u.db.QueryRow(ctx, `WITH c AS (`+keysSQL(table, `t.update_time, t.id, `+rowDigest+` AS d`)+`)
		SELECT count(*), `+digestSum("d")+`, (array_agg(update_time ORDER BY update_time DESC, id DESC))[1],
			(array_agg(id ORDER BY update_time DESC, id DESC))[1] FROM c`,
		table, w.From, w.To, after.UpdateTime, after.ID, limit).Scan(&s.Rows, &sum, &lastTime, &lastID)
	if err != nil {
		return s, reconcile.Key{}, fmt.Errorf("summarize upstream %s: %w", table, err)
	}
	s.Sum = uint64(sum)
	if lastTime == nil {
		return s, after, nil
	}
	return s, reconcile.Key{UpdateTime: *lastTime, ID: *lastID}, nil
}

// Keys reads one keyset batch of the window's row versions.
func (u *UpstreamCensus) Keys(ctx context.Context, table string, w reconcile.Window, after reconcile.Key, limit int) ([]reconcile.Key, error) {
	rows, err := u.db.Query(ctx, keysSQL(table, `t.update_time, t.id, `+rowDigest), table, w.From, w.To, after.UpdateTime, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("read upstream %s row versions: %w", table, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[reconcile.Key])
	if err != nil {
		return nil, fmt.Errorf("read upstream %s row versions: %w", table, err)
	}
	return keys, nil
}

// Families reads one keyset batch of the window's row versions, each with the work order it names.
func (u *UpstreamCensus) Families(ctx context.Context, table string, w reconcile.Window, after reconcile.Key, limit int) ([]reconcile.Member, error) {
	kind, ok := events.KindByTable(table)
	if !ok || kind.RegistrationColumn == "" {
		return nil, fmt.Errorf("read upstream %s families: the kind names no work order", table)
	}
	order := `coalesce(t.` + pgx.Identifier{kind.RegistrationColumn}.Sanitize() + `::text, '')`
	rows, err := u.db.Query(ctx, keysSQL(table, `t.update_time, t.id, `+rowDigest+`, `+order), table, w.From, w.To, after.UpdateTime, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("read upstream %s families: %w", table, err)
	}
	var out []reconcile.Member
	var m reconcile.Member
	if _, err := pgx.ForEachRow(rows, []any{&m.UpdateTime, &m.ID, &m.Digest, &m.WorkOrder}, func() error {
		out = append(out, m)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read upstream %s families: %w", table, err)
	}
	return out, nil
}

// Digests reads the current versions of these rows by primary key.
func (u *UpstreamCensus) Digests(ctx context.Context, table string, ids []string) (map[string]reconcile.Key, error) {
	rows, err := u.db.Query(ctx, fmt.Sprintf(`SELECT t.update_time, t.id, %s FROM %s t WHERE t.id = ANY($2)`,
		rowDigest, pgx.Identifier{table}.Sanitize()), table, ids)
	if err != nil {
		return nil, fmt.Errorf("read upstream %s versions of %d rows: %w", table, len(ids), err)
	}
	out := make(map[string]reconcile.Key, len(ids))
	var k reconcile.Key
	if _, err := pgx.ForEachRow(rows, []any{&k.UpdateTime, &k.ID, &k.Digest}, func() error {
		out[k.ID] = k
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read upstream %s versions of %d rows: %w", table, len(ids), err)
	}
	return out, nil
}

// Current reads these rows whole, as capture would.
func (u *UpstreamCensus) Current(ctx context.Context, table string, ids []string) ([]events.RowVersion, error) {
	return u.source.Referencing(ctx, table, "id", ids)
}

// SourceLedger is the sorter's ledger and the dedicated store, as source reconciliation compares them with the
// upstream.
type SourceLedger struct {
	db         *pgxpool.Pool
	schema     string
	watermarks *Watermarks
}

var _ reconcile.Ledger = (*SourceLedger)(nil)

// NewSourceLedger reads the ledger and the store in schema, both in db.
func NewSourceLedger(db *pgxpool.Pool, schema string) *SourceLedger {
	return &SourceLedger{db: db, schema: schema, watermarks: NewWatermarks(db)}
}

// Watermark is the table's durable capture watermark.
func (l *SourceLedger) Watermark(ctx context.Context, table string) (time.Time, bool, error) {
	pos, err := l.watermarks.Load(ctx, table)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read the capture watermark of %s: %w", table, err)
	}
	return pos.Time, !pos.IsZero(), nil
}

// Pruned looks for an hour of the window the ledger pruning took entries from.
func (l *SourceLedger) Pruned(ctx context.Context, table string, w reconcile.Window) (bool, error) {
	var pruned bool
	err := l.db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM bridge.ledger_pruned
		WHERE table_name = $1 AND hour < $3 AND hour + interval '1 hour' > $2)`, table, w.From, w.To).Scan(&pruned)
	if err != nil {
		return false, fmt.Errorf("read the ledger pruning of %s: %w", table, err)
	}
	return pruned, nil
}

// ledgerWindow selects a table's live entries in a window: tombstones of deleted rows are no row.
const ledgerWindow = `table_name = $1 AND update_time >= $2 AND update_time < $3 AND digest <> $4`

// Summarize counts and sums the window's entries.
func (l *SourceLedger) Summarize(ctx context.Context, table string, w reconcile.Window) (reconcile.Summary, error) {
	var s reconcile.Summary
	var sum int64
	err := l.db.QueryRow(ctx, `SELECT count(*), `+digestSum("digest")+` FROM bridge.row_state WHERE `+ledgerWindow,
		table, w.From, w.To, sort.DigestDeletedUpstream).Scan(&s.Rows, &sum)
	if err != nil {
		return s, fmt.Errorf("summarize the ledger of %s: %w", table, err)
	}
	s.Sum = uint64(sum)
	return s, nil
}

// Keys reads a keyset batch of the window's entries.
func (l *SourceLedger) Keys(ctx context.Context, table string, w reconcile.Window, after reconcile.Key, limit int, kept bool) ([]reconcile.Entry, error) {
	rows, err := l.db.Query(ctx, `SELECT update_time, id, digest, coalesce(unit_code, '') FROM bridge.row_state
		WHERE `+ledgerWindow+` AND (update_time, id) > ($5, $6) AND (NOT $8 OR unit_code IS NOT NULL OR NOT decided)
		ORDER BY update_time, id LIMIT $7`, table, w.From, w.To, sort.DigestDeletedUpstream, after.UpdateTime, after.ID, limit, kept)
	if err != nil {
		return nil, fmt.Errorf("read the ledger of %s: %w", table, err)
	}
	return collectEntries(rows, "read the ledger of "+table)
}

func collectEntries(rows pgx.Rows, what string) ([]reconcile.Entry, error) {
	var out []reconcile.Entry
	var e reconcile.Entry
	if _, err := pgx.ForEachRow(rows, []any{&e.UpdateTime, &e.ID, &e.Digest, &e.Unit}, func() error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// StoreGaps joins the window's entries that place a row in a unit with the store's rows, and the store's rows of
// the window with the ledger, both ways round. A parked entry names the version waiting, while the store keeps
// the one decided before it, so only decided entries are held to the store's update_time.
func (l *SourceLedger) StoreGaps(ctx context.Context, table string, w reconcile.Window, after string, limit int) ([]reconcile.Entry, error) {
	store := pgx.Identifier{l.schema, table}.Sanitize()
	rows, err := l.db.Query(ctx, `SELECT update_time, id, digest, unit FROM (
			SELECT l.update_time, l.id, l.digest, l.unit_code AS unit FROM bridge.row_state l LEFT JOIN `+store+` s ON s.id = l.id
			WHERE l.table_name = $1 AND l.update_time >= $2 AND l.update_time < $3 AND l.unit_code IS NOT NULL AND l.decided
				AND (s.id IS NULL OR s.unit_code IS DISTINCT FROM l.unit_code OR s.update_time <> l.update_time)
			UNION
			SELECT coalesce(l.update_time, s.update_time), s.id, coalesce(l.digest, ''), coalesce(l.unit_code, '')
			FROM `+store+` s LEFT JOIN bridge.row_state l ON l.table_name = $1 AND l.id = s.id
			WHERE s.update_time >= $2 AND s.update_time < $3 AND l.unit_code IS DISTINCT FROM s.unit_code) g
		WHERE id > $4 ORDER BY id LIMIT $5`, table, w.From, w.To, after, limit)
	if err != nil {
		return nil, fmt.Errorf("compare the ledger of %s with the store: %w", table, err)
	}
	return collectEntries(rows, "compare the ledger of "+table+" with the store")
}

// Units counts the store's rows of the window by unit.
func (l *SourceLedger) Units(ctx context.Context, table string, w reconcile.Window) (map[string]int64, error) {
	rows, err := l.db.Query(ctx, `SELECT unit_code, count(*) FROM `+pgx.Identifier{l.schema, table}.Sanitize()+`
		WHERE update_time >= $1 AND update_time < $2 GROUP BY unit_code`, w.From, w.To)
	if err != nil {
		return nil, fmt.Errorf("count the store's %s rows by unit: %w", table, err)
	}
	return collectCounts(rows, "count the store's "+table+" rows by unit")
}

func collectCounts(rows pgx.Rows, what string) (map[string]int64, error) {
	out := map[string]int64{}
	var unit string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&unit, &n}, func() error {
		out[unit] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Placements reads the units the ledger places these rows in.
func (l *SourceLedger) Placements(ctx context.Context, table string, ids []string) (map[string]string, error) {
	rows, err := l.db.Query(ctx, `SELECT id, unit_code FROM bridge.row_state
		WHERE table_name = $1 AND id = ANY($2) AND unit_code IS NOT NULL`, table, ids)
	if err != nil {
		return nil, fmt.Errorf("read the ledger's units of %d %s rows: %w", len(ids), table, err)
	}
	out := map[string]string{}
	var id, unit string
	if _, err := pgx.ForEachRow(rows, []any{&id, &unit}, func() error {
		out[id] = unit
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the ledger's units of %d %s rows: %w", len(ids), table, err)
	}
	return out, nil
}

// Versions reads the ledger's entries of these rows.
func (l *SourceLedger) Versions(ctx context.Context, table string, ids []string) (map[string]reconcile.Entry, error) {
	rows, err := l.db.Query(ctx, `SELECT update_time, id, digest, coalesce(unit_code, '') FROM bridge.row_state
		WHERE table_name = $1 AND id = ANY($2)`, table, ids)
	if err != nil {
		return nil, fmt.Errorf("read the ledger's versions of %d %s rows: %w", len(ids), table, err)
	}
	entries, err := collectEntries(rows, fmt.Sprintf("read the ledger's versions of %d %s rows", len(ids), table))
	if err != nil {
		return nil, err
	}
	out := make(map[string]reconcile.Entry, len(entries))
	for _, e := range entries {
		out[e.ID] = e
	}
	return out, nil
}

// Quarantined looks the row versions up in bridge.quarantine.
func (l *SourceLedger) Quarantined(ctx context.Context, eventIDs []string) (map[string]bool, error) {
	rows, err := l.db.Query(ctx, `SELECT DISTINCT event_id FROM bridge.quarantine WHERE event_id = ANY($1)`, eventIDs)
	if err != nil {
		return nil, fmt.Errorf("look up %d row versions in the quarantine: %w", len(eventIDs), err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up %d row versions in the quarantine: %w", len(eventIDs), err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
