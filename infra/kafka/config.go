package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// Config is how the bridge reaches the broker.
type Config struct {
	Brokers     []string
	Version     string // Kafka protocol version; sarama's default is older than Kafka 4 accepts
	ClientID    string
	Partitions  int32 // for topics the bridge creates
	Replication int16
	Security    Security
	// Retention is retention.ms for topics the bridge creates, by topic; a topic absent keeps the broker's default.
	Retention map[string]time.Duration
	// SessionTimeout is how long the broker waits for a consumer group member that stopped heartbeating (a
	// process killed or cut off) before it hands that member's partitions to the others; sarama's 10s when 0.
	SessionTimeout time.Duration
}

// Sarama builds the client configuration shared by the publisher, subscribers and admin.
func (c Config) Sarama() (*sarama.Config, error) {
	version, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		return nil, &PermanentError{Fix: "kafka_version must be a Kafka release such as 4.1.0", Err: err}
	}
	sc := sarama.NewConfig()
	sc.Version = version
	sc.ClientID = c.ClientID
	sc.Metadata.Retry.Max = 3
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	sc.Net.DialTimeout = 5 * time.Second
	// Idempotent, acknowledged by all in-sync replicas: a retried batch is not duplicated by the producer and an
	// acknowledged one survives a broker failover.
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 5
	sc.Producer.Retry.Backoff = 200 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Compression = sarama.CompressionSnappy
	sc.Producer.Flush.Messages = 1000
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	// sarama's default, under the broker's default message.max.bytes: a larger request would be refused for good.
	sc.Producer.MaxMessageBytes = 1000000
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	if err := c.Security.applySarama(sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// forTopicsOnly makes a producer's or a consumer's client track the metadata of the topics it uses alone: sarama
// otherwise keeps, and refreshes every ten minutes, the metadata of every topic on the cluster in each client
// (the Publisher has four). On a shared cluster of some hundred topics that was a fifth of the bridge's live heap
// during a catch-up (20 of 90 MB). Admin clients need the full view.
func forTopicsOnly(sc *sarama.Config) *sarama.Config {
	sc.Metadata.Full = false
	return sc
}
