package kafka_test

import (
	"context"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
)

func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(previous); _ = tp.Shutdown(context.Background()) })
	return rec
}

// Each event gets a create span under the context the outbox kept for it, saying where its record landed; each
// unit topic of the batch gets one send span linking its records' create spans; the record's traceparent is its
// create span, so a district's consumer continues the trace.
func TestSenderSpansFollowTheBatchingRule(t *testing.T) {
	rec := recordSpans(t)
	brokers := testenv.KafkaBrokers(t)
	s, prefix := newSender(t, brokers)
	batch := sampleBatch()
	const stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for i := range batch {
		batch[i].TraceParent = stored
	}
	published, err := s.Send(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}

	creates, sends := map[string]sdktrace.ReadOnlySpan{}, map[string]sdktrace.ReadOnlySpan{}
	for _, span := range rec.Ended() {
		a := attributes(span)
		switch span.Name() {
		case "create " + a["messaging.destination.name"].AsString():
			creates[a["messaging.message.id"].AsString()] = span
		case "send " + a["messaging.destination.name"].AsString():
			sends[a["messaging.destination.name"].AsString()] = span
		default:
			t.Errorf("unexpected span %q", span.Name())
		}
	}
	if len(creates) != len(batch) || len(sends) != 3 {
		t.Fatalf("%d create spans for %d events and %d send spans for 3 topics", len(creates), len(batch), len(sends))
	}
	for i, d := range batch {
		c := creates[d.EventID]
		a := attributes(c)
		if c.Parent().SpanID().String() != "00f067aa0ba902b7" || c.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("event %s: create span's parent %v, want the stored context", d.EventID, c.Parent())
		}
		if a["messaging.destination.partition.id"].AsString() != strconv.Itoa(int(published[i].Partition)) ||
			a["messaging.kafka.offset"].AsInt64() != published[i].Offset || a["messaging.kafka.message.key"].AsString() != d.Key ||
			a["messaging.operation.type"].AsString() != "create" || c.SpanKind() != trace.SpanKindProducer {
			t.Errorf("event %s landed at %d@%d; create span says %v", d.EventID, published[i].Partition, published[i].Offset, a)
		}
		send := sends[events.UnitTopic(prefix, d.Unit)]
		if !linksTo(send, c.SpanContext()) {
			t.Errorf("send span of %s does not link event %s's create span", d.Unit, d.EventID)
		}
	}
	for _, r := range readTopic(t, brokers, events.UnitTopic(prefix, "420102")) {
		c := creates[r.Headers[events.HeaderID]]
		want := "00-" + c.SpanContext().TraceID().String() + "-" + c.SpanContext().SpanID().String() + "-01"
		if r.Headers[events.HeaderTraceParent] != want {
			t.Errorf("record %s traceparent %q, want its create span %q", r.Headers[events.HeaderID], r.Headers[events.HeaderTraceParent], want)
		}
	}
}

// An event created with tracing off has no stored context: no spans, and the record gets a trace of its own.
func TestSenderWithoutAStoredContextMakesNoSpans(t *testing.T) {
	rec := recordSpans(t)
	brokers := testenv.KafkaBrokers(t)
	s, prefix := newSender(t, brokers)
	if _, err := s.Send(context.Background(), sampleBatch()[:1]); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans for an event without a creation context", n)
	}
	records := readTopic(t, brokers, events.UnitTopic(prefix, "420102"))
	if len(records) != 1 || !traceParentPattern.MatchString(records[0].Headers[events.HeaderTraceParent]) {
		t.Fatalf("records %+v, want one with a traceparent of its own", records)
	}
}

func attributes(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func linksTo(s sdktrace.ReadOnlySpan, sc trace.SpanContext) bool {
	if s == nil {
		return false
	}
	for _, l := range s.Links() {
		if l.SpanContext.Equal(sc) {
			return true
		}
	}
	return false
}
