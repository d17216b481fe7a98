package kafka

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
)

// sendBatch bounds one SendMessages call: large enough to fill the pipe, small enough to bound memory.
const sendBatch = 1000

// Publisher is a Watermill publisher that sends a Publish call's messages as batches rather than one round trip
// per message (watermill-kafka's publisher loops SendMessage). Metadata becomes record headers; the key comes
// from events.MetaKey, else the message UUID.
//
// An idempotent producer allows one request in flight per broker, so one producer serialises every caller:
// Publish calls are spread over a few producers instead. Order per key holds as long as each caller waits for
// its Publish to return before the next, which Publish's synchronous contract makes the natural use.
type Publisher struct {
	cfg       Config
	producers []sarama.SyncProducer
	next      atomic.Uint32
}

var _ message.Publisher = (*Publisher)(nil)

// producers is how many idempotent producers a Publisher spreads its callers over.
const producers = 4

// NewPublisher connects idempotent producers.
func NewPublisher(cfg Config) (*Publisher, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	p := &Publisher{cfg: cfg}
	for range producers {
		producer, err := sarama.NewSyncProducer(cfg.Brokers, forTopicsOnly(sc))
		if err != nil {
			_ = p.Close()
			return nil, cfg.explain(fmt.Errorf("connect producer to %v: %w", cfg.Brokers, err))
		}
		p.producers = append(p.producers, producer)
	}
	return p, nil
}

// Publish returns only once every message is acknowledged, or an error if any was not.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	producer := p.producers[p.next.Add(1)%uint32(len(p.producers))]
	batch := make([]*sarama.ProducerMessage, 0, min(len(msgs), sendBatch))
	for start := 0; start < len(msgs); start += sendBatch {
		batch = batch[:0]
		for _, m := range msgs[start:min(start+sendBatch, len(msgs))] {
			batch = append(batch, toRecord(topic, m))
		}
		if err := producer.SendMessages(batch); err != nil {
			return p.cfg.explain(fmt.Errorf("send %d messages to %s: %w", len(batch), topic, firstError(err)))
		}
	}
	return nil
}

// Close flushes and disconnects.
func (p *Publisher) Close() error {
	var errs []error
	for _, producer := range p.producers {
		errs = append(errs, producer.Close())
	}
	return errors.Join(errs...)
}

func toRecord(topic string, m *message.Message) *sarama.ProducerMessage {
	key := m.Metadata.Get(events.MetaKey)
	if key == "" {
		key = m.UUID
	}
	headers := make([]sarama.RecordHeader, 0, len(m.Metadata)+1)
	headers = append(headers, sarama.RecordHeader{Key: []byte(HeaderUUID), Value: []byte(m.UUID)})
	for k, v := range m.Metadata {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	return &sarama.ProducerMessage{
		Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(m.Payload), Headers: headers,
	}
}

// HeaderUUID carries the Watermill message UUID, the name watermill-kafka's marshaler uses, so its subscribers
// read our records unchanged.
const HeaderUUID = "_watermill_message_uuid"

// firstError keeps the error message short: a failed batch reports each message, all with the same cause.
func firstError(err error) error {
	if errs, ok := err.(sarama.ProducerErrors); ok && len(errs) > 0 {
		return fmt.Errorf("%d failed, first: %w", len(errs), errs[0].Err)
	}
	return err
}
