package postgres_test

import (
	"context"
	"testing"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
)

// The bridge's sessions plan every statement for its arguments: a generic plan cached while the ledger was small
// (a hash join over all of it) would otherwise stay while it grows to millions of entries.
func TestSessionsPlanEachStatementForItsArguments(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode, zone string
	if err := db.QueryRow(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('timezone')`).Scan(&mode, &zone); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" || zone != "UTC" {
		t.Fatalf("session plan_cache_mode %q, timezone %q; want force_custom_plan and UTC", mode, zone)
	}
}
