package pipeline_test

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
)

func TestSortSeededNationalDataMatchesTheRulesComputedInSQL(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 3000, WuhanShare: 0.1, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Change(ctx, e.upstream, seed.ChangeOptions{Seed: 7, Rounds: 3, BatchSize: 50, Interval: -1}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	captured := 0
	for _, k := range events.Catalogue {
		captured += assertCurrentVersionsCaptured(t, e, k.Table)
	}
	t.Logf("every one of %d upstream rows is on its capture topic at its current version", captured)
	n := assertStoreMatchesRules(t, e)
	// The platform keeps changing: transfers in and out of Wuhan, moved stations, deletes.
	if _, err := seed.Change(ctx, e.upstream, seed.ChangeOptions{Seed: 8, Rounds: 5, BatchSize: 50, Interval: -1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.runUntilIdle(t)
	t.Logf("second run to idle took %s", time.Since(start).Round(time.Millisecond))
	m := assertStoreMatchesRules(t, e)
	t.Logf("store matches the rules: %d Wuhan rows after seeding, %d after changes", n, m)
	if n < 1000 {
		t.Fatalf("only %d Wuhan rows: the seed did not exercise sorting", n)
	}
}
