package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Resealer brings sealed values under the current key (atrest.Keyring).
type Resealer interface {
	Reseal(table string, payload []byte) ([]byte, bool, error)
	ResealQuarantined(table string, payload []byte) ([]byte, bool, error)
	ResealColumn(table, field, v string) (string, bool, error)
	Personal(table string) []string
	Tables() []string
	CurrentID() string
}

// Rotation re-seals, batch by batch, every copy of personal data the store keeps under the current key: the
// store's personal columns, and the payloads of the outbox, parked and quarantined rows. Each batch is one short
// transaction that takes the locks the sorter and the forwarder take, in their order, and writes a value only if
// it is still the one read (compare and set): a running bridge goes on beside it, and what it writes meanwhile
// is under the current key already. A pass reseals what it finds; run passes until one finds nothing (Converged).
type Rotation struct {
	db     *pgxpool.Pool
	schema string
	keys   Resealer
	batch  int
}

// NewRotation reseals the dedicated store in schema and the bridge's state in db with keys, batch rows at a time.
func NewRotation(db *pgxpool.Pool, schema string, keys Resealer, batch int) *Rotation {
	return &Rotation{db: db, schema: schema, keys: keys, batch: batch}
}

// Resealed counts what a pass sealed again, by place (schema.table): values under another key or in clear, and
// those a running bridge changed between read and write (Raced), which the next pass sees again.
type Resealed struct {
	ByPlace map[string]int64
	Raced   int64
}

// Total is everything the pass sealed again.
func (r Resealed) Total() int64 {
	var n int64
	for _, c := range r.ByPlace {
		n += c
	}
	return n
}

// Converged says the pass found nothing left to reseal.
func (r Resealed) Converged() bool { return r.Total() == 0 && r.Raced == 0 }

// Pass walks every place once.
func (r *Rotation) Pass(ctx context.Context) (Resealed, error) {
	out := Resealed{ByPlace: map[string]int64{}}
	for _, table := range r.keys.Tables() {
		if err := r.walk(ctx, &out, r.schema+"."+table, r.storeBatch(table)); err != nil {
			return out, err
		}
	}
	for _, p := range []struct {
		place string
		step  batchStep
	}{{"bridge.outbox", r.outboxBatch}, {"bridge.parked", r.parkedBatch}, {"bridge.quarantine", r.quarantineBatch}} {
		if err := r.walk(ctx, &out, p.place, p.step); err != nil {
			return out, err
		}
	}
	return out, nil
}

// batchStep reseals the batch after cursor and returns the next cursor ("" at the end), what it resealed, and
// what raced with a running bridge.
type batchStep func(ctx context.Context, after string) (next string, resealed, raced int64, err error)

func (r *Rotation) walk(ctx context.Context, out *Resealed, place string, step batchStep) error {
	after := ""
	for {
		var next string
		var resealed, raced int64
		err := retryConflicts(func() (err error) {
			next, resealed, raced, err = step(ctx, after)
			return err
		})
		if err != nil {
			return fmt.Errorf("reseal %s: %w", place, err)
		}
		out.ByPlace[place] += resealed
		out.Raced += raced
		if next == "" {
			return nil
		}
		after = next
	}
}

// retryConflicts runs fn again when PostgreSQL aborted it to resolve a deadlock.
func retryConflicts(fn func() error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = fn(); !isConflict(err) {
			return err
		}
	}
	return err
}

