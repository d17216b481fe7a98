package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

// conflictOnce aborts the first transactions it runs the way PostgreSQL aborts a deadlock victim.
type conflictOnce struct {
	*postgres.Store
	left int
}

func (c *conflictOnce) Apply(ctx context.Context, fn func(sort.Tx) error) error {
	return c.Store.Apply(ctx, func(tx sort.Tx) error {
		if c.left > 0 {
			c.left--
			return postgres.RaiseForTest(ctx, tx, "40P01")
		}
		return fn(tx)
	})
}

// A batch the store aborted to resolve a deadlock is decided again at once: the rows land, and nothing reaches
// the router's retry (which would report it as a failure).
func TestBatchAbortedByADeadlockIsDecidedAgain(t *testing.T) {
	ctx := context.Background()
	db, store, _ := newSortingStore(t)
	flaky := &conflictOnce{Store: store, left: 2}
	sorter := sort.NewSorter(jurisdiction.DefaultUnits(), flaky, noUpstream{})
	for i, v := range []events.RowVersion{
		rowVersion(t, events.Organization, "ORG-SAMR", 0, map[string]any{}),
		rowVersion(t, events.Organization, "ORG-420100", 1, map[string]any{"parent_id": "ORG-SAMR", "division_code": "420100"}),
		rowVersion(t, events.Registration, "R1", 2, map[string]any{"handle_dept_id": "ORG-420100", "kind": 1}),
	} {
		if err := sorter.Sort(ctx, v); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	var unit string
	if err := db.QueryRow(ctx, `SELECT unit_code FROM wuhan.registration WHERE id = 'R1'`).Scan(&unit); err != nil || unit != "city" {
		t.Fatalf("R1 stored in %q (%v), want city", unit, err)
	}
	if flaky.left != 0 {
		t.Fatalf("%d conflicts never happened", flaky.left)
	}

	// More conflicts than the sorter retries go to the caller, marked as a conflict.
	flaky.left = 100
	err := sorter.Sort(ctx, rowVersion(t, events.Registration, "R2", 3, map[string]any{"handle_dept_id": "ORG-420100", "kind": 1}))
	if !errors.Is(err, sort.ErrConflict) {
		t.Fatalf("after endless conflicts: %v, want sort.ErrConflict", err)
	}
}

// holdLocks locks rows and shares shared in a transaction of its own, asked for in that order and sent
// together, and keeps them until the test releases them (or ends).
func holdLocks(t *testing.T, store *postgres.Store, rows, shared []sort.Ref) (release func()) {
	t.Helper()
	ctx := context.Background()
	held, done, gone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		gone <- store.Apply(ctx, func(tx sort.Tx) error {
			if err := tx.Lock(ctx, rows); err != nil {
				return err
			}
			if err := tx.Share(ctx, shared); err != nil {
				return err
			}
			if _, err := tx.TreeVersion(ctx); err != nil { // sends the locks
				return err
			}
			close(held)
			<-done
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-gone:
		t.Fatalf("hold %v and %v: %v", rows, shared, err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(done)
			if err := <-gone; err != nil {
				t.Errorf("holder of %v and %v: %v", rows, shared, err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// A transaction that already holds row locks and asks for a row another transaction holds gives up instead of
// waiting: that wait breaks the global lock order and may be a deadlock, which PostgreSQL would only find after
// deadlock_timeout while every batch behind it waits. It fails as a conflict, so the sorter decides it again.
// A transaction's first locks still wait for their holder.
func TestLocksTakenWhileHoldingOthersGiveUpAsAConflict(t *testing.T) {
	ctx := context.Background()
	db, store, _ := newSortingStore(t)
	child := sort.Ref{Table: events.Subject, ID: "S1"}
	release := holdLocks(t, store, []sort.Ref{child}, nil)

	later := make(chan error, 1)
	go func() {
		later <- store.Apply(ctx, func(tx sort.Tx) error {
			if err := tx.Lock(ctx, []sort.Ref{{Table: events.Registration, ID: "R1"}}); err != nil {
				return err
			}
			if _, err := tx.TreeVersion(ctx); err != nil {
				return err
			}
			// The registration's batch releases its parked child, which the other transaction holds.
			if err := tx.Lock(ctx, []sort.Ref{child}); err != nil {
				return err
			}
			_, err := tx.TreeVersion(ctx)
			return err
		})
	}()
	select {
	case err := <-later:
		if !errors.Is(err, sort.ErrConflict) {
			t.Fatalf("a later lock on a held row: %v, want sort.ErrConflict", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a transaction holding locks waited for a row another one holds, instead of giving up")
	}

	first := make(chan error, 1)
	go func() {
		first <- store.Apply(ctx, func(tx sort.Tx) error {
			if err := tx.Lock(ctx, []sort.Ref{child}); err != nil {
				return err
			}
			_, err := tx.TreeVersion(ctx)
			return err
		})
	}()
	testenv.WaitFor(t, "the first lock to wait for its holder", time.Minute, func() bool {
		return waitingLocks(ctx, db) > 0 || len(first) > 0
	})
	release()
	if err := <-first; err != nil {
		t.Fatalf("a transaction's first lock, after its holder ended: %v", err)
	}
}

// Locks asked for before a read go out together, and a row both shared and locked is locked exclusively: a
// registration a child batch pulls (and decides) is not merely shared with the other batches reading it.
func TestARowBothSharedAndLockedIsHeldExclusively(t *testing.T) {
	ctx := context.Background()
	db, store, _ := newSortingStore(t)
	reg := sort.Ref{Table: events.Registration, ID: "R1"}
	release := holdLocks(t, store, []sort.Ref{{Table: events.Subject, ID: "S1"}, reg}, []sort.Ref{reg})
	shared := make(chan error, 1)
	go func() {
		shared <- store.Apply(ctx, func(tx sort.Tx) error {
			_ = tx.Share(ctx, []sort.Ref{reg})
			_, err := tx.TreeVersion(ctx)
			return err
		})
	}()
	testenv.WaitFor(t, "a shared lock to wait for the exclusive holder", time.Minute, func() bool {
		return waitingLocks(ctx, db) > 0 || len(shared) > 0
	})
	if len(shared) > 0 {
		t.Fatalf("a shared lock was granted beside the holder's (%v): the row was only shared", <-shared)
	}
	release()
	if err := <-shared; err != nil {
		t.Fatal(err)
	}
}

// waitingLocks counts the advisory locks waited for in db's database.
func waitingLocks(ctx context.Context, db *pgxpool.Pool) int {
	var n int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	return n
}
