package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/infra/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPostgresGivesFreshDatabases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, second := testenv.Postgres(t), testenv.Postgres(t)
	if first == second {
		t.Fatalf("two calls returned the same database %s", first)
	}
	for _, u := range []string{first, second} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("%s has %d tables, want an empty database", u, tables)
		}
	}
}

func TestKafkaBrokersRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := testenv.TopicPrefix(t) + "roundtrip"
	cl, err := kgo.NewClient(kgo.SeedBrokers(testenv.KafkaBrokers(t)...), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no record consumed from %s: %v", topic, ctx.Err())
		}
		if recs := fetches.Records(); len(recs) > 0 {
			if got := string(recs[0].Value); got != "hello" {
				t.Errorf("consumed %q, want hello", got)
			}
			return
		}
	}
}

func TestTopicPrefixIsUniqueAndValid(t *testing.T) {
	a, b := testenv.TopicPrefix(t), testenv.TopicPrefix(t)
	if a == b {
		t.Errorf("TopicPrefix repeated %q", a)
	}
	if !strings.HasPrefix(a, "TestTopicPrefixIsUniqueAndValid.") || !strings.HasSuffix(a, ".") {
		t.Errorf("TopicPrefix = %q, want the test name, a random part and a trailing dot", a)
	}
	t.Run("sub test/with spaces", func(t *testing.T) {
		p := testenv.TopicPrefix(t)
		if strings.ContainsAny(p, "/ ") {
			t.Errorf("TopicPrefix = %q has characters Kafka rejects", p)
		}
	})
}
