package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Ping asks the configured brokers, one after the other, for the metadata of one topic, on a connection of its
// own: the clients the bridge keeps open talk to the brokers the cluster advertises and retry on their own, so
// only a fresh request says whether the cluster answers now. It returns nil at the first broker that answers.
func Ping(ctx context.Context, cfg Config, topic string) error {
	sc, err := cfg.Sarama()
	if err != nil {
		return err
	}
	timeout := 2 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), time.Millisecond)
	}
	sc.Net.DialTimeout, sc.Net.ReadTimeout, sc.Net.WriteTimeout = timeout, timeout, timeout
	var errs []error
	for _, addr := range cfg.Brokers {
		err := pingBroker(sc, addr, topic)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("broker %s: %w", addr, err))
	}
	return cfg.explain(errors.Join(errs...))
}

// pingBroker asks addr for the metadata of the topics (none: only the brokers).
func pingBroker(sc *sarama.Config, addr string, topics ...string) error {
	b := sarama.NewBroker(addr)
	if err := b.Open(sc); err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	req := sarama.NewMetadataRequest(sc.Version, topics)
	if len(topics) == 0 {
		req.Topics = []string{} // empty, not nil: nil asks for every topic
	}
	_, err := b.GetMetadata(req)
	return err
}
