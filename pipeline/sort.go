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

// newSortRouter builds the router that sorts every capture topic into the dedicated store, a record (an envelope
// of rows) per store transaction. Rows the sorter cannot handle go to the quarantine topic with their reason, and
// a second handler records them where inspection sees them; any other failure (a database down) is retried,
// never dropped.
func newSortRouter(cfg Config, log *slog.Logger, sortRecord message.HandlerFunc, store *postgres.Store, pub message.Publisher) (*message.Router, error) {
	logger := watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return nil, err
	}
	quarantine := QuarantineTopic(cfg.TopicPrefix)
	poison, err := middleware.PoisonQueueWithFilter(pub, quarantine, isBadRow)
	if err != nil {
		return nil, err
	}
	// The retry middleware's own logger knows nothing of the message; logFailedAttempts reports each failed
	// attempt instead, with the record's trace id.
	retry := middleware.Retry{
		MaxRetries: 5, InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second, Multiplier: 2,
		ShouldRetry: func(p middleware.RetryParams) bool { return !isBadRow(p.Err) },
	}
	sortSub, err := kafka.NewSubscriber(cfg.kafka(), SortGroup, logger)
	if err != nil {
		return nil, err
	}
	for _, k := range events.Catalogue {
		h := router.AddHandler(sortHandler+k.Table, events.CaptureTopic(cfg.TopicPrefix, k.Table), sortSub, quarantine, sharedPublisher{pub}, sortRecord)
		// Outermost first: a record that cannot be read at all goes to quarantine; anything else is retried, and
		// after that the message is nacked and redelivered, never dropped. Recoverer is innermost so that a panic
		// becomes an error those see. They wrap the sort handlers only: around the quarantine recorder, a panic
		// there would republish the message onto the very topic it consumes, in a loop.
		// The process span is outermost, so that everything below, retries included, runs in it.
		h.AddMiddleware(kafka.ProcessSpans(SortGroup), poison, retry.Middleware, logFailedAttempts(log), middleware.Recoverer)
	}
	qSub, err := kafka.NewSubscriber(cfg.kafka(), QuarantineGroup, logger)
	if err != nil {
		return nil, err
	}
	router.AddConsumerHandler(quarantineName, quarantine, qSub, recordQuarantine(store, log)).
		AddMiddleware(kafka.ProcessSpans(QuarantineGroup))
	return router, nil
}

// logFailedAttempts reports a failed attempt at sorting a record, which the retry middleware around it then
// retries; bad rows are not failures here, they go to quarantine.
func logFailedAttempts(log *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil && !isBadRow(err) && !errors.Is(err, context.Canceled) {
				log.WarnContext(msg.Context(), "sorting a capture record failed; retrying",
					"topic", message.SubscribeTopicFromCtx(msg.Context()), "record", msg.UUID, "error", err)
			}
			return out, err
		}
	}
}

// sharedPublisher is a publisher the bridge owns and closes itself: the router closes each handler's publisher
// when the handler stops, and the sort handlers share one.
type sharedPublisher struct{ message.Publisher }

func (sharedPublisher) Close() error { return nil }

func isBadRow(err error) bool {
	var bad *sort.BadRowError
	var panicked middleware.RecoveredPanicError
	return errors.As(err, &bad) || errors.As(err, &panicked)
}

// recordQuarantine keeps a quarantined row, with its reason, in the store's quarantine table. A record whose rows
// cannot be read is the very reason it is here: it is kept as one entry with what its headers say.
func recordQuarantine(store *postgres.Store, log *slog.Logger) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
		rows, err := capture.RowVersionsFromMessage(msg)
		if err != nil {
			v, _ := capture.RowVersionFromMessage(msg)
			rows = []events.RowVersion{v}
		}
		for _, v := range rows {
			if err := store.Quarantine(msg.Context(), v, reason); err != nil {
				return err
			}
			// The reason stays in the store: it may quote the row's values.
			log.WarnContext(msg.Context(), "row quarantined", "table", v.Table, "row_id", v.ID)
		}
		return nil
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

// pruneLedger keeps the national ledger bounded: every interval it forgets what can no longer matter.
func pruneLedger(ctx context.Context, log *slog.Logger, store *postgres.Store, interval, retention time.Duration) {
	for {
		pruned, err := store.PruneLedger(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the ledger failed; retrying", "error", err)
		case pruned > 0:
			log.Info("ledger pruned", "entries", pruned, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
