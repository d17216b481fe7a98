package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is one consumed record, headers flattened.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Headers   map[string]string
	Value     []byte
}

// ReadTopic reads topic without a consumer group, as a district system starting from scratch would: from the
// beginning or the current end, up to the end as it was when reading started, or on (follow) until ctx ends.
func ReadTopic(ctx context.Context, brokers []string, topic string, fromBeginning, follow bool, fn func(Record) error) error {
	return ReadTopicAs(ctx, Config{Brokers: brokers}, topic, fromBeginning, follow, fn)
}

// ReadTopicAs is ReadTopic with cfg's brokers and security.
func ReadTopicAs(ctx context.Context, cfg Config, topic string, fromBeginning, follow bool, fn func(Record) error) error {
	return cfg.explain(readTopic(ctx, cfg, topic, fromBeginning, follow, fn))
}

func readTopic(ctx context.Context, cfg Config, topic string, fromBeginning, follow bool, fn func(Record) error) error {
	start := kgo.NewOffset().AtEnd()
	if fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	opts, err := cfg.Security.KgoOptions()
	if err != nil {
		return err
	}
	opts = append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(start))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("connect to %v: %w", cfg.Brokers, err)
	}
	defer cl.Close()
	remaining, err := endOffsets(ctx, cl, topic, fromBeginning)
	if err != nil {
		return err
	}
	for follow || len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil
		}
		if err := fetches.Err0(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		var ferr error
		fetches.EachRecord(func(r *kgo.Record) {
			if ferr == nil {
				ferr = fn(toRecordView(r))
			}
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// endOffsets are the partitions' ends at the start, for reading "up to now"; empty partitions are already done.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string, fromBeginning bool) (map[int32]int64, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	starts := map[int32]int64{}
	if fromBeginning {
		listed, err := kadm.NewClient(cl).ListStartOffsets(ctx, topic)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start offsets of %s", topic), err)
		}
		listed.Each(func(o kadm.ListedOffset) { starts[o.Partition] = o.Offset })
	}
	remaining := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if fromBeginning && o.Offset > starts[o.Partition] {
			remaining[o.Partition] = o.Offset
		}
	})
	return remaining, nil
}

func toRecordView(r *kgo.Record) Record {
	h := make(map[string]string, len(r.Headers))
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Headers: h, Value: r.Value}
}
