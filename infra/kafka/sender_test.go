package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newSender(t *testing.T, brokers []string) (*kafka.Sender, string) {
	t.Helper()
	prefix := strings.TrimSuffix(testenv.TopicPrefix(t), ".")
	cfg := kafka.Config{Brokers: brokers, Version: "4.1.0", ClientID: "sender-test", Partitions: 3, Replication: 1}
	s, err := kafka.NewSender(cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, prefix
}

// sampleBatch is a batch over two units and the broadcast topic, with two keys sharing a unit.
func sampleBatch() []events.Distribution {
	at := time.Date(2025, 3, 1, 8, 30, 0, 123456000, time.FixedZone("CST", 8*3600))
	var batch []events.Distribution
	for i, unit := range []string{"420102", "420102", "420106", events.BroadcastUnit, "420102", "420106", "420102"} {
		seq := int64(100 + i)
		table, key := events.InfoProvider, []string{"REG-A", "REG-B"}[i%2]
		if unit == events.BroadcastUnit {
			table, key = events.Dictionary, "D1"
		}
		batch = append(batch, events.Distribution{
			Seq: seq, EventID: fmt.Sprintf("ev-%d", seq), Unit: unit, Type: table + "." + events.EventUpserted,
			Table: table, RowID: fmt.Sprintf("ROW-%d", seq), Key: key, RowTime: at.Add(time.Duration(i) * time.Second),
			Payload: fmt.Appendf(nil, `{"id":"ROW-%d","name":"张三"}`, seq),
		})
	}
	return batch
}

var traceParentPattern = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

func TestSenderWritesCloudEventsRecords(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	s, prefix := newSender(t, brokers)
	batch := sampleBatch()

	published, err := s.Send(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]kafka.Record{}
	for _, unit := range []string{"420102", "420106", events.BroadcastUnit} {
		for _, r := range readTopic(t, brokers, events.UnitTopic(prefix, unit)) {
			got[r.Headers[events.HeaderID]] = r
		}
	}
	if len(got) != len(batch) {
		t.Fatalf("read %d records back, sent %d", len(got), len(batch))
	}
	traces := map[string]bool{}
	for i, d := range batch {
		r := got[d.EventID]
		assertRecord(t, r, d, prefix)
		traceID := strings.Split(r.Headers[events.HeaderTraceParent], "-")[1]
		if published[i] != (distribute.Published{Seq: d.Seq, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, TraceID: traceID}) {
			t.Fatalf("event %d reported at %+v, found at partition %d offset %d", d.Seq, published[i], r.Partition, r.Offset)
		}
		traces[r.Headers[events.HeaderTraceParent]] = true
	}
	if len(traces) != len(batch) {
		t.Fatalf("%d distinct traceparents for %d events without a caller trace; want one each", len(traces), len(batch))
	}
	assertSeqOrderPerPartition(t, batch, published)
}

func assertRecord(t *testing.T, r kafka.Record, d events.Distribution, prefix string) {
	t.Helper()
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": d.EventID, "ce_type": d.Type, "ce_source": "/wuhan12315/hotline-bridge",
		"ce_subject": d.RowID, "ce_time": d.RowTime.UTC().Format("2006-01-02T15:04:05.000000Z"), "content-type": "application/json",
	}
	h := r.Headers
	for k, v := range want {
		if h[k] != v {
			t.Errorf("event %d header %s = %q, want %q", d.Seq, k, h[k], v)
		}
	}
	if len(r.Headers) != len(want)+1 || !traceParentPattern.MatchString(h["traceparent"]) {
		t.Errorf("event %d: headers %v; want exactly the CloudEvents ones and a valid traceparent", d.Seq, h)
	}
	if r.Topic != prefix+"."+d.Unit || r.Key != d.Key || string(r.Value) != string(d.Payload) {
		t.Errorf("event %d at %s key %q value %s", d.Seq, r.Topic, r.Key, r.Value)
	}
	if _, err := time.Parse(time.RFC3339, h["ce_time"]); err != nil {
		t.Errorf("ce_time is not RFC 3339: %v", err)
	}
}

// assertSeqOrderPerPartition checks that, within every partition, offsets grow with seq.
func assertSeqOrderPerPartition(t *testing.T, batch []events.Distribution, published []distribute.Published) {
	t.Helper()
	last := map[string]int64{}
	for i, p := range published {
		where := fmt.Sprintf("%s/%d", batch[i].Unit, p.Partition)
		if off, ok := last[where]; ok && off >= p.Offset {
			t.Fatalf("event %d at offset %d of %s, after an earlier event at %d", p.Seq, p.Offset, where, off)
		}
		last[where] = p.Offset
	}
}

func TestSenderContinuesTheCallersTrace(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	s, prefix := newSender(t, brokers)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	if _, err := s.Send(ctx, sampleBatch()[:1]); err != nil {
		t.Fatal(err)
	}
	records := readTopic(t, brokers, events.UnitTopic(prefix, "420102"))
	if len(records) != 1 {
		t.Fatalf("read %d records, want 1", len(records))
	}
	tp := records[0].Headers[events.HeaderTraceParent]
	if tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent %q does not continue the caller's span", tp)
	}
	back := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp}))
	if !back.Equal(sc.WithRemote(true)) {
		t.Fatalf("traceparent %q parses as %v", tp, back)
	}
}

// readTopic reads a topic from the beginning to its current end.
func readTopic(t *testing.T, brokers []string, topic string) []kafka.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []kafka.Record
	err := kafka.ReadTopic(ctx, brokers, topic, true, false, func(r kafka.Record) error { out = append(out, r); return nil })
	if err = errors.Join(err, ctx.Err()); err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return out
}

// Capture groups rows into envelopes by events.PartitionOf and keys each envelope by one of its rows: that only
// keeps every row on its own partition if PartitionOf is exactly the producers' hash partitioner.
func TestPartitionOfIsTheProducersHashPartitioner(t *testing.T) {
	cfg, err := kafka.Config{Version: "4.1.0"}.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int32{1, 3, 6, 7} {
		partitioner := cfg.Producer.Partitioner("t")
		for i := range 2000 {
			key := fmt.Sprintf("REG-%d-%x", i, i*7919)
			want, err := partitioner.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			if got := events.PartitionOf(key, int(n)); got != int(want) {
				t.Fatalf("key %q among %d partitions: PartitionOf says %d, the producer %d", key, n, got, want)
			}
		}
	}
}
