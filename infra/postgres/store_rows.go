package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/sort"
)

// tableSQL holds one dedicated-store table's statements, built once from its actual columns.
type tableSQL struct {
	upsert string // $1 payloads, $2 units: many rows at once
	remove string // $1 ids
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
		upsert: fmt.Sprintf(`INSERT INTO %[1]s AS t (%[2]s)
			SELECT r.* FROM unnest($1::text[], $2::text[]) AS x(p, u),
				jsonb_populate_record(null::%[1]s, x.p::jsonb || jsonb_build_object('unit_code', x.u)) AS r
			ON CONFLICT (id) DO UPDATE SET %[3]s WHERE t.update_time <= excluded.update_time`, name, list, strings.Join(sets, ", ")),
		remove: fmt.Sprintf(`DELETE FROM %s WHERE id = ANY($1)`, name),
	}, nil
}

// storeRows writes the batch's final store rows, table by table, under a savepoint: a value a column type
// refuses fails the whole statement, and the savepoint keeps the transaction usable to find which rows did.
func (t *storeTx) storeRows(ctx context.Context, rows []sort.StoreRow, seal Sealer) error {
	byTable := map[string][]sort.StoreRow{}
	for _, r := range rows {
		byTable[r.Table] = append(byTable[r.Table], r)
	}
	var b pgx.Batch
	b.Queue("SAVEPOINT store_rows")
	for table, rs := range byTable {
		queueTableRows(&b, t.store.tables[table], table, rs, seal)
	}
	b.Queue("RELEASE SAVEPOINT store_rows")
	err := t.tx.SendBatch(ctx, &b).Close()
	if err == nil || !isDataError(err) {
		return err
	}
	if _, rbErr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT store_rows"); rbErr != nil {
		return fmt.Errorf("store rows: %s (and rolling back: %w)", withoutValues(err), rbErr)
	}
	return t.findUnstorable(ctx, byTable)
}

// queueTableRows upserts a table's rows with their personal fields sealed: jsonb_populate_record then puts each
// sealed value into its text column.
func queueTableRows(b *pgx.Batch, sql tableSQL, table string, rows []sort.StoreRow, seal Sealer) {
	var payloads, units, deleted []string
	for _, r := range rows {
		if r.Delete {
			deleted = append(deleted, r.ID)
		} else {
			payloads, units = append(payloads, string(seal.Seal(table, r.Payload))), append(units, r.Unit)
		}
	}
	if len(payloads) > 0 {
		b.Queue(sql.upsert, payloads, units).Fn = failure("store %d %s rows", len(payloads), table)
	}
	if len(deleted) > 0 {
		b.Queue(sql.remove, deleted).Fn = failure("remove %d %s rows", len(deleted), table)
	}
}

// findUnstorable stores the rows one by one, each under its own savepoint, to name every row the store refuses
// and why; the transaction is given up afterwards (the batch is decided again without those rows).
func (t *storeTx) findUnstorable(ctx context.Context, byTable map[string][]sort.StoreRow) error {
	refused := &sort.UnstorableError{Reasons: map[string]string{}}
	for table, rows := range byTable {
		for _, r := range rows {
			if r.Delete {
				continue
			}
			if err := t.storeOne(ctx, table, r); isDataError(err) {
				refused.Reasons[r.EventID] = fmt.Sprintf("store %s %s: %s: value does not fit the store's column type", table, r.ID, withoutValues(err))
			} else if err != nil {
				return err
			}
		}
	}
	if len(refused.Reasons) == 0 {
		return errors.New("store rows: the store refused a batch but no row of it alone")
	}
	return refused
}

func (t *storeTx) storeOne(ctx context.Context, table string, r sort.StoreRow) error {
	var b pgx.Batch
	b.Queue("SAVEPOINT store_one")
	b.Queue(t.store.tables[table].upsert, []string{string(t.store.seal.Seal(table, r.Payload))}, []string{r.Unit})
	b.Queue("RELEASE SAVEPOINT store_one")
	err := t.tx.SendBatch(ctx, &b).Close()
	if err != nil {
		if _, rbErr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT store_one"); rbErr != nil {
			return fmt.Errorf("roll back a refused row: %w", rbErr)
		}
	}
	return err
}

// failure names a failed statement of a batch.
func failure(format string, args ...any) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
		}
		return nil
	}
}

// isDataError reports a value the column types refuse (class 22) or a constraint it breaks (class 23).
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23")
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
