package postgres_test

import (
	"context"
	"encoding/json"
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

// noUpstream has nothing to re-read: the test drives every row itself.
type noUpstream struct{}

func (noUpstream) Referencing(context.Context, string, string, []string) ([]events.RowVersion, error) {
	return nil, nil
}

// newSortingStore is a fresh bridge database with the dedicated store and a sorter over it.
func newSortingStore(t *testing.T) (*pgxpool.Pool, *postgres.Store, *sort.Sorter) {
	t.Helper()
	db := newBridgeDB(t)
	if err := postgres.EnsureStore(context.Background(), db, "wuhan"); err != nil {
		t.Fatal(err)
	}
	store, err := postgres.NewStore(context.Background(), db, "wuhan")
	if err != nil {
		t.Fatal(err)
	}
	return db, store, sort.NewSorter(jurisdiction.DefaultUnits(), store, noUpstream{})
}

func rowVersion(t *testing.T, table, id string, minute int, cols map[string]any) events.RowVersion {
	at := time.Date(2026, 3, 15, 8, minute, 0, 0, time.UTC)
	row := map[string]any{"id": id, "update_time": events.FormatTime(at), "is_deleted": false}
	for k, v := range cols {
		row[k] = v
	}
	payload, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	return events.RowVersion{Table: table, ID: id, UpdateTime: at, Payload: payload}
}

// A registration decided while its station is being moved to another district waits for the move and lands in
// the new district, instead of walking the old tree and staying in the old district for good.
func TestDecisionWaitsForAConcurrentOrganisationMove(t *testing.T) {
	ctx := context.Background()
	db, store, sorter := newSortingStore(t)
	for i, org := range [][3]string{
		{"ORG-SAMR", "", ""}, {"ORG-420000", "ORG-SAMR", "420000"}, {"ORG-420100", "ORG-420000", "420100"},
		{"ORG-420102", "ORG-420100", "420102"}, {"ORG-420106", "ORG-420100", "420106"}, {"ORG-420102-S01", "ORG-420102", ""},
	} {
		v := rowVersion(t, events.Organization, org[0], i, map[string]any{"parent_id": org[1], "division_code": org[2]})
		if err := sorter.Sort(ctx, v); err != nil {
			t.Fatal(err)
		}
	}

	// The move: a transaction that holds the station, as an organisation's decision does, and has not committed.
	moving, release, moved := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var releaseOnce sync.Once
	releaseMove := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseMove) // a failing test must not leave the move holding a connection
	go func() {
		moved <- store.Apply(ctx, func(tx sort.Tx) error {
			station := sort.Ref{Table: events.Organization, ID: "ORG-420102-S01"}
			if err := tx.Lock(ctx, []sort.Ref{station}); err != nil {
				return err
			}
			// Write sends the queued lock, the moved station and the raised tree version.
			if _, err := tx.Write(ctx, &sort.Writes{Orgs: []jurisdiction.Org{{ID: station.ID, ParentID: "ORG-420106"}}}); err != nil {
				return err
			}
			close(moving)
			<-release
			return nil
		})
	}()
	<-moving
	decided := make(chan error, 1)
	go func() {
		decided <- sorter.Sort(ctx, rowVersion(t, events.Registration, "R1", 30, map[string]any{"handle_dept_id": "ORG-420102-S01", "kind": 1}))
	}()
	testenv.WaitFor(t, "the decision to wait for the move, or to finish", time.Minute, func() bool {
		var waiting int
		_ = db.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting)
		return waiting > 0 || len(decided) > 0
	})
	if len(decided) > 0 {
		t.Fatalf("the decision finished while the move was uncommitted: it walked the tree being replaced (%v)", <-decided)
	}
	releaseMove()
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	if err := <-decided; err != nil {
		t.Fatal(err)
	}
	var unit string
	if err := db.QueryRow(ctx, `SELECT unit_code FROM wuhan.registration WHERE id = 'R1'`).Scan(&unit); err != nil || unit != "420106" {
		t.Fatalf("R1 stored in %q (%v), want 420106: the decision walked the tree the move was replacing", unit, err)
	}
}
