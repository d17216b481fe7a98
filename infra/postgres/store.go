package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/atrest"
)

// Store is Wuhan's dedicated store (one table per kind in its schema) together with the sorter's ledger, the
// organisation tree, parked rows, quarantine and the distribution outbox, all in one database so that one
// transaction covers a batch of decisions and everything they write.
type Store struct {
	db     *pgxpool.Pool
	schema string
	tables map[string]tableSQL
	limit  int    // rows one sorting transaction may decide
	seal   Sealer // personal data at rest; atrest.Clear() until SealWith
}

var _ sort.Store = (*Store)(nil)

// NewStore prepares statements for the dedicated store in schema; EnsureStore must have created it.
func NewStore(ctx context.Context, db *pgxpool.Pool, schema string) (*Store, error) {
	s := &Store{db: db, schema: schema, tables: map[string]tableSQL{}, seal: atrest.Clear()}
	for _, k := range events.Catalogue {
		t, err := prepareTable(ctx, db, schema, k.Table)
		if err != nil {
			return nil, err
		}
		s.tables[k.Table] = t
	}
	var err error
	s.limit, err = batchLimit(ctx, db)
	return s, err
}

// Bounds of the rows one sorting transaction decides.
const (
	minBatchRows = 50
	maxBatchRows = 1000
	// locksPerRow is what deciding a row may hold of the lock table, with a margin: its own lock, its
	// registration's, a share of the organisations it walks.
	locksPerRow = 4
)

