package pipeline

import (
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/postgres"
)

// captureTopics lists every capture topic, in catalogue order.
func (c Config) captureTopics() []string {
	topics := make([]string, 0, len(events.Catalogue))
	for _, k := range events.Catalogue {
		topics = append(topics, events.CaptureTopic(c.TopicPrefix, k.Table))
	}
	return topics
}

// newCaptureRunner builds one poller per record kind from the catalogue.
// partitions is each capture topic's partition count (0 or missing: one envelope group).
func newCaptureRunner(cfg Config, log *slog.Logger, upstream, store *pgxpool.Pool, pub message.Publisher, partitions map[string]int, onPage func(capture.Page)) *capture.Runner {
	source := postgres.NewUpstreamSource(upstream)
	watermarks := postgres.NewWatermarks(store)
	pcfg := capture.Config{TopicPrefix: cfg.TopicPrefix, BatchSize: cfg.BatchSize, MaxCommitDelay: cfg.MaxCommitDelay,
		PageLog: postgres.NewTransferLog(store), OnPage: onPage}
	runner := &capture.Runner{Interval: cfg.PollInterval, MaxBackoff: 30 * cfg.PollInterval, Log: log}
	for _, kind := range events.Catalogue {
		pcfg.Partitions = partitions[events.CaptureTopic(cfg.TopicPrefix, kind.Table)]
		runner.Pollers = append(runner.Pollers, capture.NewPoller(kind, pcfg, source, watermarks, pub))
	}
	return runner
}
