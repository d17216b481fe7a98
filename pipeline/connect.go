package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/pace"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// retryStartup calls connect until it succeeds or ctx ends, reporting each failure with the address (never a
// secret): a database or broker that is still starting, or briefly down, must not crash the bridge.
func retryStartup(ctx context.Context, log *slog.Logger, what, addr string, connect func() error) error {
	backoff := pace.Backoff(500*time.Millisecond, 15*time.Second)
	for {
		err := connect()
		// A permanent error says what to fix: waiting would not mend it. Kafka's errors name the broker already;
		// a database's gets the role it plays here.
		switch {
		case err == nil || kafka.IsPermanent(err):
			return err
		case postgres.IsPermanent(err):
			return fmt.Errorf("%s refused the bridge: %w", what, err)
		}
		wait := backoff.NextBackOff()
		log.Warn("cannot reach "+what+"; retrying", "address", addr, "retry_in", wait, "error", err)
		if pace.Sleep(ctx, wait); ctx.Err() != nil {
			return fmt.Errorf("%s at %s: %w (gave up: %w)", what, addr, err, ctx.Err())
		}
	}
}

// openDatabase opens a pool and waits until the database answers.
func openDatabase(ctx context.Context, log *slog.Logger, what, url string) (*pgxpool.Pool, error) {
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := retryStartup(ctx, log, what, postgres.Redact(url), func() error { return pool.Ping(ctx) }); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// openPublisher connects the batching producer, waiting for the broker if it is not up yet.
func openPublisher(ctx context.Context, log *slog.Logger, cfg kafka.Config) (*kafka.Publisher, error) {
	var pub *kafka.Publisher
	err := retryStartup(ctx, log, "kafka", fmt.Sprint(cfg.Brokers), func() (err error) {
		pub, err = kafka.NewPublisher(cfg)
		return err
	})
	return pub, err
}

func (c Config) kafka() kafka.Config {
	cfg := kafka.Config{
		Brokers: c.KafkaBrokers, Version: c.KafkaVersion, ClientID: "hotline-bridge",
		Partitions: int32(c.Partitions), Replication: int16(c.Replication), Security: c.KafkaSecurity.kafka(),
		SessionTimeout: c.KafkaSessionTimeout,
	}
	if c.CaptureRetention > 0 { // a replay from capture reads back as far as the capture topics keep
		cfg.Retention = map[string]time.Duration{}
		for _, topic := range c.captureTopics() {
			cfg.Retention[topic] = c.CaptureRetention
		}
	}
	return cfg
}

func ensureTopics(ctx context.Context, log *slog.Logger, cfg Config, topics []string) (partitions map[string]int, err error) {
	err = retryStartup(ctx, log, "kafka", fmt.Sprint(cfg.KafkaBrokers), func() (err error) {
		partitions, err = kafka.EnsureTopics(cfg.kafka(), topics)
		return err
	})
	return partitions, err
}

// openStore opens the store, with the bridge's schema and the dedicated store's tables in place.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*pgxpool.Pool, error) {
	db, err := openDatabase(ctx, log, "store database", cfg.StoreURL)
	if err != nil {
		return nil, err
	}
	if err = postgres.Migrate(ctx, db, log); err == nil {
		err = postgres.EnsureStore(ctx, db, cfg.StoreSchema)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
