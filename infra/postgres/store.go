package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// Store is Wuhan's dedicated store (one table per kind in its schema) together with the sorter's ledger, the
// organisation tree, parked rows, quarantine and the distribution outbox, all in one database so that one
// transaction covers a decision and everything it writes.
type Store struct {
	db     *pgxpool.Pool
	schema string
	tables map[string]tableSQL
}

var _ sort.Store = (*Store)(nil)

// NewStore prepares statements for the dedicated store in schema; EnsureStore must have created it.
func NewStore(ctx context.Context, db *pgxpool.Pool, schema string) (*Store, error) {
	s := &Store{db: db, schema: schema, tables: map[string]tableSQL{}}
	for _, k := range events.Catalogue {
		t, err := prepareTable(ctx, db, schema, k.Table)
		if err != nil {
			return nil, err
		}
		s.tables[k.Table] = t
	}
	return s, nil
}

// Apply runs fn in one transaction.
func (s *Store) Apply(ctx context.Context, fn func(sort.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		t := &storeTx{store: s, tx: tx}
		if err := fn(t); err != nil {
			return err
		}
		return t.send(ctx)
	})
}

type storeTx struct {
	store  *Store
	tx     pgx.Tx
	queued pgx.Batch // writes not sent yet (store_pipeline.go)
}

// Claim implements the newer-wins gate on the ledger; the caller holds the row's lock (Lock).
func (t *storeTx) Claim(ctx context.Context, v events.RowVersion, again bool) (sort.Previous, bool, error) {
	digest := v.EventID()
	var prev sort.Previous
	var at time.Time
	var oldDigest string
	var unit, key *string
	found := true
	err := t.queryRow(ctx, func(row pgx.Row) error {
		err := row.Scan(&at, &oldDigest, &prev.Decided, &unit, &key)
		if errors.Is(err, pgx.ErrNoRows) {
			found, err = false, nil
		}
		return err
	}, `SELECT update_time, digest, decided, unit_code, record_key FROM bridge.row_state WHERE table_name = $1 AND id = $2`, v.Table, v.ID)
	if err != nil {
		return prev, false, fmt.Errorf("read ledger of %s %s: %w", v.Table, v.ID, err)
	}
	if !found {
		return prev, true, nil
	}
	prev.Known = true
	prev.Placement = sort.Placement{Unit: deref(unit), Key: deref(key)}
	prev.SameVersion = at.Equal(v.UpdateTime) && oldDigest == digest
	// Two contents under one update_time: the greater digest wins, so every order converges — except that a row
	// re-read from upstream (again) is the current content by definition.
	newer := v.UpdateTime.After(at) || (at.Equal(v.UpdateTime) && (digest > oldDigest || again))
	if prev.SameVersion {
		return prev, again, nil
	}
	return prev, newer, nil
}

// Decided records the version and its verdict; a parked row is not decided.
func (t *storeTx) Decided(ctx context.Context, v events.RowVersion, decided bool, at sort.Placement) error {
	t.later("record verdict of "+v.Table+" "+v.ID,
		`INSERT INTO bridge.row_state (table_name, id, update_time, digest, decided, unit_code, record_key)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''))
		ON CONFLICT (table_name, id) DO UPDATE SET update_time = excluded.update_time, digest = excluded.digest,
			decided = excluded.decided, unit_code = excluded.unit_code, record_key = excluded.record_key`,
		v.Table, v.ID, v.UpdateTime, v.EventID(), decided, at.Unit, at.Key)
	return nil
}

// Stored answers from the ledger, whose placement is always where the store holds the row.
func (t *storeTx) Stored(ctx context.Context, table, id string) (sort.Placement, error) {
	var unit, key *string
	err := t.queryRow(ctx, func(row pgx.Row) error {
		err := row.Scan(&unit, &key)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}, `SELECT unit_code, record_key FROM bridge.row_state WHERE table_name = $1 AND id = $2`, table, id)
	if err != nil {
		return sort.Placement{}, fmt.Errorf("read placement of %s %s: %w", table, id, err)
	}
	return sort.Placement{Unit: deref(unit), Key: deref(key)}, nil
}

// RegistrationUnit answers from the ledger: known once the registration was decided.
func (t *storeTx) RegistrationUnit(ctx context.Context, id string) (string, bool, error) {
	var decided bool
	var unit *string
	t.lock(events.Registration, id) // wait for a decision of this registration in flight; see Lock
	err := t.queryRow(ctx, func(row pgx.Row) error {
		err := row.Scan(&decided, &unit)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not seen yet: not decided
		}
		return err
	}, `SELECT decided, unit_code FROM bridge.row_state WHERE table_name = 'registration' AND id = $1`, id)
	if err != nil {
		return "", false, fmt.Errorf("read unit of registration %s: %w", id, err)
	}
	return deref(unit), decided, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// isDataError reports a value the column types refuse (class 22) or a constraint it breaks (class 23).
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23")
}

// Lock takes transaction-level advisory locks, which also cover rows that do not exist yet; they are queued and
// go out with the next read. Taking one twice in a transaction is a no-op.
func (t *storeTx) Lock(_ context.Context, rows ...jurisdiction.Dependency) error {
	for _, r := range rows {
		t.lock(r.Table, r.ID)
	}
	return nil
}

// Share takes shared advisory locks: they wait for an exclusive holder, not for each other.
func (t *storeTx) Share(_ context.Context, rows ...jurisdiction.Dependency) error {
	for _, r := range rows {
		t.later("share "+r.Table+" "+r.ID, "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", r.Table+":"+r.ID)
	}
	return nil
}

func (t *storeTx) lock(table, id string) {
	t.later("lock "+table+" "+id, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", table+":"+id)
}
