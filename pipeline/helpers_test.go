package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kerr"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/pipeline"
)

// bridgeEnv is one test's upstream, store and broker.
type bridgeEnv struct {
	cfg      pipeline.Config
	upstream *pgxpool.Pool
}

func newBridgeEnv(t testing.TB, brokers []string) *bridgeEnv {
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
	cfg.HTTPAddr = "127.0.0.1:0" // a free port: tests and other bridges on the machine run side by side
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

// runInBackground runs the bridge continuously until the test ends, and returns what it logs at warn and above.
// A bridge that stops before the test ends, or that ends with an error other than the cancellation the test's end
// causes, fails the test with its error.
func (e *bridgeEnv) runInBackground(t *testing.T) *testenv.SyncBuffer {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := pipeline.Run(ctx, e.cfg, pipeline.NewLogger(logs, "warn"), false)
		switch {
		case ctx.Err() == nil:
			t.Errorf("the background bridge stopped while the test ran: %v\nits last warnings:\n%s", err, lastLines(logs.String(), 20))
		case err != nil && !errors.Is(err, context.Canceled):
			t.Errorf("the background bridge ended with an error: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return logs
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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
	var out []captured
	err := kafka.ReadTopic(ctx, brokers, topic, true, false, func(r kafka.Record) error {
		c, err := decodeCaptured(r)
		out = append(out, c...)
		return err
	})
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil // the bridge creates its topics as it starts: until then nothing is captured
	}
	if err = errors.Join(err, ctx.Err()); err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return out
}

// decodeCaptured reads the row versions of a capture record: an envelope keyed by its first row.
func decodeCaptured(r kafka.Record) ([]captured, error) {
	msg := message.NewMessage(r.Headers["_watermill_message_uuid"], r.Value)
	for k, v := range r.Headers {
		msg.Metadata.Set(k, v)
	}
	rows, err := capture.RowVersionsFromMessage(msg)
	if err != nil {
		return nil, fmt.Errorf("record at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	out := make([]captured, 0, len(rows))
	for _, v := range rows {
		c := captured{EventID: v.EventID(), RowID: v.ID, UpdateTime: v.UpdateTime, Row: map[string]any{}, Payload: v.Payload}
		if err := json.Unmarshal(v.Payload, &c.Row); err != nil {
			return out, fmt.Errorf("row %s at %s/%d@%d is not JSON: %w", v.ID, r.Topic, r.Partition, r.Offset, err)
		}
		out = append(out, c)
	}
	if len(rows) == 0 || r.Key != rows[0].ID {
		return out, fmt.Errorf("record at %s/%d@%d: key %q, want its first row's id", r.Topic, r.Partition, r.Offset, r.Key)
	}
	return out, nil
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
