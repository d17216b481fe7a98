package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/metrics"
	"hotline-bridge/infra/postgres"
)

// Consumer groups and handler names are wire names: renaming one re-consumes or skips a topic. Never derive
// them from Go identifiers. A group is named after the topic prefix, as its topics are: bridges of two
// deployments on one cluster (production and staging) then never share a group, whose every join and leave
// would pause the other's consumers for a rebalance; the instances of one deployment do share it.
func SortGroup(prefix string) string { return prefix + ".bridge.sort" }

// QuarantineGroup records what the quarantine topic receives.
func QuarantineGroup(prefix string) string { return prefix + ".bridge.quarantine" }

// AuditGroup keeps the audit topic's hops in the trail.
func AuditGroup(prefix string) string { return prefix + ".bridge.audit" }

const (
	sortHandler    = "sort."
	quarantineName = "quarantine.record"
	auditName      = "audit.record"
)

// QuarantineTopic receives every row the sorter cannot handle, with the reason in reason_poisoned.
func QuarantineTopic(prefix string) string { return prefix + ".quarantine" }

// newSortRouter builds the router that sorts every capture topic into the dedicated store, a record (an envelope
// of rows) per store transaction. Rows the sorter cannot handle go to the quarantine topic with their reason, and
// a second handler records them where inspection sees them; any other failure (a database down) is retried,
// never dropped.
func newSortRouter(cfg Config, log *slog.Logger, sortRecord message.HandlerFunc, recordQuarantined message.NoPublishHandlerFunc, trail audit.Trail, pub message.Publisher) (*message.Router, error) {
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
	sortSub, err := kafka.NewSubscriber(cfg.kafka(), SortGroup(cfg.TopicPrefix), logger)
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
		h.AddMiddleware(kafka.ProcessSpans(SortGroup(cfg.TopicPrefix)), poison, retry.Middleware, logFailedAttempts(log), middleware.Recoverer, captureOrigin)
	}
	qSub, err := kafka.NewSubscriber(cfg.kafka(), QuarantineGroup(cfg.TopicPrefix), logger)
	if err != nil {
		return nil, err
	}
	router.AddConsumerHandler(quarantineName, quarantine, qSub, recordQuarantined).
		AddMiddleware(kafka.ProcessSpans(QuarantineGroup(cfg.TopicPrefix)))
	if err := addAuditHandler(router, cfg, logger, trail, pub, retry); err != nil {
		return nil, err
	}
	return router, nil
}

// addAuditHandler adds the audit subscriber: it keeps the audit topic's hops in the trail, retrying a database
// outage; a record that cannot be read goes to the quarantine topic, where inspection sees it.
func addAuditHandler(router *message.Router, cfg Config, logger watermill.LoggerAdapter, trail audit.Trail, pub message.Publisher, retry middleware.Retry) error {
	sub, err := kafka.NewSubscriber(cfg.kafka(), AuditGroup(cfg.TopicPrefix), logger)
	if err != nil {
		return err
	}
	poison, err := middleware.PoisonQueueWithFilter(pub, QuarantineTopic(cfg.TopicPrefix), func(err error) bool {
		return errors.Is(err, audit.ErrUnreadable)
	})
	if err != nil {
		return err
	}
	retry.ShouldRetry = func(p middleware.RetryParams) bool { return !errors.Is(p.Err, audit.ErrUnreadable) }
	recorder := audit.NewRecorder(trail)
	h := router.AddConsumerHandler(auditName, events.AuditTopic(cfg.TopicPrefix), sub, recorder.Handle)
	h.AddMiddleware(poison, retry.Middleware)
	return nil
}

// captureOrigin tells the sorter which capture record a batch came in, for the captured hops of its rows.
func captureOrigin(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := msg.Context()
		o := sort.Origin{Topic: message.SubscribeTopicFromCtx(ctx)}
		o.Partition, _ = wmkafka.MessagePartitionFromCtx(ctx)
		o.Offset, _ = wmkafka.MessagePartitionOffsetFromCtx(ctx)
		o.At, _ = wmkafka.MessageTimestampFromCtx(ctx)
		msg.SetContext(sort.WithOrigin(ctx, o))
		return h(msg)
	}
}

// quarantinedOrigin is the capture record a rejected row came in, as the sorter wrote it into the quarantine
// record; the record's own time stands for the capture's.
func quarantinedOrigin(msg *message.Message) context.Context {
	ctx := msg.Context()
	o := sort.Origin{Topic: msg.Metadata.Get(middleware.PoisonedTopicKey)}
	partition, err1 := strconv.ParseInt(msg.Metadata.Get(events.MetaCapturePartition), 10, 32)
	offset, err2 := strconv.ParseInt(msg.Metadata.Get(events.MetaCaptureOffset), 10, 64)
	if o.Topic == "" || err1 != nil || err2 != nil {
		return ctx
	}
	o.Partition, o.Offset = int32(partition), offset
	o.At, _ = wmkafka.MessageTimestampFromCtx(ctx)
	return sort.WithOrigin(ctx, o)
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

// recordQuarantine keeps a quarantined row, with its reason, in the store's quarantine table, and counts the rows
// newly set aside. A record whose rows cannot be read is the very reason it is here: it is kept as one entry with
// what its headers say.
func recordQuarantine(store *postgres.Store, m *metrics.Metrics, log *slog.Logger) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
		rows, err := capture.RowVersionsFromMessage(msg)
		if err != nil {
			v, _ := capture.RowVersionFromMessage(msg)
			rows = []events.RowVersion{v}
		}
		origin := quarantinedOrigin(msg)
		for _, v := range rows {
			recorded, err := store.Quarantine(msg.Context(), v, reason, sort.QuarantineHops(origin, v, reason))
			if err != nil {
				return err
			}
			if !recorded { // a record redelivered, or a row rejected again when its capture record was
				continue
			}
			m.Quarantined(v.Table)
			// The reason stays in the store: it may quote the row's values.
			log.WarnContext(msg.Context(), "row quarantined", "table", v.Table, "row_id", v.ID)
		}
		return nil
	}
}

// sweepParked releases parked rows whose parent has arrived and expires orphans, every interval until ctx ends.
func sweepParked(ctx context.Context, log *slog.Logger, sorter *sort.Sorter, store *postgres.Store, m *metrics.Metrics, interval, maxWait time.Duration) {
	for {
		released, expired, err := sorter.Sweep(ctx, store, maxWait)
		m.OrphansQuarantined(expired)
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

// pruneAudit keeps the audit trail within its retention: every interval it forgets hops older than that.
func pruneAudit(ctx context.Context, log *slog.Logger, trail *postgres.AuditTrail, interval, retention time.Duration) {
	for {
		pruned, err := trail.PruneAudit(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the audit trail failed; retrying", "error", err)
		case pruned > 0:
			log.Info("audit trail pruned", "hops", pruned, "older_than", retention)
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
