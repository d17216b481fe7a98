package localkafka_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"hotline-bridge/infra/dev/localkafka"
)

func TestBrokerKillRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := localkafka.Start(ctx, localkafka.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	addr, dir := b.Addr(), b.Dir()

	produce(ctx, t, addr, "before-crash", "v1")
	if got := consumeOne(ctx, t, addr, "before-crash"); got != "v1" {
		t.Fatalf("consumed %q from before-crash, want v1", got)
	}

	if err := b.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	assertPortClosed(t, addr)
	if err := tryProduce(ctx, addr, "while-down", "lost"); err == nil {
		t.Fatal("producing to a killed broker succeeded")
	}

	if err := b.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if b.Addr() != addr {
		t.Fatalf("Restart moved the broker from %s to %s", addr, b.Addr())
	}
	// The record written before the crash survived on the same log dirs.
	if got := consumeOne(ctx, t, addr, "before-crash"); got != "v1" {
		t.Errorf("after restart consumed %q from before-crash, want v1", got)
	}
	produce(ctx, t, addr, "after-restart", "v2")
	if got := consumeOne(ctx, t, addr, "after-restart"); got != "v2" {
		t.Errorf("consumed %q from after-restart, want v2", got)
	}

	if err := b.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertPortClosed(t, addr)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("broker directory %s still there after Stop (stat: %v)", dir, err)
	}
	if err := b.Restart(ctx); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}

func produce(ctx context.Context, t *testing.T, addr, topic, value string) {
	t.Helper()
	if err := tryProduce(ctx, addr, topic, value); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

func tryProduce(ctx context.Context, addr, topic, value string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(),
		kgo.RecordDeliveryTimeout(3*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(value)}).FirstErr()
}

// consumeOne reads the first record of topic from the start.
func consumeOne(ctx context.Context, t *testing.T, addr, topic string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record from %s: %v", topic, err)
		}
		for _, fe := range fetches.Errors() {
			t.Logf("fetch %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		}
		if recs := fetches.Records(); len(recs) > 0 {
			return string(recs[0].Value)
		}
	}
}

func assertPortClosed(t *testing.T, addr string) {
	t.Helper()
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

func TestResolveLibsIsCached(t *testing.T) {
	ctx := context.Background()
	libs, err := localkafka.ResolveLibs(ctx, localkafka.Options{})
	if err != nil {
		t.Fatal(err)
	}
	jar := libs + "/kafka_2.13-" + localkafka.DefaultVersion + ".jar"
	if _, err := os.Stat(jar); err != nil {
		t.Fatalf("broker jar missing from %s: %v", libs, err)
	}
	again, err := localkafka.ResolveLibs(ctx, localkafka.Options{})
	if err != nil || again != libs {
		t.Errorf("second ResolveLibs = %q, %v; want %q from the cache", again, err, libs)
	}
}

func TestStartReportsBrokerLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err := localkafka.Start(ctx, localkafka.Options{Properties: map[string]string{"num.partitions": "many"}})
	if err == nil {
		t.Fatal("Start with num.partitions=many succeeded")
	}
	// Kafka validates the configuration while formatting, so the log is the
	// format step's; what matters is that the cause reaches the caller.
	if msg := err.Error(); !strings.Contains(msg, "log tail") || !strings.Contains(msg, "Invalid value many for configuration num.partitions") {
		t.Errorf("error does not carry the log tail naming the bad setting: %v", err)
	}
}
