package kafka_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/kafka"
)

// EnsureTopics creates every missing topic, in one request, with the configured partitions and retention, and
// leaves an existing topic as it is.
func TestEnsureTopicsCreatesTheMissingAndKeepsTheExisting(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	prefix := testenv.TopicPrefix(t)
	existing, kept, plain := prefix+"existing", prefix+"kept", prefix+"plain"
	cfg := kafka.Config{Brokers: brokers, Version: "4.1.0", Partitions: 4, Replication: 1,
		Retention: map[string]time.Duration{kept: 2 * time.Hour}}
	sc, err := cfg.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(existing, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}

	partitions, err := kafka.EnsureTopics(cfg, []string{existing, kept, plain})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{existing: 2, kept: 4, plain: 4}; len(partitions) != 3 ||
		partitions[existing] != 2 || partitions[kept] != 4 || partitions[plain] != 4 {
		t.Errorf("partitions %v, want %v", partitions, want)
	}
	metadata, err := admin.DescribeTopics([]string{kept, plain})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metadata {
		if m.Err != sarama.ErrNoError || len(m.Partitions) != 4 {
			t.Errorf("topic %s on the broker: %v with %d partitions, want 4", m.Name, m.Err, len(m.Partitions))
		}
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: kept, ConfigNames: []string{"retention.ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Value != "7200000" {
		t.Errorf("retention.ms of %s: %+v, want 7200000", kept, entries)
	}

	again, err := kafka.EnsureTopics(cfg, []string{existing, kept, plain})
	if err != nil || again[existing] != 2 || again[kept] != 4 {
		t.Errorf("second EnsureTopics: %v, %v; want the same counts and no error", again, err)
	}
}
