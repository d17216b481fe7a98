package pipeline_test

import (
	"context"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// The progress of a catch-up counts what really happened: every upstream row captured against the backlog
// estimated at the start, every captured row sorted, every outbox event published.
func TestRunProgressCountsEveryStageOfACatchUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	stats, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 500, WuhanShare: 0.3, Seed: 3, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	counts := pipeline.NewRunProgress()
	if err := pipeline.RunCounted(ctx, e.cfg, quietLogger(), true, counts); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, s := range counts.Stages() {
		got[s.Name] = [2]int64{s.Done(), s.Total()}
	}
	events := int64(storeQuerier(t, e).count(t, `SELECT count(*) FROM bridge.outbox`))
	rows := int64(stats.Total())
	want := map[string][2]int64{"captured": {rows, rows}, "published": {events, events}}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("stage %s at %d of %d, want %d of %d", name, got[name][0], got[name][1], w[0], w[1])
		}
	}
	// A record redelivered after a rebalance is sorted (and counted) again: at least once, like everything.
	if sorted := got["sorted"]; sorted[0] < rows || sorted[1] != rows {
		t.Errorf("stage sorted at %d of %d, want at least %d of %d", sorted[0], sorted[1], rows, rows)
	}
	if events == 0 {
		t.Error("the seed gave the units nothing to publish: the published stage was not exercised")
	}
}
