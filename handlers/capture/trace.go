package capture

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/handlers/spans"
)

// TracerName is the instrumentation scope of capture's spans.
const TracerName = "hotline-bridge/handlers/capture"

// Attributes of capture's spans beyond the semantic conventions.
const (
	AttrRowsRead      = attribute.Key("bridge.rows.read")
	AttrRowsPublished = attribute.Key("bridge.rows.published")
)

// startPage starts the root span of a page that read rows, back-dated to when its read began (the read runs
// ahead, while the previous page is published). Each page is a trace of its own: its rows' journeys start here.
func startPage(ctx context.Context, table string, res pageResult) (context.Context, trace.Span) {
	ctx, span := spans.Tracer(TracerName).Start(ctx, "poll "+table, trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(res.started), trace.WithAttributes(
			semconv.DBSystemNamePostgreSQL, semconv.DBCollectionName(table), AttrRowsRead.Int(len(res.rows))))
	return spans.EnsureIDs(ctx), span
}

// startSend starts the span of publishing a page's envelopes to the capture topic and puts its context into
// each envelope's metadata, which the publisher writes as the record's traceparent header.
func startSend(ctx context.Context, topic string, msgs []*message.Message) trace.Span {
	ctx, span := spans.Tracer(TracerName).Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKafka, semconv.MessagingDestinationName(topic),
			semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("send"),
			semconv.MessagingBatchMessageCount(len(msgs))))
	for _, m := range msgs {
		spans.Propagator.Inject(ctx, propagation.MapCarrier(m.Metadata))
	}
	return span
}
