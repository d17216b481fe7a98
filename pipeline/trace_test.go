package pipeline_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	sorting "hotline-bridge/handlers/sort"
	"hotline-bridge/infra/dev/localjaeger"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/seed"
	"hotline-bridge/infra/tracing"
	"hotline-bridge/pipeline"
)

// publishedEvent is a registration's distribution event as the outbox recorded it.
type publishedEvent struct {
	rowID, unit, eventID, traceParent string
	partition                         int32
	offset                            int64
}

// One seeded Wuhan registration's journey is one trace in a real Jaeger, hop by hop: the capture page's poll
// (the root), its send to the capture topic, the sort's process span for the record, the store transaction, and
// the create span of the unit-topic record, which says where the record landed; the batch's send span on the
// unit topic links to that create span, and the record's traceparent header is the create span's context.
func TestWuhanRegistrationsJourneyIsOneTraceInJaeger(t *testing.T) {
	j := testenv.Jaeger(t)
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	ctx := context.Background()
	if _, err := seed.Generate(ctx, e.upstream, seed.Options{Registrations: 300, WuhanShare: 0.3, Seed: 21}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_TRACES_SAMPLER", "") // the default: parentbased_always_on
	e.runUntilIdle(t)
	// A registration's first version may reach the store in a child's batch (a child captured first pulls its
	// registration in), and so in the child's trace; a later version of a settled family comes in its own record.
	first := registrationEvents(t, e, "")[0]
	e.exec(t, `UPDATE registration SET status = 'traced', update_time = now() WHERE id = $1`, first.rowID)
	e.runUntilIdle(t)

	ev := registrationEvents(t, e, first.rowID)[0]
	if ev.eventID == first.eventID {
		t.Fatalf("registration %s's change was not published", first.rowID)
	}
	tr := waitForJourney(t, j, strings.Split(ev.traceParent, "-")[1])
	hops := hopsOf(t, e, tr, ev)
	captureTopic := events.CaptureTopic(e.cfg.TopicPrefix, events.Registration)
	unitTopic := events.UnitTopic(e.cfg.TopicPrefix, ev.unit)
	create, store, process, send, poll := hops[0], hops[1], hops[2], hops[3], hops[4]
	traceID := tr.TraceID
	if poll.Parent() != "" {
		t.Errorf("the poll span has a parent %s; it should be the trace's root", poll.Parent())
	}
	if store.SpanID != strings.Split(ev.traceParent, "-")[2] {
		t.Errorf("the outbox remembers span %s as the event's creation context, not the store span %s", ev.traceParent, store.SpanID)
	}
	wantTags(t, process, map[string]string{
		"messaging.system": "kafka", "messaging.destination.name": captureTopic, "messaging.operation.type": "process",
		"messaging.consumer.group.name": pipeline.SortGroup(e.cfg.TopicPrefix), "span.kind": "consumer",
	})
	for _, key := range []string{"messaging.destination.partition.id", "messaging.kafka.offset", "messaging.kafka.message.key"} {
		if process.Tag(key) == "" {
			t.Errorf("process span lacks %s: %v", key, process.Tags)
		}
	}
	wantTags(t, send, map[string]string{"messaging.system": "kafka", "messaging.destination.name": captureTopic, "messaging.operation.type": "send", "span.kind": "producer"})
	wantTags(t, create, map[string]string{
		"messaging.system": "kafka", "messaging.destination.name": unitTopic, "messaging.operation.type": "create",
		"messaging.kafka.message.key": ev.rowID, "messaging.destination.partition.id": strconv.Itoa(int(ev.partition)),
		"messaging.kafka.offset": strconv.FormatInt(ev.offset, 10), "span.kind": "producer",
	})
	if got := tr.Service(poll); got != tracing.ServiceName {
		t.Errorf("service %q, want %q", got, tracing.ServiceName)
	}
	assertSendLinksCreate(t, j, unitTopic, traceID, create.SpanID)
	assertRecordCarriesCreateSpan(t, e, unitTopic, ev, "00-"+traceID+"-"+create.SpanID+"-01")
}

// hopsOf walks from the event's create span to the root and checks the chain's names: the capture topic and the
// polled table must agree.
func hopsOf(t *testing.T, e *bridgeEnv, tr localjaeger.Trace, ev publishedEvent) []localjaeger.Span {
	t.Helper()
	byID := map[string]localjaeger.Span{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
	}
	create := spanWhere(t, tr, "create "+events.UnitTopic(e.cfg.TopicPrefix, ev.unit), func(s localjaeger.Span) bool { return s.Tag("messaging.message.id") == ev.eventID })
	store := parentOf(t, byID, create, func(op string) bool { return op == sorting.StoreSpanName })
	capturePrefix := "process " + events.CaptureTopic(e.cfg.TopicPrefix, "")
	process := parentOf(t, byID, store, func(op string) bool { return strings.HasPrefix(op, capturePrefix) })
	table := strings.TrimPrefix(process.OperationName, capturePrefix)
	send := parentOf(t, byID, process, func(op string) bool { return op == "send "+events.CaptureTopic(e.cfg.TopicPrefix, table) })
	poll := parentOf(t, byID, send, func(op string) bool { return op == "poll "+table })
	return []localjaeger.Span{create, store, process, send, poll}
}

// registrationEvents are the registration.upserted events published to units, newest first; those of one row
// when rowID is set.
func registrationEvents(t *testing.T, e *bridgeEnv, rowID string) []publishedEvent {
	t.Helper()
	rows, err := storeQuerier(t, e).db.Query(context.Background(), `
		SELECT row_id, unit_code, event_id, coalesce(traceparent, ''), kafka_partition, kafka_offset FROM bridge.outbox
		WHERE event_type = 'registration.upserted' AND unit_code <> $1 AND (row_id = $2 OR $2 = '') ORDER BY seq DESC`,
		events.BroadcastUnit, rowID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []publishedEvent
	for rows.Next() {
		var ev publishedEvent
		if err := rows.Scan(&ev.rowID, &ev.unit, &ev.eventID, &ev.traceParent, &ev.partition, &ev.offset); err != nil {
			t.Fatal(err)
		}
		if len(strings.Split(ev.traceParent, "-")) != 4 {
			t.Fatalf("outbox event %s has traceparent %q", ev.eventID, ev.traceParent)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		t.Fatalf("%d registration events in the outbox (%v)", len(out), err)
	}
	return out
}

// waitForJourney polls Jaeger until the trace holds a create span: the bridge flushed its spans when it stopped,
// and Jaeger stores them a moment after they arrive.
func waitForJourney(t *testing.T, j *localjaeger.Jaeger, traceID string) localjaeger.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		tr, found, err := j.GetTrace(ctx, traceID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tr.Spans {
			if found && strings.HasPrefix(s.OperationName, "create ") {
				return tr
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("jaeger never held trace %s with a create span (%d spans so far)", traceID, len(tr.Spans))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func spanWhere(t *testing.T, tr localjaeger.Trace, operation string, match func(localjaeger.Span) bool) localjaeger.Span {
	t.Helper()
	var ops []string
	for _, s := range tr.Spans {
		if s.OperationName == operation && match(s) {
			return s
		}
		ops = append(ops, s.OperationName)
	}
	t.Fatalf("trace %s has no matching %q span; it has %v", tr.TraceID, operation, uniqueStrings(ops))
	return localjaeger.Span{}
}

func parentOf(t *testing.T, byID map[string]localjaeger.Span, child localjaeger.Span, want func(operation string) bool) localjaeger.Span {
	t.Helper()
	parent, ok := byID[child.Parent()]
	if !ok || !want(parent.OperationName) {
		t.Fatalf("span %q's parent is %q (%q), not the hop expected", child.OperationName, parent.OperationName, child.Parent())
	}
	return parent
}

func wantTags(t *testing.T, s localjaeger.Span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := s.Tag(k); got != v {
			t.Errorf("span %q: %s = %q, want %q", s.OperationName, k, got, v)
		}
	}
}

// assertSendLinksCreate finds the unit topic's send spans (each batch's is a trace of its own) and wants one that
// links to the create span.
func assertSendLinksCreate(t *testing.T, j *localjaeger.Jaeger, unitTopic, traceID, createID string) {
	t.Helper()
	traces, err := j.FindTraces(context.Background(), tracing.ServiceName, "send "+unitTopic, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		for _, s := range tr.Spans {
			if s.OperationName != "send "+unitTopic {
				continue
			}
			for _, r := range s.References {
				if r.RefType == "FOLLOWS_FROM" && r.TraceID == traceID && r.SpanID == createID {
					wantTags(t, s, map[string]string{"messaging.operation.type": "send", "messaging.destination.name": unitTopic})
					return
				}
			}
		}
	}
	t.Fatalf("none of %d traces with a %q span links to create span %s", len(traces), "send "+unitTopic, createID)
}

func assertRecordCarriesCreateSpan(t *testing.T, e *bridgeEnv, unitTopic string, ev publishedEvent, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got *kafka.Record
	err := kafka.ReadTopic(ctx, e.cfg.KafkaBrokers, unitTopic, true, false, func(r kafka.Record) error {
		if r.Headers[events.HeaderID] == ev.eventID {
			got = &r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Partition != ev.partition || got.Offset != ev.offset {
		t.Fatalf("record %s not found at %s/%d@%d: %+v", ev.eventID, unitTopic, ev.partition, ev.offset, got)
	}
	if tp := got.Headers[events.HeaderTraceParent]; tp != want {
		t.Errorf("record traceparent %q, want the create span's %q", tp, want)
	}
}

func uniqueStrings(s []string) string {
	seen, out := map[string]bool{}, []string{}
	for _, x := range s {
		if !seen[x] {
			seen[x], out = true, append(out, x)
		}
	}
	return fmt.Sprint(out)
}
