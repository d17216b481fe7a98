package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/reconcile"
)

// ReconcileRuns serialises reconciliation runs across instances and records them (bridge.reconcile_run,
// bridge.reconcile_finding).
type ReconcileRuns struct{ db *pgxpool.Pool }

var _ reconcile.Runs = (*ReconcileRuns)(nil)

// NewReconcileRuns records runs in db, the bridge's own database.
func NewReconcileRuns(db *pgxpool.Pool) *ReconcileRuns { return &ReconcileRuns{db: db} }

const reconcileLock = `hashtext('hotline-bridge reconcile')`

// Exclusive holds a session advisory lock for the run: it goes with the session if the instance dies, so a
// crashed run never blocks the next.
func (r *ReconcileRuns) Exclusive(ctx context.Context, wait bool, fn func(context.Context) error) (bool, error) {
	return exclusive(ctx, r.db, "reconciliation", reconcileLock, wait, fn)
}

func wrapNonNil(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// LastRepairing is when the last run that was not a dry run started.
func (r *ReconcileRuns) LastRepairing(ctx context.Context) (time.Time, error) {
	var at *time.Time
	if err := r.db.QueryRow(ctx, `SELECT max(started_at) FROM bridge.reconcile_run WHERE NOT dry_run`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read the last reconciliation run: %w", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// Begin records a run as started.
func (r *ReconcileRuns) Begin(ctx context.Context, run reconcile.Run) (int64, error) {
	var id int64
	err := r.db.QueryRow(ctx, `INSERT INTO bridge.reconcile_run (trigger, checks, dry_run) VALUES ($1, $2, $3) RETURNING id`,
		run.Trigger, run.Checks, run.DryRun).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record a reconciliation run: %w", err)
	}
	return id, nil
}

// Finish records the run's findings and outcome in one transaction.
func (r *ReconcileRuns) Finish(ctx context.Context, id int64, report reconcile.Report, failure error) error {
	outcome, errText := report.Outcome(), (*string)(nil)
	if failure != nil {
		outcome, errText = reconcile.OutcomeFailed, new(failure.Error())
	}
	var missing, repaired int64
	for _, f := range report.Findings {
		if f.Subject == reconcile.SubjectUnit || f.Subject == reconcile.SubjectTable {
			missing, repaired = missing+f.Missing, repaired+f.Repaired
		}
	}
	err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
		if err := insertFindings(ctx, tx, id, report.Findings); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE bridge.reconcile_run SET finished_at = clock_timestamp(), outcome = $2, missing = $3,
			repaired = $4, error = $5 WHERE id = $1`, id, outcome, missing, repaired, errText)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the findings of reconciliation run %d: %w", id, err)
	}
	return nil
}

func insertFindings(ctx context.Context, tx pgx.Tx, run int64, findings []reconcile.Finding) error {
	rows := make([][]any, len(findings))
	for i, f := range findings {
		rows[i] = []any{run, i + 1, f.Check, f.Subject, orNull(f.Unit), orNull(f.Table), orNull(f.Topic), f.Partition,
			orNull(f.Group), f.Expected, f.Found, f.Pending, f.Missing, f.Repaired, orNull(f.Detail),
			timeOrNull(f.Window.From), timeOrNull(f.Window.To)}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"bridge", "reconcile_finding"}, []string{"run_id", "n", "check_name", "subject",
		"unit_code", "table_name", "topic", "kafka_partition", "group_id", "expected", "found", "pending", "missing", "repaired", "detail",
		"window_start", "window_end"},
		pgx.CopyFromRows(rows))
	return err
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// DeliveryOutbox is the distribution outbox as the delivery check reads and repairs it.
type DeliveryOutbox struct{ db *pgxpool.Pool }

var _ reconcile.Outbox = (*DeliveryOutbox)(nil)

// NewDeliveryOutbox reads and repairs the outbox in db.
func NewDeliveryOutbox(db *pgxpool.Pool) *DeliveryOutbox { return &DeliveryOutbox{db: db} }

// Latest walks the unit's rows along outbox_unit_row_idx, one latest event each.
func (o *DeliveryOutbox) Latest(ctx context.Context, unit string, fn func(reconcile.Event) error) error {
	rows, err := o.db.Query(ctx, `SELECT DISTINCT ON (table_name, row_id) seq, table_name, row_id, event_type,
			published_at IS NOT NULL, coalesce(published_at, '0001-01-01 00:00:00+00'), coalesce(kafka_partition, -1), coalesce(kafka_offset, -1)
		FROM bridge.outbox WHERE unit_code = $1 ORDER BY table_name, row_id, seq DESC`, unit)
	if err != nil {
		return fmt.Errorf("read the latest events of unit %s: %w", unit, err)
	}
	var e reconcile.Event
	_, err = pgx.ForEachRow(rows, []any{&e.Seq, &e.Table, &e.RowID, &e.Type, &e.Published, &e.PublishedAt, &e.Partition, &e.Offset}, func() error {
		return fn(e)
	})
	if err != nil {
		return fmt.Errorf("read the latest events of unit %s: %w", unit, err)
	}
	return nil
}

// Rewinds compares each published event's offset with the one published just before it on its partition.
func (o *DeliveryOutbox) Rewinds(ctx context.Context, unit string) (map[int32][]reconcile.Rewind, error) {
	rows, err := o.db.Query(ctx, `SELECT kafka_partition, seq, published_at, kafka_offset FROM (
			SELECT kafka_partition, seq, published_at, kafka_offset,
				lag(kafka_offset) OVER (PARTITION BY kafka_partition ORDER BY published_at, seq) AS previous
			FROM bridge.outbox WHERE unit_code = $1 AND published_at IS NOT NULL) o
		WHERE kafka_offset <= previous ORDER BY kafka_partition, published_at, seq`, unit)
	if err != nil {
		return nil, fmt.Errorf("read the rewinds of unit %s: %w", unit, err)
	}
	out := map[int32][]reconcile.Rewind{}
	var p int32
	var r reconcile.Rewind
	if _, err := pgx.ForEachRow(rows, []any{&p, &r.Seq, &r.PublishedAt, &r.Offset}, func() error {
		out[p] = append(out[p], r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the rewinds of unit %s: %w", unit, err)
	}
	return out, nil
}

// Resend locks the rows exactly as the sorter locks rows it decides (the same advisory keys, in the same
// order), so a sorting batch deciding one of them either committed before — then its newer event is found and
// the old one skipped — or waits and writes its event after the fresh one. The fresh event takes the next seq
// and a ce_id of its own, scoped by the run. A deadlock with a sorting batch is retried.
func (o *DeliveryOutbox) Resend(ctx context.Context, run int64, seqs []int64) (int, error) {
	var written int
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if written, err = o.resend(ctx, run, seqs); !isConflict(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("re-send %d events: %w", len(seqs), err)
	}
	return written, nil
}

func (o *DeliveryOutbox) resend(ctx context.Context, run int64, seqs []int64) (int, error) {
	var written int64
	err := pgx.BeginFunc(ctx, o.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(h)) FROM (
				SELECT DISTINCT hashtextextended(o.table_name || ':' || o.row_id, 0) AS h
				FROM bridge.outbox o WHERE o.seq = ANY($1) ORDER BY 1) s`, seqs); err != nil {
			return fmt.Errorf("lock the rows: %w", err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO bridge.outbox (seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
			SELECT f.fresh, md5('reconcile:' || $2::bigint || ':' || f.event_id || ':' || f.fresh), f.unit_code, f.event_type,
				f.table_name, f.row_id, f.record_key, f.row_time, f.payload
			FROM (SELECT nextval('bridge.outbox_seq_seq') AS fresh, l.* FROM (
					SELECT o.* FROM bridge.outbox o
					WHERE o.seq = ANY($1) AND NOT EXISTS (SELECT FROM bridge.outbox n
						WHERE n.unit_code = o.unit_code AND n.table_name = o.table_name AND n.row_id = o.row_id AND n.seq > o.seq)
					ORDER BY o.seq) l) f
			ORDER BY f.fresh`, seqs, run)
		written = tag.RowsAffected()
		return err
	})
	return int(written), err
}
