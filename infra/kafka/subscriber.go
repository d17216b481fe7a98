package kafka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
)

// NewSubscriber is a Watermill subscriber in consumer group group, starting from the oldest offset when the group
// is new so that nothing captured before the first start is skipped.
func NewSubscriber(cfg Config, group string, logger watermill.LoggerAdapter) (*wmkafka.Subscriber, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	if cfg.SessionTimeout > 0 {
		// A restarted bridge sorts nothing until the broker has evicted its dead predecessor's members; three
		// heartbeats per session, as Kafka's own clients default to.
		sc.Consumer.Group.Session.Timeout = cfg.SessionTimeout
		sc.Consumer.Group.Heartbeat.Interval = cfg.SessionTimeout / 3
	}
	// The sort group's twelve handlers are twelve members joining one after another at start, and each join
	// rebalances the group: a member caught by one retries its join only after this backoff, at sarama's 2 s
	// default the group sorted nothing for its first two seconds. As many retries as before in all.
	sc.Consumer.Group.Rebalance.Retry.Backoff = 200 * time.Millisecond
	sc.Consumer.Group.Rebalance.Retry.Max = 40
	// A capture record is an envelope of up to a thousand rows, and a consumer holds a buffer per partition it
	// reads (seventy-two for the capture topics): sarama's default of 256 records each would let a catch-up's
	// backlog fill memory. The handler takes one record at a time per partition anyway.
	sc.ChannelBufferSize = 2
	sc.Consumer.Fetch.Default = 256 << 10
	sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           wmkafka.DefaultMarshaler{},
		OverwriteSaramaConfig: forTopicsOnly(sc),
		ConsumerGroup:         group,
		NackResendSleep:       500 * time.Millisecond,
		ReconnectRetrySleep:   time.Second,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("subscribe as %s to %v: %w", group, cfg.Brokers, err)
	}
	return sub, nil
}

// Lag is how many records of topics the consumer group has not committed yet.
func Lag(cfg Config, group string, topics []string) (int64, error) {
	lag, err := lag(cfg, group, topics)
	return lag, cfg.explain(err)
}

func lag(cfg Config, group string, topics []string) (int64, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return 0, err
	}
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return 0, fmt.Errorf("connect to %v: %w", cfg.Brokers, err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return 0, err
	}
	partitions := map[string][]int32{}
	for _, t := range topics {
		if partitions[t], err = client.Partitions(t); err != nil {
			return 0, fmt.Errorf("partitions of %s: %w", t, err)
		}
	}
	committed, err := admin.ListConsumerGroupOffsets(group, partitions)
	if err != nil {
		return 0, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	var lag int64
	for topic, parts := range partitions {
		for _, p := range parts {
			end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return 0, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
			}
			done := int64(0)
			if b := committed.GetBlock(topic, p); b != nil && b.Offset > 0 {
				done = b.Offset
			}
			lag += end - done
		}
	}
	return lag, nil
}
