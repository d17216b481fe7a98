package postgres_test

import (
	"context"
	"errors"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
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
