package postgres_test

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/infra/postgres"
)

// Pruning forgets the hops older than the retention and keeps the rest of a journey: the trail stays at its
// legal six months instead of growing for good.
func TestPruningForgetsOnlyHopsOlderThanTheRetention(t *testing.T) {
	ctx := context.Background()
	trail := postgres.NewAuditTrail(newBridgeDB(t))
	day := 24 * time.Hour
	hop := func(id, kind string, age time.Duration) events.Hop {
		at := time.Now().Add(-age).UTC().Truncate(time.Microsecond)
		return events.Hop{ID: id, Hop: kind, At: at, Table: events.Registration, RowID: "R1", Version: at}
	}
	if err := trail.Record(ctx, events.HopRecord{Hops: []events.Hop{
		hop("t1:0", events.HopCaptured, 200*day), hop("t2:0", events.HopStored, 190*day), hop("t3:0", events.HopCaptured, 10*day),
	}}); err != nil {
		t.Fatal(err)
	}
	pruned, err := trail.PruneAudit(ctx, 180*day)
	if err != nil {
		t.Fatal(err)
	}
	journey, err := trail.Journey(ctx, audit.Query{Table: events.Registration, ID: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	if pruned != 2 || len(journey) != 1 || journey[0].ID != "t3:0" {
		t.Fatalf("pruned %d hops and kept %+v; want the two older than 180 days gone and t3:0 kept", pruned, journey)
	}
}
