package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// kafkaVersion is the protocol version the bridge speaks by default.
const kafkaVersion = "4.1.0"

// newAdmin connects a cluster admin to the broker.
func newAdmin(brokers string) (sarama.ClusterAdmin, error) {
	cfg := sarama.NewConfig()
	v, err := sarama.ParseKafkaVersion(kafkaVersion)
	if err != nil {
		return nil, fmt.Errorf("kafka version %q: %w", kafkaVersion, err)
	}
	cfg.Version, cfg.ClientID = v, "bench"
	admin, err := sarama.NewClusterAdmin([]string{brokers}, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect admin to %s: %w", brokers, err)
	}
	return admin, nil
}

// createTopics creates topics with the given partitions and one replica.
func createTopics(brokers string, topics []string, partitions int32) error {
	admin, err := newAdmin(brokers)
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, topic := range topics {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}

// deleteTopics deletes every topic whose name starts with prefix.
func deleteTopics(brokers, prefix string) error {
	admin, err := newAdmin(brokers)
	if err != nil {
		return err
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var errs []error
	for topic := range topics {
		if strings.HasPrefix(topic, prefix) {
			if err := admin.DeleteTopic(topic); err != nil {
				errs = append(errs, fmt.Errorf("delete topic %s: %w", topic, err))
			}
		}
	}
	return errors.Join(errs...)
}
