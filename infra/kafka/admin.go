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
	var missing []string
	for _, topic := range topics {
		if detail, ok := existing[topic]; ok {
			partitions[topic] = int(detail.NumPartitions)
		} else {
			missing = append(missing, topic)
			partitions[topic] = int(cfg.Partitions)
		}
	}
	if err := createTopics(admin, cfg, sc, missing); err != nil {
		return nil, err
	}
	return partitions, nil
}

// createTopics creates the topics in one request: one at a time, the thirty-odd topics of a first start took a
// second, about 30 ms each waiting for the controller (and the client keeps one request in flight per broker).
func createTopics(admin sarama.ClusterAdmin, cfg Config, sc *sarama.Config, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	details := make(map[string]*sarama.TopicDetail, len(topics))
	for _, topic := range topics {
		detail := &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.Replication}
		if keep, ok := cfg.Retention[topic]; ok {
			detail.ConfigEntries = map[string]*string{"retention.ms": new(strconv.FormatInt(keep.Milliseconds(), 10))}
		}
		details[topic] = detail
	}
	controller, err := admin.Controller()
	if err != nil {
		return fmt.Errorf("find the controller: %w", err)
	}
	rsp, err := controller.CreateTopics(sarama.NewCreateTopicsRequest(sc.Version, details, sc.Admin.Timeout, false))
	if err != nil {
		return fmt.Errorf("create %d topics: %w", len(topics), err)
	}
	var errs []error
	for _, topic := range topics {
		switch e, ok := rsp.TopicErrors[topic]; {
		case !ok:
			errs = append(errs, fmt.Errorf("create topic %s: %w", topic, sarama.ErrIncompleteResponse))
		case !errors.Is(e.Err, sarama.ErrNoError) && !errors.Is(e.Err, sarama.ErrTopicAlreadyExists):
			errs = append(errs, fmt.Errorf("create topic %s: %w", topic, e))
		}
	}
	return errors.Join(errs...)
}
