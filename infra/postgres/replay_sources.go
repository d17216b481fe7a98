package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/replay"
	"hotline-bridge/handlers/sort"
)

// replayFilter renders a filter as the WHERE clause over table t of kind, whose registrations are in regs (the
// store's or the upstream's registration table); withUnit applies --unit to t.unit_code (the store's rows).
func replayFilter(kind events.Kind, f replay.Filter, regs string, withUnit bool, args *[]any) string {
	arg := func(v any) string {
		*args = append(*args, v)
		return fmt.Sprintf("$%d", len(*args))
	}
	conds := []string{"true"}
	if withUnit && len(f.Units) > 0 {
		conds = append(conds, "t.unit_code = ANY("+arg(f.Units)+")")
	}
	if f.Since != nil {
		conds = append(conds, "t.update_time >= "+arg(*f.Since))
	}
	if f.Until != nil {
		conds = append(conds, "t.update_time < "+arg(*f.Until))
	}
	if len(f.IDs) > 0 {
		conds = append(conds, "t.id = ANY("+arg(f.IDs)+")")
	}
	switch {
	case len(f.RegNos) == 0:
	case kind.WorkOrder:
		conds = append(conds, "t.reg_no = ANY("+arg(f.RegNos)+")")
	default:
		conds = append(conds, fmt.Sprintf("t.%s IN (SELECT r.id FROM %s r WHERE r.reg_no = ANY(%s))",
			pgx.Identifier{kind.RegistrationColumn}.Sanitize(), regs, arg(f.RegNos)))
	}
	return strings.Join(conds, " AND ")
}

// tableAfter is the kind after table among kinds, or "" after the last.
func tableAfter(kinds []events.Kind, table string) string {
	for i, k := range kinds {
		if k.Table == table && i+1 < len(kinds) {
			return kinds[i+1].Table
		}
	}
	return ""
}

// StoreReplay re-publishes what the dedicated store holds.
type StoreReplay struct {
	db     *pgxpool.Pool
	schema string
}

var _ replay.Republisher = (*StoreReplay)(nil)

// NewStoreReplay re-publishes the rows of the dedicated store in schema.
func NewStoreReplay(db *pgxpool.Pool, schema string) *StoreReplay {
	return &StoreReplay{db: db, schema: schema}
}

func (s *StoreReplay) table(name string) string { return pgx.Identifier{s.schema, name}.Sanitize() }

// Total is how many stored rows the filter selects.
func (s *StoreReplay) Total(ctx context.Context, f replay.Filter) (int64, error) {
	counts, err := s.Counts(ctx, f)
	var total int64
	for _, n := range counts {
		total += n
	}
	return total, err
}

// Counts is the stored rows the filter selects, by unit and table.
func (s *StoreReplay) Counts(ctx context.Context, f replay.Filter) (map[string]int64, error) {
	out := map[string]int64{}
	for _, k := range f.Kinds() {
		var args []any
		rows, err := s.db.Query(ctx, fmt.Sprintf(`SELECT t.unit_code, count(*) FROM %s t WHERE %s GROUP BY 1`,
			s.table(k.Table), replayFilter(k, f, s.table(events.Registration), true, &args)), args...)
		if err != nil {
			return nil, fmt.Errorf("count the stored %s rows to replay: %w", k.Table, err)
		}
		var unit string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&unit, &n}, func() error {
			out[replay.CountKey(unit, k.Table)] = n
			return nil
		}); err != nil {
			return nil, fmt.Errorf("count the stored %s rows to replay: %w", k.Table, err)
		}
	}
	return out, nil
}

// storeCheckpoint is where a store replay resumes: after row After of Table, in id order.
type storeCheckpoint struct {
	Table string `json:"table"`
	After string `json:"after"`
}

// Republish does one step of the job; a deadlock with a sorting batch is retried.
func (s *StoreReplay) Republish(ctx context.Context, job replay.Job, limit int) (replay.Step, string, error) {
	at := storeCheckpoint{}
	if job.Checkpoint != nil {
		if err := json.Unmarshal(job.Checkpoint, &at); err != nil {
			return replay.Step{}, "", fmt.Errorf("replay checkpoint: %w", err)
		}
	} else if kinds := job.Filter.Kinds(); len(kinds) > 0 {
		at.Table = kinds[0].Table
	}
	var step replay.Step
	var state string
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			step, state, err = s.republish(ctx, tx, job, at, limit)
			return err
		})
		if !isConflict(err) {
			break
		}
	}
	if err != nil {
		return replay.Step{}, "", fmt.Errorf("re-publish %s rows after %q: %w", at.Table, at.After, err)
	}
	return step, state, nil
}

