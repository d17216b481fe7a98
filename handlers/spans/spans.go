package spans

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracer is the tracer of one instrumentation scope. The global provider is looked up at each call rather than
// once: a run or a test may install a new one, and a tracer taken earlier would keep exporting to the old.
func Tracer(scope string) trace.Tracer { return otel.GetTracerProvider().Tracer(scope) }

// Propagator is the W3C trace context, always: the global default propagates nothing, and records must carry a
// traceparent whether or not this process exports spans.
var Propagator = propagation.TraceContext{}

// End ends a span, marking it failed with the type of the innermost error only: error texts can quote the
// values of rows, and those hold personal data.
func End(span trace.Span, err error) {
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprintf("%T", innermost(err))))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

func innermost(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// EnsureIDs gives ctx trace ids of its own when it has none: with tracing off the spans are no-ops without ids,
// yet the audit trail, the logs and the unit topics' traceparent headers still tie a row version's hops
// together. The stand-in is sampled, so that a consumer that does trace records its own spans under it.
func EnsureIDs(ctx context.Context) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, RandomSpanContext())
}

// RandomSpanContext is a sampled span context with random ids; all-zero ids are invalid, hence the loop.
func RandomSpanContext() trace.SpanContext {
	var ids [24]byte
	for {
		binary.BigEndian.PutUint64(ids[0:], rand.Uint64())
		binary.BigEndian.PutUint64(ids[8:], rand.Uint64())
		binary.BigEndian.PutUint64(ids[16:], rand.Uint64())
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID(ids[:16]), SpanID: trace.SpanID(ids[16:]), TraceFlags: trace.FlagsSampled,
		})
		if sc.IsValid() {
			return sc
		}
	}
}

// TraceParent renders the span context in ctx as a W3C traceparent; empty when ctx has none.
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	Propagator.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// FromTraceParent is ctx carrying the remote span context a traceparent names; ctx itself when it names none.
func FromTraceParent(ctx context.Context, traceParent string) context.Context {
	if traceParent == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceParent})
}
