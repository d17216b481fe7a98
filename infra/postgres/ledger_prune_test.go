package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/events"
)

// The ledger forgets only what can no longer matter: rows not Wuhan's, of kinds nothing depends on, decided
// longer ago than the retention. Work orders, organisations, Wuhan's rows, parked rows and recent ones stay. (A
// subject of a family elsewhere never enters the ledger at all: see sort's batch.record.)
func TestPruneLedgerForgetsOnlyOldNonWuhanRowsNothingDependsOn(t *testing.T) {
	ctx := context.Background()
	db, store, sorter := newSortingStore(t)
	for i, v := range []events.RowVersion{
		rowVersion(t, events.Organization, "ORG-SAMR", 0, map[string]any{}),
		rowVersion(t, events.Organization, "ORG-420100", 1, map[string]any{"parent_id": "ORG-SAMR", "division_code": "420100"}),
		rowVersion(t, events.Organization, "ORG-420200", 2, map[string]any{"parent_id": "ORG-SAMR", "division_code": "420200"}),
		rowVersion(t, events.Registration, "R-WH", 3, map[string]any{"handle_dept_id": "ORG-420100", "kind": 1}),
		rowVersion(t, events.Registration, "R-HS", 4, map[string]any{"handle_dept_id": "ORG-420200", "kind": 1}),
		rowVersion(t, events.Personnel, "P-HS-OLD", 5, map[string]any{"org_id": "ORG-420200"}),
		rowVersion(t, events.CaseInfo, "C-HS-OLD", 6, map[string]any{"filing_org_id": "ORG-420200"}),
		rowVersion(t, events.Subject, "S-HS", 6, map[string]any{"registration_id": "R-HS"}),
		rowVersion(t, events.Subject, "S-WH-OLD", 7, map[string]any{"registration_id": "R-WH"}),
		rowVersion(t, events.Subject, "S-PARKED", 8, map[string]any{"registration_id": "R-NEVER"}),
	} {
		if err := sorter.Sort(ctx, v); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	if _, err := db.Exec(ctx, `UPDATE bridge.row_state SET decided_at = now() - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	if err := sorter.Sort(ctx, rowVersion(t, events.CaseInfo, "C-HS-NEW", 9, map[string]any{"filing_org_id": "ORG-420200"})); err != nil {
		t.Fatal(err)
	}

	pruned, err := store.PruneLedger(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, `SELECT id FROM bridge.row_state ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"C-HS-NEW", "ORG-420100", "ORG-420200", "ORG-SAMR", "R-HS", "R-WH", "S-PARKED", "S-WH-OLD"}
	if pruned != 2 || !slices.Equal(left, want) {
		t.Errorf("pruned %d, ledger holds %v; want 2 pruned (P-HS-OLD, C-HS-OLD) and %v left", pruned, left, want)
	}
	// Source reconciliation learns which hours of update_time the ledger no longer covers whole.
	rows, err = db.Query(ctx, `SELECT table_name || ' ' || entries FROM bridge.ledger_pruned ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	noted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if wantNoted := []string{"case_info 1", "personnel 1"}; !slices.Equal(noted, wantNoted) {
		t.Errorf("bridge.ledger_pruned notes %v, want %v", noted, wantNoted)
	}
}