// batchLimit sizes sorting transactions to the server's shared lock table: a batch locks every row it decides
// (advisory locks, which cover rows not stored yet), and all the pool's transactions together must fit in
// max_locks_per_transaction × (max_connections + max_prepared_transactions), or PostgreSQL runs out of shared
// memory. With the default of 64 that is a few hundred rows per transaction; 256 or more allows the largest.
func batchLimit(ctx context.Context, db *pgxpool.Pool) (int, error) {
	var capacity int
	err := db.QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::int
		* (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)`).Scan(&capacity)
	if err != nil {
		return 0, fmt.Errorf("read the lock table size: %w", err)
	}
	return min(max(capacity/(int(db.Config().MaxConns)*locksPerRow), minBatchRows), maxBatchRows), nil
}

// BatchLimit is how many rows one sorting transaction may decide.
func (s *Store) BatchLimit() int { return s.limit }

// Apply runs fn in one transaction.
func (s *Store) Apply(ctx context.Context, fn func(sort.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return fn(&storeTx{store: s, tx: tx})
	})
	if isConflict(err) {
		return fmt.Errorf("%w: %w", sort.ErrConflict, err)
	}
	return err
}

// isConflict reports a transaction PostgreSQL aborted to resolve a deadlock or a serialisation conflict, or a
// lock a batch gave up waiting for (see laterLockWait).
func isConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001" || pgErr.Code == "55P03")
}

// laterLockWait bounds how long a batch that already holds row locks waits for more (the rows it carries
// along). Those locks break the one global order, so the wait may be a deadlock, which PostgreSQL only finds
// after deadlock_timeout (1 s by default) while every batch queued behind the cycle waits too: measured at the
// start of a catch-up, where registration batches release parked children that child batches hold, the sorter
// ran at a few rows per second for half a minute. Giving up early and deciding the batch again from the start
// takes its locks in order again; a holder that is merely busy costs one re-decision.
const laterLockWait = "100ms"

type storeTx struct {
	store *Store
	tx    pgx.Tx
	// locks asked for and not sent yet, exclusive or shared by key: they go out with the next read, in one
	// statement.
	locks map[string]bool
	// holding: the transaction has taken row locks, so further locks wait at most laterLockWait.
	holding bool
}

// Lock takes transaction-level advisory locks, which also cover rows that do not exist yet. The locks asked for
// before a read go out with it in one statement, in the order of their keys' hashes whatever their mode: every
// batch takes its first locks in that one order, so two batches locking at once cannot deadlock. Taking one twice
// in a transaction is a no-op; a row locked both ways is locked exclusively.
func (t *storeTx) Lock(_ context.Context, rows []sort.Ref) error {
	t.ask(rows, true)
	return nil
}

// Share takes shared advisory locks: they wait for an exclusive holder, not for each other.
func (t *storeTx) Share(_ context.Context, rows []sort.Ref) error {
	t.ask(rows, false)
	return nil
}

func (t *storeTx) ask(rows []sort.Ref, exclusive bool) {
	if t.locks == nil && len(rows) > 0 {
		t.locks = make(map[string]bool, len(rows))
	}
	for _, r := range rows {
		k := lockKey(r)
		t.locks[k] = t.locks[k] || exclusive
	}
}

// queueLocks puts the locks asked for into b, ahead of the statement they go out with.
func (t *storeTx) queueLocks(b *pgx.Batch) {
	if len(t.locks) == 0 {
		return
	}
	keys, exclusive := make([]string, 0, len(t.locks)), make([]bool, 0, len(t.locks))
	for k, x := range t.locks {
		keys, exclusive = append(keys, k), append(exclusive, x)
	}
	t.locks = nil
	if t.holding {
		b.Queue(`SELECT set_config('lock_timeout', $1, true)`, laterLockWait)
	}
	b.Queue(`SELECT count(CASE WHEN x THEN pg_advisory_xact_lock(h) ELSE pg_advisory_xact_lock_shared(h) END)
		FROM (SELECT hashtextextended(k, 0) AS h, bool_or(x) AS x FROM unnest($1::text[], $2::bool[]) AS u(k, x)
			GROUP BY 1 ORDER BY 1) s`, keys, exclusive).
		Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock %d rows: %w", len(keys), err)
		}
		return nil
	}
	if t.holding {
		b.Queue(`RESET lock_timeout`) // the batch's writes must not time out on a row lock
	}
	t.holding = true
}

func lockKey(r sort.Ref) string { return r.Table + ":" + r.ID }

// lockRows takes the advisory locks the sorter takes on the rows it decides, in its order, so that a reseal or
// a replay and a sorting batch wait for each other instead of deadlocking.
func lockRows(ctx context.Context, tx pgx.Tx, table string, ids []string) error {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = lockKey(sort.Ref{Table: table, ID: id})
	}
	return lockKeys(ctx, tx, keys)
}

// lockKeys takes advisory locks on the sorter's lock keys (table:id), in the sorter's order.
func lockKeys(ctx context.Context, tx pgx.Tx, keys []string) error {
	_, err := tx.Exec(ctx, `SELECT count(pg_advisory_xact_lock(h)) FROM (
			SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k ORDER BY 1) s`, keys)
	return err
}

// LockTree serialises the transactions that change the organisation tree.
func (t *storeTx) LockTree(ctx context.Context) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hotline-bridge organisation tree'))`); err != nil {
		return fmt.Errorf("take the organisation tree lock: %w", err)
	}
	return nil
}

// Ledger reads the entries of many rows in one query.
func (t *storeTx) Ledger(ctx context.Context, rows []sort.Ref) (map[sort.Ref]sort.Entry, error) {
	if len(rows) == 0 { // a batch of registrations or organisations reads no registration first
		return map[sort.Ref]sort.Entry{}, nil
	}
	tables, ids := refColumns(rows)
	out := make(map[sort.Ref]sort.Entry, len(rows))
	err := t.query(ctx, func(r pgx.Rows) error {
		for r.Next() {
			var at int
			var e sort.Entry
			var unit, key *string
			if err := r.Scan(&at, &e.UpdateTime, &e.Digest, &e.Decided, &unit, &key, &e.Reconciled); err != nil {
				return err
			}
			if at < 1 || at > len(rows) {
				return fmt.Errorf("the ledger answered for key %d of %d", at, len(rows))
			}
			e.Placement = sort.Placement{Unit: deref(unit), Key: deref(key)}
			out[rows[at-1]] = e
		}
		return r.Err()
	}, // One primary-key probe per row. The LIMIT keeps the planner from flattening the subquery into a join:
		// with the ledger's statistics stale during a catch-up (it grows by a million rows in a minute), it
		// otherwise chose to hash the whole ledger for a few hundred keys — 614 scans of 18 million ledger rows
		// in one measured 1x catch-up. An entry comes back with its key's place rather than the key itself.
		`SELECT k.ord, s.update_time, s.digest, s.decided, s.unit_code, s.record_key, s.reconciled
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(table_name, id, ord)
		CROSS JOIN LATERAL (SELECT * FROM bridge.row_state r WHERE r.table_name = k.table_name AND r.id = k.id LIMIT 1) s`, tables, ids)
	if err != nil {
		return nil, fmt.Errorf("read the ledger of %d rows: %w", len(rows), err)
	}
	return out, nil
}

