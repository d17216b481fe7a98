package capture_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
)

// recordSpans installs a provider that keeps every ended span, for the test's duration.
func recordSpans(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(previous); _ = tp.Shutdown(context.Background()) })
	return rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func traceParentOf(m map[string]string) trace.SpanContext {
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier(m))
	return trace.SpanContextFromContext(ctx)
}

// A page that read rows is a root "poll" span; its publish is a "send <capture topic>" span under it, and every
// envelope carries the send span's context as traceparent, for the sort to continue. An idle poll makes no span.
func TestPageIsATraceWhoseEnvelopesCarryTheSendSpan(t *testing.T) {
	rec := recordSpans(t)
	src, wm, pub := &memSource{now: time.Now()}, &memWatermarks{pos: map[string]capture.Position{}}, &envelopePublisher{}
	for i := range 5 {
		src.put(fmt.Sprintf("R%d", i), time.Now().Add(-time.Hour+time.Duration(i)*time.Second), true)
	}
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 10, Partitions: 2, MaxCommitDelay: time.Minute}, src, wm, pub)
	for range 2 { // the second round reads nothing
		if _, err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	ended := rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want the page's poll and send: %v", len(ended), names(ended))
	}
	send, poll := ended[0], ended[1]
	topic := events.CaptureTopic("t", events.Registration)
	if poll.Name() != "poll "+events.Registration || send.Name() != "send "+topic {
		t.Fatalf("spans %v, want poll %s and send %s", names(ended), events.Registration, topic)
	}
	if poll.Parent().IsValid() || send.Parent().SpanID() != poll.SpanContext().SpanID() {
		t.Errorf("poll's parent %v (want none), send's parent %v (want the poll span)", poll.Parent(), send.Parent())
	}
	a := attrs(send)
	if a["messaging.system"].AsString() != "kafka" || a["messaging.destination.name"].AsString() != topic ||
		a["messaging.operation.type"].AsString() != "send" || a["messaging.batch.message_count"].AsInt64() != int64(len(pub.msgs)) {
		t.Errorf("send span attributes %v", a)
	}
	if pa := attrs(poll); pa["bridge.rows.read"].AsInt64() != 5 || pa["bridge.rows.published"].AsInt64() != 5 {
		t.Errorf("poll span attributes %v", pa)
	}
	if len(pub.msgs) < 2 {
		t.Fatalf("%d envelopes, want one per partition", len(pub.msgs))
	}
	for _, m := range pub.msgs {
		if got := traceParentOf(m.Metadata); !got.Equal(send.SpanContext().WithRemote(true)) {
			t.Errorf("envelope %s carries %v, want the send span %v", m.UUID, got, send.SpanContext())
		}
	}
}

// With no provider the spans record nothing, yet a page still gets trace ids of its own, so its rows' hops can
// be tied together downstream.
func TestPageGetsTraceIDsWithTracingOff(t *testing.T) {
	src, wm, pub := &memSource{now: time.Now()}, &memWatermarks{pos: map[string]capture.Position{}}, &envelopePublisher{}
	src.put("R1", time.Now().Add(-time.Hour), true)
	src.put("R2", time.Now().Add(-time.Hour), true)
	p := capture.NewPoller(kind, capture.Config{TopicPrefix: "t", BatchSize: 10, Partitions: 1, MaxCommitDelay: time.Minute}, src, wm, pub)
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 {
		t.Fatalf("%d envelopes, want 1", len(pub.msgs))
	}
	if sc := traceParentOf(pub.msgs[0].Metadata); !sc.IsValid() || !sc.IsSampled() {
		t.Fatalf("envelope traceparent %q, want valid sampled ids", pub.msgs[0].Metadata.Get("traceparent"))
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name()
	}
	return out
}