// storeBatch reseals a store table's personal columns, in id order. A row whose columns are all under the current
// key (or NULL) is skipped by the query itself.
func (r *Rotation) storeBatch(table string) batchStep {
	cols := r.keys.Personal(table)
	name := pgx.Identifier{r.schema, table}.Sanitize()
	var quoted, stale, sets, same, arrays, aliases []string
	arrays, aliases = append(arrays, "$1::text[]"), append(aliases, "id")
	for i, c := range cols {
		q := pgx.Identifier{c}.Sanitize()
		quoted, stale = append(quoted, q), append(stale, q+" NOT LIKE $3")
		sets = append(sets, fmt.Sprintf("%s = u.new%d", q, i))
		same = append(same, fmt.Sprintf("t.%s IS NOT DISTINCT FROM u.old%d", q, i))
		arrays = append(arrays, fmt.Sprintf("$%d::text[]", 2*i+2), fmt.Sprintf("$%d::text[]", 2*i+3))
		aliases = append(aliases, fmt.Sprintf("old%d", i), fmt.Sprintf("new%d", i))
	}
	read := fmt.Sprintf(`SELECT id, %s FROM %s WHERE id > $1 AND (%s) ORDER BY id LIMIT $2`,
		strings.Join(quoted, ", "), name, strings.Join(stale, " OR "))
	write := fmt.Sprintf(`UPDATE %s t SET %s FROM unnest(%s) AS u(%s) WHERE t.id = u.id AND %s`,
		name, strings.Join(sets, ", "), strings.Join(arrays, ", "), strings.Join(aliases, ", "), strings.Join(same, " AND "))
	return func(ctx context.Context, after string) (string, int64, int64, error) {
		var ids []string
		columns := make([][]*string, 2*len(cols)) // old and new of each column
		var resealed int64
		err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, read, after, r.batch, "enc:v1:"+r.keys.CurrentID()+":%")
			if err != nil {
				return err
			}
			for rows.Next() {
				id, vals, err := scanColumns(rows, len(cols))
				if err == nil {
					err = r.resealColumns(table, cols, vals, columns)
				}
				if err != nil {
					rows.Close()
					return fmt.Errorf("%s %s: %w", table, id, err)
				}
				ids = append(ids, id)
			}
			if err := rows.Err(); err != nil || len(ids) == 0 {
				return err
			}
			if err := lockRows(ctx, tx, table, ids); err != nil {
				return err
			}
			args := []any{ids}
			for _, c := range columns {
				args = append(args, c)
			}
			tag, err := tx.Exec(ctx, write, args...)
			resealed = tag.RowsAffected()
			return err
		})
		if err != nil || len(ids) < r.batch {
			return "", resealed, int64(len(ids)) - resealed, err
		}
		return ids[len(ids)-1], resealed, int64(len(ids)) - resealed, nil
	}
}

func scanColumns(rows pgx.Rows, n int) (string, []*string, error) {
	var id string
	vals := make([]*string, n)
	dest := []any{&id}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	return id, vals, rows.Scan(dest...)
}

// resealColumns appends each column's old and new value to columns.
func (r *Rotation) resealColumns(table string, cols []string, vals []*string, columns [][]*string) error {
	for i, v := range vals {
		sealed := v
		if v != nil {
			s, _, err := r.keys.ResealColumn(table, cols[i], *v)
			if err != nil {
				return err
			}
			sealed = &s
		}
		columns[2*i], columns[2*i+1] = append(columns[2*i], v), append(columns[2*i+1], sealed)
	}
	return nil
}

// payloads is a place that keeps row payloads: how to read a batch after a cursor (key, table, payload), lock the
// keys read, and write new payloads where the old ones are still there.
type payloads struct {
	read   func(ctx context.Context, tx pgx.Tx, after string, limit int) (pgx.Rows, error)
	lock   func(ctx context.Context, tx pgx.Tx, keys []string) error
	write  func(ctx context.Context, tx pgx.Tx, keys, old, new []string) (int64, error)
	reseal func(table string, payload []byte) ([]byte, bool, error)
}

func (r *Rotation) payloadBatch(p payloads) batchStep {
	return func(ctx context.Context, after string) (string, int64, int64, error) {
		var keys, old, fresh []string
		var read int
		var last string
		var resealed int64
		err := pgx.BeginFunc(ctx, r.db, func(tx pgx.Tx) error {
			rows, err := p.read(ctx, tx, after, r.batch)
			if err != nil {
				return err
			}
			var key, table, payload string
			_, err = pgx.ForEachRow(rows, []any{&key, &table, &payload}, func() error {
				read, last = read+1, key
				sealed, changed, err := p.reseal(table, []byte(payload))
				if err != nil {
					return fmt.Errorf("%s %s: %w", table, key, err)
				}
				if changed {
					keys, old, fresh = append(keys, key), append(old, payload), append(fresh, string(sealed))
				}
				return nil
			})
			if err != nil || len(keys) == 0 {
				return err
			}
			if err := p.lock(ctx, tx, keys); err != nil {
				return err
			}
			resealed, err = p.write(ctx, tx, keys, old, fresh)
			return err
		})
		raced := int64(len(keys)) - resealed
		if err != nil || read < r.batch {
			return "", resealed, raced, err
		}
		return last, resealed, raced, nil
	}
}

