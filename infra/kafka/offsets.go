package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"hotline-bridge/handlers/reconcile"
)

// Offsets reads the unit topics' spans and the district groups' committed offsets for reconciliation. It connects
// on first use and again after a failure, so a broker that is down is simply a failed check, retried next run.
type Offsets struct {
	cfg Config

	mu     sync.Mutex
	client sarama.Client
	admin  sarama.ClusterAdmin
}

var _ reconcile.Broker = (*Offsets)(nil)

// NewOffsets reads from the brokers of cfg.
func NewOffsets(cfg Config) *Offsets { return &Offsets{cfg: cfg} }

// Close disconnects.
func (o *Offsets) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.disconnect()
}

func (o *Offsets) disconnect() error {
	if o.admin == nil {
		return nil
	}
	err := o.admin.Close() // closes the client it was made from
	o.client, o.admin = nil, nil
	return err
}

func (o *Offsets) connect() error {
	if o.admin != nil {
		return nil
	}
	sc, err := o.cfg.Sarama()
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(o.cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("connect to %v: %w", o.cfg.Brokers, err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("connect admin to %v: %w", o.cfg.Brokers, err)
	}
	o.client, o.admin = client, admin
	return nil
}

// use runs fn connected, and drops the connection when fn fails: the next call starts afresh.
func (o *Offsets) use(fn func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.connect()
	if err == nil {
		err = fn()
	}
	if err != nil {
		_ = o.disconnect()
	}
	return o.cfg.explain(err)
}

// Partitions asks a broker for the topic's metadata (not the client's cache, which would still know a deleted
// topic), then each partition's log start and end.
func (o *Offsets) Partitions(_ context.Context, topic string) (spans map[int32]reconcile.Span, exists bool, err error) {
	err = o.use(func() error {
		meta, err := o.admin.DescribeTopics([]string{topic})
		if err != nil {
			return fmt.Errorf("describe topic %s: %w", topic, err)
		}
		if len(meta) == 0 || errors.Is(meta[0].Err, sarama.ErrUnknownTopicOrPartition) {
			return nil
		}
		if meta[0].Err != sarama.ErrNoError {
			return fmt.Errorf("describe topic %s: %w", topic, meta[0].Err)
		}
		if err := o.client.RefreshMetadata(topic); err != nil {
			return fmt.Errorf("refresh metadata of %s: %w", topic, err)
		}
		exists = true
		spans, err = o.spans(topic, meta[0].Partitions)
		return err
	})
	return spans, exists, err
}

func (o *Offsets) spans(topic string, partitions []*sarama.PartitionMetadata) (map[int32]reconcile.Span, error) {
	spans := make(map[int32]reconcile.Span, len(partitions))
	for _, p := range partitions {
		start, err := o.client.GetOffset(topic, p.ID, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("log start of %s/%d: %w", topic, p.ID, err)
		}
		end, err := o.client.GetOffset(topic, p.ID, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p.ID, err)
		}
		spans[p.ID] = reconcile.Span{Start: start, End: end}
	}
	return spans, nil
}

// Committed reads the group's offsets on the topic; -1 (never committed) is left out.
func (o *Offsets) Committed(_ context.Context, group, topic string, partitions []int32) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := o.use(func() error {
		resp, err := o.admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
		if err != nil {
			return fmt.Errorf("offsets of group %s on %s: %w", group, topic, err)
		}
		for _, p := range partitions {
			b := resp.GetBlock(topic, p)
			switch {
			case b == nil || b.Offset < 0:
			case b.Err != sarama.ErrNoError:
				return fmt.Errorf("offset of group %s on %s/%d: %w", group, topic, p, b.Err)
			default:
				out[p] = b.Offset
			}
		}
		return nil
	})
	return out, err
}

// CreateTopic creates the topic with the configured partitions and replication, as the bridge does at start.
func (o *Offsets) CreateTopic(_ context.Context, topic string) error {
	_, err := EnsureTopics(o.cfg, []string{topic})
	return err
}
