package kafka

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
)

// EnsureTopics creates the topics that do not exist yet with the configured partitions, replication and
// retention (an existing topic keeps its own: kafka-configs.sh --alter changes it), and
// returns every topic's partition count: capture groups rows by the partition they hash to.
func EnsureTopics(cfg Config, topics []string) (map[string]int, error) {
	partitions, err := ensureTopics(cfg, topics)
	return partitions, cfg.explain(err)
}

func ensureTopics(cfg Config, topics []string) (map[string]int, error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connect admin to %v: %w", cfg.Brokers, err)
	}
	defer admin.Close()
	existing, err := admin.ListTopics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	partitions := make(map[string]int, len(topics))
	for _, topic := range topics {
		if detail, ok := existing[topic]; ok {
			partitions[topic] = int(detail.NumPartitions)
			continue
		}
		detail := &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.Replication}
		if keep, ok := cfg.Retention[topic]; ok {
			detail.ConfigEntries = map[string]*string{"retention.ms": new(strconv.FormatInt(keep.Milliseconds(), 10))}
		}
		err := admin.CreateTopic(topic, detail, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return nil, fmt.Errorf("create topic %s: %w", topic, err)
		}
		partitions[topic] = int(cfg.Partitions)
	}
	return partitions, nil
}
