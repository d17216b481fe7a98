package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// tableSQL holds one dedicated-store table's statements, built once from its actual columns.
type tableSQL struct {
	upsert string
	remove string
}

func prepareTable(ctx context.Context, db *pgxpool.Pool, schema, table string) (tableSQL, error) {
	rows, err := db.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	if err != nil {
		return tableSQL{}, fmt.Errorf("read columns of %s.%s: %w", schema, table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		return tableSQL{}, fmt.Errorf("dedicated store table %s.%s is missing (run bridge migrate): %v", schema, table, err)
	}
	name := pgx.Identifier{schema, table}.Sanitize()
	quoted, sets := make([]string, len(cols)), make([]string, 0, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
		if c != "id" {
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", quoted[i], quoted[i]))
		}
	}
	list := strings.Join(quoted, ", ")
	// jsonb_populate_record maps the captured JSON onto the table's typed columns by name; a value the type
	// refuses raises a data error, which becomes a quarantine reason.
	return tableSQL{
		upsert: fmt.Sprintf(`INSERT INTO %[1]s AS t (%[2]s) SELECT %[2]s FROM jsonb_populate_record(null::%[1]s, $1::jsonb || jsonb_build_object('unit_code', $2::text))
			ON CONFLICT (id) DO UPDATE SET %[3]s WHERE t.update_time <= excluded.update_time`, name, list, strings.Join(sets, ", ")),
		remove: fmt.Sprintf(`DELETE FROM %s WHERE id = $1`, name),
	}, nil
}

// Put stores the version in unit; a move between units also tells the old unit the row left. It sends at once,
// so that a value the store refuses is blamed on this row.
func (t *storeTx) Put(ctx context.Context, kind events.Kind, v events.RowVersion, row map[string]any, to, from sort.Placement) error {
	t.later("open savepoint", "SAVEPOINT put")
	t.later("store "+kind.Table+" "+v.ID, t.store.tables[kind.Table].upsert, v.Payload, to.Unit)
	t.later("release savepoint", "RELEASE SAVEPOINT put")
	if from.Unit != "" && from.Unit != to.Unit {
		t.recordRemoval(kind, v, from)
	}
	eventType := events.EventUpserted
	if deleted, _ := row["is_deleted"].(bool); deleted {
		eventType = events.EventDeleted
	}
	t.emit(kind, v, to, eventType, string(v.Payload))
	err := t.send(ctx)
	if err != nil && isDataError(err) {
		// The savepoint keeps the transaction usable: the caller quarantines this row and goes on.
		if _, rbErr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT put"); rbErr != nil {
			return fmt.Errorf("store %s %s: %s (and rolling back: %w)", kind.Table, v.ID, withoutValues(err), rbErr)
		}
		return fmt.Errorf("store %s %s: %s: %w", kind.Table, v.ID, withoutValues(err), sort.ErrUnstorable)
	}
	return err
}

// Remove takes the row out of the dedicated store; the removal itself is kept in bridge.removal.
func (t *storeTx) Remove(_ context.Context, kind events.Kind, v events.RowVersion, from sort.Placement) error {
	t.later("remove "+kind.Table+" "+v.ID, t.store.tables[kind.Table].remove, v.ID)
	t.recordRemoval(kind, v, from)
	return nil
}

// recordRemoval keeps the fact that the row left a unit and tells the unit, under the key its events there carry.
func (t *storeTx) recordRemoval(kind events.Kind, v events.RowVersion, from sort.Placement) {
	t.later(fmt.Sprintf("record removal of %s %s from %s", kind.Table, v.ID, from.Unit),
		`INSERT INTO bridge.removal (table_name, row_id, unit_code, update_time) VALUES ($1, $2, $3, $4)`,
		kind.Table, v.ID, from.Unit, v.UpdateTime)
	payload, _ := json.Marshal(map[string]string{"id": v.ID, "unit_code": from.Unit})
	t.emit(kind, v, from, events.EventRemoved, string(payload))
}

// emit queues a distribution event into the outbox, in this transaction.
func (t *storeTx) emit(kind events.Kind, v events.RowVersion, at sort.Placement, eventType, payload string) {
	t.later(fmt.Sprintf("write %s event of %s %s to the outbox", eventType, kind.Table, v.ID),
		`WITH next AS (SELECT nextval(pg_get_serial_sequence('bridge.outbox', 'seq')) AS seq)
		INSERT INTO bridge.outbox (seq, event_id, unit_code, event_type, table_name, row_id, record_key, row_time, payload)
		SELECT next.seq, md5($1 || ':' || next.seq), $2, $3, $4, $5, $6, $7, $8 FROM next`,
		distributionScope(v, at.Unit, eventType), at.Unit, kind.Table+"."+eventType, kind.Table, v.ID, at.Key, v.UpdateTime, payload)
}

// distributionScope names the change; the outbox row's sequence number completes it into the ce_id. So an event
// re-sent after a failure keeps its ce_id (consumers dedupe on it), while the same row version sent to the same
// unit again later — a work order forwarded A → B → A — is a new event with a new ce_id, which no consumer may
// mistake for a duplicate.
func distributionScope(v events.RowVersion, unit, eventType string) string {
	return v.EventID() + ":" + unit + ":" + eventType
}

// quotedValue matches the offending value PostgreSQL quotes in a data error, e.g. `invalid input syntax for type
// numeric: "abc"`; it may be personal data, and the reason travels to logs and reports.
var quotedValue = regexp.MustCompile(`: ".*"`)

// withoutValues renders a data error by its class and message, without the value that caused it.
func withoutValues(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return "value refused by the store"
	}
	return fmt.Sprintf("%s (SQLSTATE %s)", quotedValue.ReplaceAllString(pgErr.Message, ""), pgErr.Code)
}