// republish copies the latest event of each of the next rows as a fresh event, holding the row locks the sorter
// takes to decide them (the same advisory keys, in the same order): a sorting batch deciding one of them either
// committed first — then its event is the latest, and that is what is copied — or waits and writes its newer
// event after the copy. Rows that left the store or their unit meanwhile are skipped by the join. The job's
// checkpoint moves in the same transaction.
func (s *StoreReplay) republish(ctx context.Context, tx pgx.Tx, job replay.Job, at storeCheckpoint, limit int) (replay.Step, string, error) {
	kind, ok := events.KindByTable(at.Table)
	if !ok {
		state, err := advance(ctx, tx, job.ID, replay.Step{Checkpoint: job.Checkpoint, Last: true})
		return replay.Step{Checkpoint: job.Checkpoint, Last: true}, state, err
	}
	ids, err := s.nextIDs(ctx, tx, kind, job.Filter, at.After, limit)
	if err != nil {
		return replay.Step{}, "", err
	}
	step := replay.Step{Done: int64(len(ids)), Read: int64(len(ids)), Counts: map[string]int64{}}
	if len(ids) > 0 {
		if step.Sent, err = s.copyLatest(ctx, tx, kind.Table, ids, job.ID, step.Counts); err != nil {
			return replay.Step{}, "", err
		}
	}
	next := storeCheckpoint{Table: kind.Table}
	if len(ids) == limit {
		next.After = ids[len(ids)-1]
	} else {
		next.Table = tableAfter(job.Filter.Kinds(), kind.Table)
		step.Last = next.Table == ""
	}
	if step.Checkpoint, err = json.Marshal(next); err != nil {
		return replay.Step{}, "", err
	}
	state, err := advance(ctx, tx, job.ID, step)
	return step, state, err
}

func (s *StoreReplay) nextIDs(ctx context.Context, tx pgx.Tx, kind events.Kind, f replay.Filter, after string, limit int) ([]string, error) {
	args := []any{after, limit}
	where := replayFilter(kind, f, s.table(events.Registration), true, &args)
	rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT t.id FROM %s t WHERE t.id > $1 AND %s ORDER BY t.id LIMIT $2`,
		s.table(kind.Table), where), args...)
	if err != nil {
		return nil, fmt.Errorf("read the next rows: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s *StoreReplay) copyLatest(ctx context.Context, tx pgx.Tx, table string, ids []string, job int64, counts map[string]int64) (int64, error) {
	if err := lockRows(ctx, tx, table, ids); err != nil {
		return 0, fmt.Errorf("lock the rows: %w", err)
	}
	rows, err := tx.Query(ctx, fmt.Sprintf(`INSERT INTO bridge.outbox (seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
		SELECT f.fresh, md5('replay:' || $3::bigint || ':' || f.event_id || ':' || f.fresh), f.unit_code, f.event_type,
			f.table_name, f.row_id, f.record_key, f.row_time, f.payload
		FROM (SELECT nextval('bridge.outbox_seq_seq') AS fresh, l.* FROM (
				SELECT * FROM (SELECT DISTINCT ON (o.row_id) o.* FROM %s t
					JOIN bridge.outbox o ON o.unit_code = t.unit_code AND o.table_name = $1 AND o.row_id = t.id
					WHERE t.id = ANY($2) ORDER BY o.row_id, o.seq DESC) latest
				WHERE latest.event_type NOT LIKE '%%.removed' ORDER BY latest.seq) l) f
		ORDER BY f.fresh
		RETURNING unit_code`, s.table(table)), table, ids, job)
	if err != nil {
		return 0, fmt.Errorf("copy the latest events: %w", err)
	}
	var sent int64
	var unit string
	if _, err := pgx.ForEachRow(rows, []any{&unit}, func() error {
		sent++
		counts[replay.CountKey(unit, table)]++
		return nil
	}); err != nil {
		return 0, fmt.Errorf("copy the latest events: %w", err)
	}
	return sent, nil
}

// UpstreamReplay reads the national rows a filter selects, in keyset batches by (update_time, id), table by
// table in the catalogue's dependency order.
type UpstreamReplay struct{ db *pgxpool.Pool }

var _ replay.Reader = (*UpstreamReplay)(nil)

// NewUpstreamReplay reads through db, a read-only connection to the national platform.
func NewUpstreamReplay(db *pgxpool.Pool) *UpstreamReplay { return &UpstreamReplay{db: db} }

// Total is how many national rows the filter selects (--unit aside, which the ledger answers row by row).
func (u *UpstreamReplay) Total(ctx context.Context, f replay.Filter) (int64, error) {
	var total int64
	for _, k := range f.Kinds() {
		var args []any
		var n int64
		err := u.db.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s t WHERE %s`, pgx.Identifier{k.Table}.Sanitize(),
			replayFilter(k, f, events.Registration, false, &args)), args...).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("count the upstream %s rows to replay: %w", k.Table, err)
		}
		total += n
	}
	return total, nil
}

