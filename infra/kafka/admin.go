package kafka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// EnsureTopics creates the topics that do not exist yet with the configured partitions and replication.
func EnsureTopics(cfg Config, topics []string) error {
	sc, err := cfg.Sarama()
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("connect admin to %v: %w", cfg.Brokers, err)
	}
	defer admin.Close()
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, topic := range topics {
		if _, ok := existing[topic]; ok {
			continue
		}
		detail := &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.Replication}
		err := admin.CreateTopic(topic, detail, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}
