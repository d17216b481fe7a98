package kafka

import (
	"context"
	"strconv"

	"github.com/IBM/sarama"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/spans"
)

// TracerName is the instrumentation scope of the Kafka adapters' spans.
const TracerName = "hotline-bridge/infra/kafka"

// ProcessSpans is router middleware that runs a consumed record's handler in a "process <topic>" span, a child of
// the context the producer put in the record's traceparent header (a capture page's send span), so a row
// version's journey stays one trace across the topic. The handler sees the span in msg.Context().
func ProcessSpans(group string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			topic := message.SubscribeTopicFromCtx(ctx)
			parent := spans.Propagator.Extract(ctx, propagation.MapCarrier(msg.Metadata))
			ctx, span := spans.Tracer(TracerName).Start(parent, "process "+topic,
				trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(consumedAttributes(msg, topic, group)...))
			msg.SetContext(ctx)
			out, err := h(msg)
			spans.End(span, err)
			return out, err
		}
	}
}

// consumedAttributes are the messaging conventions' attributes of a record watermill-kafka delivered.
func consumedAttributes(msg *message.Message, topic, group string) []attribute.KeyValue {
	ctx := msg.Context()
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka, semconv.MessagingDestinationName(topic), semconv.MessagingConsumerGroupName(group),
		semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
		semconv.MessagingMessageID(msg.UUID),
	}
	if p, ok := wmkafka.MessagePartitionFromCtx(ctx); ok {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(strconv.Itoa(int(p))))
	}
	if o, ok := wmkafka.MessagePartitionOffsetFromCtx(ctx); ok {
		attrs = append(attrs, semconv.MessagingKafkaOffset(int(o)))
	}
	if k, ok := wmkafka.MessageKeyFromCtx(ctx); ok && len(k) > 0 {
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(string(k)))
	}
	return attrs
}

// startCreate starts the create span of one unit-topic record, a child of the context the event was created in,
// following the conventions' batching rule: a create span per message, the send span linking them all. It stays
// open until the broker acknowledged the record, so that it can say where the record landed. Without a context
// to continue there is no span, and the record gets a trace of its own.
func startCreate(ctx context.Context, topic string, d events.Distribution) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	return spans.Tracer(TracerName).Start(ctx, "create "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKafka, semconv.MessagingDestinationName(topic),
			semconv.MessagingOperationTypeCreate, semconv.MessagingOperationName("create"),
			semconv.MessagingMessageID(d.EventID), semconv.MessagingKafkaMessageKey(d.Key),
			AttrEventType.String(d.Type)))
}

// AttrEventType is the ce_type of a distribution event on its create span.
const AttrEventType = attribute.Key("cloudevents.event_type")

// startSends starts one send span per unit topic of a batch, each linking the create spans of its records. The
// records of all topics go out in the same SendMessages calls, so the spans cover the same time.
func startSends(ctx context.Context, records []*sarama.ProducerMessage, created []trace.Span) map[string]trace.Span {
	links := map[string][]trace.Link{}
	var topics []string
	for i, r := range records {
		if created[i] == nil {
			continue
		}
		if _, seen := links[r.Topic]; !seen {
			topics = append(topics, r.Topic)
		}
		links[r.Topic] = append(links[r.Topic], trace.Link{SpanContext: created[i].SpanContext()})
	}
	sends := make(map[string]trace.Span, len(topics))
	for _, topic := range topics {
		_, sends[topic] = spans.Tracer(TracerName).Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithLinks(links[topic]...), trace.WithAttributes(semconv.MessagingSystemKafka,
				semconv.MessagingDestinationName(topic), semconv.MessagingOperationTypeSend,
				semconv.MessagingOperationName("send"), semconv.MessagingBatchMessageCount(len(links[topic]))))
	}
	return sends
}

// endSends ends the batch's spans; on success each create span first records its record's partition and offset.
func endSends(sends map[string]trace.Span, records []*sarama.ProducerMessage, created []trace.Span, err error) {
	for i, span := range created {
		if span == nil {
			continue
		}
		if err == nil {
			span.SetAttributes(semconv.MessagingDestinationPartitionID(strconv.Itoa(int(records[i].Partition))),
				semconv.MessagingKafkaOffset(int(records[i].Offset)))
		}
		spans.End(span, err)
	}
	for _, span := range sends {
		spans.End(span, err)
	}
}
