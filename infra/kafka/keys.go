package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"hotline-bridge/events/signing"
	"hotline-bridge/handlers/distribute"
)

// KeyPublisher puts the public signing keys on the compacted keys topic, a record per key id, which it creates
// when missing. Keys change rarely (a start, a rotation), so it connects for each call.
type KeyPublisher struct {
	cfg   Config
	topic string

	mu      sync.Mutex
	created bool // the topic exists
}

var _ distribute.KeyPublisher = (*KeyPublisher)(nil)

// NewKeyPublisher publishes to topic.
func NewKeyPublisher(cfg Config, topic string) *KeyPublisher {
	return &KeyPublisher{cfg: cfg, topic: topic}
}

// PublishKeys returns once the broker acknowledged every key.
func (p *KeyPublisher) PublishKeys(_ context.Context, keys []signing.PublicKey) error {
	if err := p.ensureTopic(); err != nil {
		return err
	}
	records := make([]*sarama.ProducerMessage, len(keys))
	for i, k := range keys {
		value, err := json.Marshal(k)
		if err != nil {
			return fmt.Errorf("encode public key %s: %w", k.ID, err)
		}
		records[i] = &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(k.ID), Value: sarama.ByteEncoder(value)}
	}
	sc, err := p.cfg.Sarama()
	if err != nil {
		return err
	}
	producer, err := sarama.NewSyncProducer(p.cfg.Brokers, sc)
	if err != nil {
		return p.cfg.explain(fmt.Errorf("connect producer to kafka %v: %w", p.cfg.Brokers, err))
	}
	err = producer.SendMessages(records)
	if err != nil {
		err = p.cfg.explain(fmt.Errorf("publish %d public keys to %s: %w", len(records), p.topic, firstError(err)))
	}
	return errors.Join(err, producer.Close())
}

// ensureTopic creates the keys topic compacted, with one partition: a handful of records, read whole.
func (p *KeyPublisher) ensureTopic() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.created {
		return nil
	}
	sc, err := p.cfg.Sarama()
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(p.cfg.Brokers, sc)
	if err != nil {
		return p.cfg.explain(fmt.Errorf("connect admin to %v: %w", p.cfg.Brokers, err))
	}
	defer admin.Close()
	detail := &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: max(p.cfg.Replication, 1),
		ConfigEntries: map[string]*string{"cleanup.policy": new("compact")}}
	if err := admin.CreateTopic(p.topic, detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return p.cfg.explain(fmt.Errorf("create topic %s: %w", p.topic, err))
	}
	if err := awaitLeader(admin, p.topic, 30*time.Second); err != nil {
		return err
	}
	p.created = true
	return nil
}

// awaitLeader waits until the new topic's partition has a leader: a send right after CreateTopic otherwise meets
// "unknown topic or partition" for longer than the producer's retries last.
func awaitLeader(admin sarama.ClusterAdmin, topic string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		meta, err := admin.DescribeTopics([]string{topic})
		if err == nil && len(meta) == 1 && meta[0].Err == sarama.ErrNoError && len(meta[0].Partitions) > 0 && meta[0].Partitions[0].Leader >= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("topic %s has no leader %s after it was created", topic, bound), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ReadKeys reads the keys topic whole: the key set every event on the unit topics must verify against. A later
// record of a key id replaces an earlier one (its retirement).
func ReadKeys(ctx context.Context, cfg Config, topic string) (*signing.KeySet, error) {
	set, _ := signing.NewKeySet()
	err := ReadTopicAs(ctx, cfg, topic, true, false, func(r Record) error {
		if err := set.AddRecord(r.Value); err != nil {
			return fmt.Errorf("%s@%d/%d: %w", topic, r.Partition, r.Offset, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the public keys from %s: %w", topic, err)
	}
	return set, nil
}
