package kafka

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/handlers/spans"
)

// Sender publishes distribution events to the unit topics as CloudEvents 1.0 in binary mode, up to sendBatch
// records per SendMessages call.
type Sender struct {
	cfg    Config
	prefix string

	mu       sync.Mutex
	producer sarama.SyncProducer // nil until the first Send, and again after a failed one
	topics   map[string]bool     // unit topics known to exist
}

var _ distribute.Sender = (*Sender)(nil)

// NewSender sends to the topics "<prefix>.<unit>". It connects on the first Send, so that a broker down at
// startup is retried by the forwarder like any other outage.
func NewSender(cfg Config, prefix string) (*Sender, error) {
	if _, err := cfg.Sarama(); err != nil {
		return nil, err
	}
	return &Sender{cfg: cfg, prefix: prefix, topics: map[string]bool{}}, nil
}

// Send returns where each event landed: sarama fills in Partition and Offset once SendMessages succeeds.
func (s *Sender) Send(ctx context.Context, batch []events.Distribution) ([]distribute.Published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.prepare(batch); err != nil {
		return nil, err
	}
	records := make([]*sarama.ProducerMessage, len(batch))
	created := make([]trace.Span, len(batch))
	for i, d := range batch {
		records[i], created[i] = s.record(ctx, d)
	}
	sends := startSends(ctx, records, created)
	err := s.sendAll(records)
	endSends(sends, records, created, err)
	if err != nil {
		return nil, err
	}
	published := make([]distribute.Published, len(batch))
	for i, r := range records {
		published[i] = distribute.Published{Seq: batch[i].Seq, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, TraceID: traceID(r)}
	}
	return published, nil
}

func (s *Sender) sendAll(records []*sarama.ProducerMessage) error {
	for start := 0; start < len(records); start += sendBatch {
		chunk := records[start:min(start+sendBatch, len(records))]
		if err := s.producer.SendMessages(chunk); err != nil {
			s.disconnect()
			return s.cfg.explain(fmt.Errorf("send %d events to kafka %v: %w", len(chunk), s.cfg.Brokers, firstError(err)))
		}
	}
	return nil
}

// Close disconnects; a later Send connects again.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.producer == nil {
		return nil
	}
	err := s.producer.Close()
	s.producer = nil
	return err
}

// prepare connects and creates the unit topics the batch needs that this sender has not seen yet.
func (s *Sender) prepare(batch []events.Distribution) error {
	if s.producer == nil {
		sc, err := s.cfg.Sarama()
		if err != nil {
			return err
		}
		if s.producer, err = sarama.NewSyncProducer(s.cfg.Brokers, forTopicsOnly(sc)); err != nil {
			return s.cfg.explain(fmt.Errorf("connect producer to kafka %v: %w", s.cfg.Brokers, err))
		}
	}
	var missing []string
	for _, d := range batch {
		if topic := events.UnitTopic(s.prefix, d.Unit); !s.topics[topic] && !slices.Contains(missing, topic) {
			missing = append(missing, topic)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := EnsureTopics(s.cfg, missing); err != nil {
		return fmt.Errorf("kafka %v: %w", s.cfg.Brokers, err)
	}
	for _, topic := range missing {
		s.topics[topic] = true
	}
	return nil
}

// disconnect drops the producer after a failed send: the next attempt starts a fresh idempotent session rather
// than continue sequence numbers the broker may have lost in a crash.
func (s *Sender) disconnect() {
	_ = s.producer.Close()
	s.producer = nil
}

// record renders an event as a CloudEvents record. Its traceparent is its create span's context, a child of
// the context the event was created in (the outbox's, else ctx's), so a district's consumer continues the row
// version's trace; the span is nil when there is neither.
func (s *Sender) record(ctx context.Context, d events.Distribution) (*sarama.ProducerMessage, trace.Span) {
	topic := events.UnitTopic(s.prefix, d.Unit)
	created, span := startCreate(spans.FromTraceParent(ctx, d.TraceParent), topic, d)
	headers := []sarama.RecordHeader{
		header(events.HeaderSpecVersion, events.CloudEventsVersion),
		header(events.HeaderID, d.EventID),
		header(events.HeaderType, d.Type),
		header(events.HeaderSource, events.EventSource),
		header(events.HeaderSubject, d.RowID),
		header(events.HeaderTime, events.FormatTime(d.RowTime)),
		header(events.HeaderContentType, events.PayloadContentType),
		header(events.HeaderTraceParent, traceParent(created)),
	}
	if d.SignatureKeyID != "" {
		headers = append(headers, header(events.HeaderSignature, d.Signature), header(events.HeaderSignatureKeyID, d.SignatureKeyID))
	}
	return &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(d.Key), Value: sarama.ByteEncoder(d.Payload), Headers: headers}, span
}

// traceID is the trace the record's traceparent header names ("00-<trace id>-<span id>-<flags>").
func traceID(r *sarama.ProducerMessage) string {
	for _, h := range r.Headers {
		if string(h.Key) == events.HeaderTraceParent && len(h.Value) >= 35 {
			return string(h.Value[3:35])
		}
	}
	return ""
}

func header(key, value string) sarama.RecordHeader {
	return sarama.RecordHeader{Key: []byte(key), Value: []byte(value)}
}

// traceParent continues the trace in ctx when there is one; otherwise each event starts its own, so that a
// unit's consumers can always hang their spans off the event.
func traceParent(ctx context.Context) string {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return spans.TraceParent(ctx)
	}
	return randomTraceParent()
}

// randomTraceParent is a sampled W3C traceparent with random ids; all-zero ids are invalid, hence the loop.
func randomTraceParent() string {
	var ids [24]byte
	for {
		binary.BigEndian.PutUint64(ids[0:], rand.Uint64())
		binary.BigEndian.PutUint64(ids[8:], rand.Uint64())
		binary.BigEndian.PutUint64(ids[16:], rand.Uint64())
		if trace.TraceID(ids[:16]).IsValid() && trace.SpanID(ids[16:]).IsValid() {
			return "00-" + hex.EncodeToString(ids[:16]) + "-" + hex.EncodeToString(ids[16:]) + "-01"
		}
	}
}