// upstreamCheckpoint is where an upstream replay resumes: after (Time, ID) in Table.
type upstreamCheckpoint struct {
	Table string     `json:"table"`
	Time  *time.Time `json:"time,omitempty"`
	ID    string     `json:"id,omitempty"`
}

// Open reads from the checkpoint, or from the first selected table's start.
func (u *UpstreamReplay) Open(_ context.Context, f replay.Filter, checkpoint json.RawMessage) (replay.Cursor, error) {
	c := &upstreamCursor{db: u.db, filter: f, kinds: f.Kinds()}
	if checkpoint != nil {
		if err := json.Unmarshal(checkpoint, &c.at); err != nil {
			return nil, fmt.Errorf("replay checkpoint: %w", err)
		}
	} else if len(c.kinds) > 0 {
		c.at.Table = c.kinds[0].Table
	}
	return c, nil
}

type upstreamCursor struct {
	db     *pgxpool.Pool
	filter replay.Filter
	kinds  []events.Kind
	at     upstreamCheckpoint
}

func (c *upstreamCursor) Close() {}

// Next reads the next keyset page of the current table.
func (c *upstreamCursor) Next(ctx context.Context, limit int) (replay.Batch, error) {
	kind, ok := events.KindByTable(c.at.Table)
	if !ok {
		cp, err := json.Marshal(c.at)
		return replay.Batch{Checkpoint: cp, Last: true}, err
	}
	args := []any{limit}
	where := replayFilter(kind, c.filter, events.Registration, false, &args)
	if c.at.Time != nil {
		args = append(args, *c.at.Time, c.at.ID)
		where += fmt.Sprintf(" AND (t.update_time, t.id) > ($%d, $%d)", len(args)-1, len(args))
	}
	rows, err := c.db.Query(ctx, fmt.Sprintf(`SELECT $%d::text, t.id, t.update_time, to_jsonb(t)::text FROM %s t
		WHERE %s ORDER BY t.update_time, t.id LIMIT $1`, len(args)+1, pgx.Identifier{kind.Table}.Sanitize(), where), append(args, kind.Table)...)
	if err != nil {
		return replay.Batch{}, fmt.Errorf("read upstream %s rows to replay: %w", kind.Table, err)
	}
	page, err := collectVersions(rows)
	if err != nil {
		return replay.Batch{}, fmt.Errorf("read upstream %s rows to replay: %w", kind.Table, err)
	}
	if len(page) == limit {
		last := page[len(page)-1]
		c.at.Time, c.at.ID = &last.UpdateTime, last.ID
	} else {
		c.at = upstreamCheckpoint{Table: tableAfter(c.kinds, kind.Table)}
	}
	cp, err := json.Marshal(c.at)
	return replay.Batch{Rows: page, Checkpoint: cp, Done: int64(len(page)), Last: c.at.Table == ""}, err
}

// LedgerUnits answers which unit the ledger places rows in.
type LedgerUnits struct{ db *pgxpool.Pool }

var _ replay.Ledger = (*LedgerUnits)(nil)

// NewLedgerUnits reads the ledger in db.
func NewLedgerUnits(db *pgxpool.Pool) *LedgerUnits { return &LedgerUnits{db: db} }

// Units reads the rows' units in one query; a row in no unit, or unknown, is absent.
// (One probe per key: see storeTx.Ledger for the LIMIT.)
func (l *LedgerUnits) Units(ctx context.Context, refs []sort.Ref) (map[sort.Ref]string, error) {
	tables, ids := refColumns(refs)
	rows, err := l.db.Query(ctx, `SELECT s.table_name, s.id, s.unit_code
		FROM unnest($1::text[], $2::text[]) AS k(table_name, id)
		CROSS JOIN LATERAL (SELECT * FROM bridge.row_state r WHERE r.table_name = k.table_name AND r.id = k.id LIMIT 1) s
		WHERE s.unit_code IS NOT NULL`, tables, ids)
	if err != nil {
		return nil, fmt.Errorf("read the units of %d rows: %w", len(refs), err)
	}
	out := map[sort.Ref]string{}
	var r sort.Ref
	var unit string
	if _, err := pgx.ForEachRow(rows, []any{&r.Table, &r.ID, &unit}, func() error {
		out[r] = unit
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the units of %d rows: %w", len(refs), err)
	}
	return out, nil
}