// outboxBatch reseals outbox payloads in seq order, locking them as the forwarder does (FOR UPDATE in seq
// order), so the two wait for each other instead of deadlocking.
func (r *Rotation) outboxBatch(ctx context.Context, after string) (string, int64, int64, error) {
	return r.payloadBatch(payloads{
		read: func(ctx context.Context, tx pgx.Tx, after string, limit int) (pgx.Rows, error) {
			// o.seq, not seq: the bare name would sort by the text column of that name.
			return tx.Query(ctx, `SELECT o.seq::text AS seq, o.table_name, o.payload FROM bridge.outbox o
				WHERE o.seq > $1::bigint AND o.table_name = ANY($3) ORDER BY o.seq LIMIT $2`, cursorSeq(after), limit, r.keys.Tables())
		},
		lock: func(ctx context.Context, tx pgx.Tx, keys []string) error {
			_, err := tx.Exec(ctx, `SELECT count(*) FROM (SELECT seq FROM bridge.outbox WHERE seq = ANY($1::bigint[]) ORDER BY seq FOR UPDATE) l`, keys)
			return err
		},
		write: func(ctx context.Context, tx pgx.Tx, keys, old, fresh []string) (int64, error) {
			tag, err := tx.Exec(ctx, `UPDATE bridge.outbox o SET payload = u.new
				FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(seq, old, new) WHERE o.seq = u.seq AND o.payload = u.old`, keys, old, fresh)
			return tag.RowsAffected(), err
		},
		reseal: r.keys.Reseal,
	})(ctx, after)
}

// parkedBatch reseals parked payloads of the tables with personal fields, under the sorter's row locks. Keys and
// the cursor are the sorter's lock keys, table:id (no table name has a colon).
func (r *Rotation) parkedBatch(ctx context.Context, after string) (string, int64, int64, error) {
	return r.payloadBatch(payloads{
		read: func(ctx context.Context, tx pgx.Tx, after string, limit int) (pgx.Rows, error) {
			table, id, _ := strings.Cut(after, ":")
			return tx.Query(ctx, `SELECT table_name || ':' || id, table_name, payload FROM bridge.parked
				WHERE table_name = ANY($3) AND (table_name, id) > ($4, $1) ORDER BY table_name, id LIMIT $2`, id, limit, r.keys.Tables(), table)
		},
		lock: lockKeys,
		write: func(ctx context.Context, tx pgx.Tx, keys, old, fresh []string) (int64, error) {
			tables, ids := make([]string, len(keys)), make([]string, len(keys))
			for i, k := range keys {
				tables[i], ids[i], _ = strings.Cut(k, ":")
			}
			tag, err := tx.Exec(ctx, `UPDATE bridge.parked p SET payload = u.new
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, id, old, new)
				WHERE p.table_name = u.t AND p.id = u.id AND p.payload = u.old`, tables, ids, old, fresh)
			return tag.RowsAffected(), err
		},
		reseal: r.keys.Reseal,
	})(ctx, after)
}

// quarantineBatch reseals quarantined payloads in seq order; rows of every table, since a payload that is no
// JSON is sealed whole whatever its table.
func (r *Rotation) quarantineBatch(ctx context.Context, after string) (string, int64, int64, error) {
	return r.payloadBatch(payloads{
		read: func(ctx context.Context, tx pgx.Tx, after string, limit int) (pgx.Rows, error) {
			return tx.Query(ctx, `SELECT q.seq::text AS seq, q.table_name, q.payload FROM bridge.quarantine q
				WHERE q.seq > $1::bigint AND q.payload IS NOT NULL ORDER BY q.seq LIMIT $2`, cursorSeq(after), limit)
		},
		lock: func(context.Context, pgx.Tx, []string) error { return nil }, // rows are only ever inserted
		write: func(ctx context.Context, tx pgx.Tx, keys, old, fresh []string) (int64, error) {
			tag, err := tx.Exec(ctx, `UPDATE bridge.quarantine q SET payload = u.new
				FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(seq, old, new) WHERE q.seq = u.seq AND q.payload = u.old`, keys, old, fresh)
			return tag.RowsAffected(), err
		},
		reseal: r.keys.ResealQuarantined,
	})(ctx, after)
}

func cursorSeq(after string) string {
	if after == "" {
		return "0"
	}
	return after
}
