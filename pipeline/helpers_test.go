package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/events"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/testenv"
	"hotline-bridge/pipeline"
)

// bridgeEnv is one test's upstream, store and broker.
type bridgeEnv struct {
	cfg      pipeline.Config
	upstream *pgxpool.Pool
}

func newBridgeEnv(t *testing.T, brokers []string) *bridgeEnv {
	t.Helper()
	ctx := context.Background()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.UpstreamURL = testenv.Postgres(t)
	cfg.StoreURL = testenv.Postgres(t)
	cfg.KafkaBrokers = brokers
	cfg.TopicPrefix = testenv.TopicPrefix(t)
	cfg.PollInterval = 50 * time.Millisecond
	cfg.Partitions = 3
	upstream, err := postgres.Open(ctx, cfg.UpstreamURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(upstream.Close)
	if err := postgres.MigrateUpstream(ctx, upstream); err != nil {
		t.Fatal(err)
	}
	return &bridgeEnv{cfg: cfg, upstream: upstream}
}

func quietLogger() *slog.Logger { return pipeline.NewLogger(io.Discard, "error") }

// runUntilIdle runs the bridge to idle and fails the test on error.
func (e *bridgeEnv) runUntilIdle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := pipeline.Run(ctx, e.cfg, quietLogger(), true); err != nil {
		t.Fatalf("bridge run --until-idle: %v", err)
	}
}

// runInBackground runs the bridge continuously until the test ends.
func (e *bridgeEnv) runInBackground(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pipeline.Run(ctx, e.cfg, quietLogger(), false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("bridge run: %v", err)
		}
	})
}

func (e *bridgeEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.upstream.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// captured is one event read back from a capture topic.
type captured struct {
	EventID    string
	RowID      string
	UpdateTime time.Time
	Row        map[string]any
	Payload    []byte
}

// readCaptureTopic reads a capture topic from the beginning to its current end.
func readCaptureTopic(t *testing.T, brokers []string, prefix, table string) []captured {
	t.Helper()
	topic := events.CaptureTopic(prefix, table)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	remaining := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			remaining[o.Partition] = o.Offset
		}
	})
	var out []captured
	for len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := fetches.Err0(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, decodeCaptured(t, r))
			if r.Offset+1 >= remaining[r.Partition] {
				delete(remaining, r.Partition)
			}
		})
	}
	return out
}

func decodeCaptured(t *testing.T, r *kgo.Record) captured {
	c := captured{Row: map[string]any{}, Payload: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case "_watermill_message_uuid":
			c.EventID = string(h.Value)
		case events.MetaRowID:
			c.RowID = string(h.Value)
		case events.MetaUpdateTime:
			c.UpdateTime, _ = time.Parse(time.RFC3339Nano, string(h.Value))
		}
	}
	if err := json.Unmarshal(r.Value, &c.Row); err != nil {
		t.Fatalf("record at %s/%d@%d is not JSON: %v", r.Topic, r.Partition, r.Offset, err)
	}
	if string(r.Key) != c.RowID {
		t.Fatalf("record key %q, row id header %q", r.Key, c.RowID)
	}
	return c
}

// latest keeps, per row id, the newest captured version.
func latest(evs []captured) map[string]captured {
	out := map[string]captured{}
	for _, e := range evs {
		if prev, ok := out[e.RowID]; !ok || prev.UpdateTime.Before(e.UpdateTime) {
			out[e.RowID] = e
		}
	}
	return out
}

// upstreamVersions returns every row's current (id → update_time) of a table.
func upstreamVersions(t *testing.T, db *pgxpool.Pool, table string) map[string]time.Time {
	t.Helper()
	rows, err := db.Query(context.Background(), fmt.Sprintf("SELECT id, update_time FROM %s", table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		out[id] = at
	}
	return out
}

// assertCurrentVersionsCaptured fails unless the newest captured version of every upstream row is its current one.
func assertCurrentVersionsCaptured(t *testing.T, e *bridgeEnv, table string) int {
	t.Helper()
	want := upstreamVersions(t, e.upstream, table)
	got := latest(readCaptureTopic(t, e.cfg.KafkaBrokers, e.cfg.TopicPrefix, table))
	missing := 0
	for id, at := range want {
		c, ok := got[id]
		if !ok || !c.UpdateTime.Equal(at) {
			if missing < 5 {
				t.Errorf("%s %s: upstream version %s, captured %v", table, id, at, c.UpdateTime)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%s: %d of %d rows not captured at their current version", table, missing, len(want))
	}
	return len(want)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
