package sort

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/spans"
)

// TracerName is the instrumentation scope of the sort's spans.
const TracerName = "hotline-bridge/handlers/sort"

// Attributes of the store span beyond the semantic conventions.
const (
	AttrRows    = attribute.Key("bridge.rows")
	AttrEvents  = attribute.Key("bridge.events")
	AttrAttempt = attribute.Key("bridge.attempt")
)

// StoreSpanName names the span of one store transaction deciding a batch.
const StoreSpanName = "store"

// startStore starts the span of one attempt at deciding a batch in a store transaction, a child of the record's
// process span. A batch decided again (a deadlock, a refused value) gets a span per attempt.
func startStore(ctx context.Context, rows []events.RowVersion, attempt int) (context.Context, trace.Span) {
	return spans.Tracer(TracerName).Start(ctx, StoreSpanName, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, AttrRows.Int(len(rows)), AttrAttempt.Int(attempt)))
}

// tracedTx stamps every distribution event with the context of the store transaction that creates it, so the
// outbox remembers it and the event's publish continues the row version's trace.
type tracedTx struct {
	Tx
	span trace.Span
}

func (t tracedTx) Write(ctx context.Context, w *Writes) (Written, error) {
	if traceParent := spans.TraceParent(ctx); traceParent != "" {
		for i := range w.Events {
			if w.Events[i].TraceParent == "" {
				w.Events[i].TraceParent = traceParent
			}
		}
	}
	t.span.SetAttributes(AttrEvents.Int(len(w.Events)))
	return t.Tx.Write(ctx, w)
}
