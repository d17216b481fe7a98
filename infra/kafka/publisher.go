package kafka

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
)

// sendBatch bounds one SendMessages call: large enough to fill the pipe, small enough to bound memory.
const sendBatch = 1000

// Publisher is a Watermill publisher that sends a Publish call's messages as batches rather than one round trip
// per message (watermill-kafka's publisher loops SendMessage). Metadata becomes record headers; the key comes
// from events.MetaKey, else the message UUID.
type Publisher struct {
	producer sarama.SyncProducer
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher connects an idempotent producer.
func NewPublisher(cfg Config) (*Publisher, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connect producer to %v: %w", cfg.Brokers, err)
	}
	return &Publisher{producer: producer}, nil
}

// Publish returns only once every message is acknowledged, or an error if any was not.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	batch := make([]*sarama.ProducerMessage, 0, min(len(msgs), sendBatch))
	for start := 0; start < len(msgs); start += sendBatch {
		batch = batch[:0]
		for _, m := range msgs[start:min(start+sendBatch, len(msgs))] {
			batch = append(batch, toRecord(topic, m))
		}
		if err := p.producer.SendMessages(batch); err != nil {
			return fmt.Errorf("send %d messages to %s: %w", len(batch), topic, firstError(err))
		}
	}
	return nil
}

// Close flushes and disconnects.
func (p *Publisher) Close() error { return p.producer.Close() }

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
