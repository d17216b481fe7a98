package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// Consumer groups and handler names are wire names: renaming one re-consumes or skips a topic. Never derive
// them from Go identifiers.
const (
	SortGroup       = "hotline-bridge.sort"
	QuarantineGroup = "hotline-bridge.quarantine"
	sortHandler     = "sort."
	quarantineName  = "quarantine.record"
)

// QuarantineTopic receives every row the sorter cannot handle, with the reason in reason_poisoned.
func QuarantineTopic(prefix string) string { return prefix + ".quarantine" }

// newSortRouter builds the router that sorts every capture topic into the dedicated store. Bad rows go to the
// quarantine topic through Watermill's poison queue, and a second handler records them where inspection sees
// them; any other failure (a database down) is retried, never dropped.
func newSortRouter(cfg Config, log *slog.Logger, sorter *sort.Sorter, store *postgres.Store, pub message.Publisher) (*message.Router, error) {
	logger := watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueueWithFilter(pub, QuarantineTopic(cfg.TopicPrefix), isBadRow)
	if err != nil {
		return nil, err
	}
	// Outermost first: a bad row goes to quarantine; anything else is retried, and after that the message is
	// nacked and redelivered, never dropped. Recoverer is innermost so that a panic becomes an error those see: a
	// row that crashes the sorter is quarantined like a bad one instead of blocking its partition forever.
	router.AddMiddleware(poison, middleware.Retry{
		MaxRetries: 5, InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
		ShouldRetry: func(p middleware.RetryParams) bool { return !isBadRow(p.Err) }, Logger: logger,
	}.Middleware, middleware.Recoverer)
	sortSub, err := kafka.NewSubscriber(cfg.kafka(), SortGroup, logger)
	if err != nil {
		return nil, err
	}
	for _, k := range events.Catalogue {
		router.AddConsumerHandler(sortHandler+k.Table, events.CaptureTopic(cfg.TopicPrefix, k.Table), sortSub, sorter.Handle)
	}
	qSub, err := kafka.NewSubscriber(cfg.kafka(), QuarantineGroup, logger)
	if err != nil {
		return nil, err
	}
	router.AddConsumerHandler(quarantineName, QuarantineTopic(cfg.TopicPrefix), qSub, recordQuarantine(store))
	return router, nil
}

func isBadRow(err error) bool {
	var bad *sort.BadRowError
	var panicked middleware.RecoveredPanicError
	return errors.As(err, &bad) || errors.As(err, &panicked)
}

// recordQuarantine keeps a poisoned event, with its reason, in the store's quarantine table.
func recordQuarantine(store *postgres.Store) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		v, _ := capture.RowVersionFromMessage(msg) // a malformed header is the very reason it is here: keep what parsed
		return store.Quarantine(msg.Context(), v, msg.Metadata.Get(middleware.ReasonForPoisonedKey))
	}
}

// sweepParked releases parked rows whose parent has arrived and expires orphans, every interval until ctx ends.
func sweepParked(ctx context.Context, log *slog.Logger, sorter *sort.Sorter, store *postgres.Store, interval, maxWait time.Duration) {
	for {
		released, expired, err := sorter.Sweep(ctx, store, maxWait)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("sweeping parked rows failed; retrying", "error", err)
		case released+expired > 0:
			log.Info("parked rows swept", "released", released, "quarantined_orphans", expired)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