func refColumns(rows []sort.Ref) (tables, ids []string) {
	tables, ids = make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		tables[i], ids[i] = r.Table, r.ID
	}
	return tables, ids
}

// TreeVersion reads the committed tree's version (the locks queued before it go out with it).
func (t *storeTx) TreeVersion(ctx context.Context) (int64, error) {
	var v int64
	err := t.query(ctx, func(r pgx.Rows) error {
		v, _ = pgx.CollectExactlyOneRow(r, pgx.RowTo[int64])
		return r.Err()
	}, `SELECT version FROM bridge.org_tree_version`)
	if err != nil {
		return 0, fmt.Errorf("read the organisation tree version: %w", err)
	}
	return v, nil
}

// Tree reads the whole organisation tree with its version, in one snapshot.
func (t *storeTx) Tree(ctx context.Context) (int64, []jurisdiction.Org, error) {
	var version int64
	var orgs []jurisdiction.Org
	err := t.query(ctx, func(r pgx.Rows) error {
		for r.Next() {
			var o jurisdiction.Org
			if err := r.Scan(&version, &o.ID, &o.ParentID, &o.DivisionCode); err != nil {
				return err
			}
			if o.ID != "" {
				orgs = append(orgs, o)
			}
		}
		return r.Err()
	}, `SELECT v.version, coalesce(o.id, ''), coalesce(o.parent_id, ''), coalesce(o.division_code, '')
		FROM bridge.org_tree_version v LEFT JOIN bridge.org_tree o ON true`)
	if err != nil {
		return 0, nil, fmt.Errorf("read the organisation tree: %w", err)
	}
	return version, orgs, nil
}

// Parked returns the rows waiting for any of these parents.
func (t *storeTx) Parked(ctx context.Context, waiting []sort.Ref) ([]events.RowVersion, error) {
	if len(waiting) == 0 {
		return nil, nil
	}
	tables, ids := refColumns(waiting)
	var parked []events.RowVersion
	err := t.query(ctx, func(rows pgx.Rows) (err error) {
		parked, err = t.store.openParked(rows)
		return err
	}, `SELECT p.table_name, p.id, p.update_time, p.payload
		FROM unnest($1::text[], $2::text[]) AS w(t, id)
		JOIN bridge.parked p ON p.waiting_table = w.t AND p.waiting_id = w.id
		ORDER BY p.parked_at, p.table_name, p.id`, tables, ids)
	if err != nil {
		return nil, fmt.Errorf("read rows parked for %d parents: %w", len(waiting), err)
	}
	return parked, nil
}

// query sends the locks asked for and one read in one round trip.
func (t *storeTx) query(ctx context.Context, each func(pgx.Rows) error, sql string, args ...any) error {
	var b pgx.Batch
	t.queueLocks(&b)
	b.Queue(sql, args...).Query(each)
	return t.tx.SendBatch(ctx, &b).Close()
}

func collectVersions(rows pgx.Rows) ([]events.RowVersion, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.RowVersion, error) {
		var v events.RowVersion
		err := r.Scan(&v.Table, &v.ID, &v.UpdateTime, &v.Payload)
		return v, err
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
