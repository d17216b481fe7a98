package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/audit"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/handlers/gateway"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/reconcile"
	"hotline-bridge/handlers/replay"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/atrest"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/infra/tracing"
)

// bridge is everything a running bridge holds open.
type bridge struct {
	cfg       Config
	log       *slog.Logger
	store     *pgxpool.Pool
	upstream  *pgxpool.Pool
	pub       *kafka.Publisher
	dedicated *postgres.Store
	sorter    *sort.Sorter
	// partitions is every topic's partition count, as the broker has it.
	partitions map[string]int
	counts     *RunProgress
	observer   *observer
	sender     *kafka.Sender
	forwarder  *distribute.Forwarder
	trail      *postgres.AuditTrail
	relay      *audit.Relay
	offsets    *kafka.Offsets
	reconciler *reconcile.Reconciler
	replays    *replay.Runner
}

// Run starts the bridge and runs until ctx ends, or, with untilIdle, until everything is caught up: every kind
// captured, every captured event sorted, nothing parked that could be decided.
func Run(ctx context.Context, cfg Config, log *slog.Logger, untilIdle bool) error {
	return RunCounted(ctx, cfg, log, untilIdle, nil)
}

// RunCounted is Run counting its work in counts (nil counts nothing).
func RunCounted(ctx context.Context, cfg Config, log *slog.Logger, untilIdle bool, counts *RunProgress) error {
	return runWith(ctx, cfg, log, untilIdle, counts, runOptions{now: time.Now, reportEvery: time.Minute})
}

// runOptions are what tests replace: the clock the daily report reads and how often it looks at it.
type runOptions struct {
	now         func() time.Time
	reportEvery time.Duration
}

func runWith(ctx context.Context, cfg Config, log *slog.Logger, untilIdle bool, counts *RunProgress, opts runOptions) error {
	stopTracing, err := tracing.Setup(ctx)
	if err != nil {
		return err
	}
	defer flushSpans(ctx, log, stopTracing)
	b, err := open(ctx, cfg, log, counts)
	if err != nil {
		return err
	}
	defer b.close()
	router, err := newSortRouter(cfg, log, counts.countSorted(b.sorter.Handle), recordQuarantine(b.dedicated, b.observer.metrics, log), b.trail, b.pub)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	routerDone := make(chan error, 1)
	go func() { routerDone <- router.Run(runCtx) }()
	select {
	case <-router.Running():
	case err := <-routerDone:
		return fmt.Errorf("sort router: %w", err)
	}
	counts.watch(runCtx, log, b.upstream, b.store)
	var workers sync.WaitGroup
	workers.Go(func() {
		sweepParked(runCtx, log, b.sorter, b.dedicated, b.observer.metrics, 2*time.Second, cfg.OrphanAfter)
	})
	workers.Go(func() { pruneLedger(runCtx, log, b.dedicated, 10*time.Minute, cfg.LedgerRetention) })
	workers.Go(func() {
		pruneTransferLogs(runCtx, log, postgres.NewTransferLog(b.store), 10*time.Minute, cfg.TransferLogRetention)
	})
	workers.Go(func() {
		if err := b.forwarder.Run(runCtx, 100*time.Millisecond); err != nil {
			stop(fmt.Errorf("forwarder: %w", err)) // permanent: the bridge cannot distribute until it is fixed
		}
	})
	workers.Go(func() { b.relay.Run(runCtx, 500*time.Millisecond) })
	workers.Go(func() { pruneAudit(runCtx, log, b.trail, time.Hour, cfg.AuditRetention) })
	if cfg.ReconcileInterval > 0 && !untilIdle { // a catch-up ends; bridge reconcile --once checks after it
		workers.Go(func() { scheduleReconciliation(runCtx, b.reconciler, cfg.ReconcileInterval) })
	}
	if cfg.ReportDir != "" && !untilIdle { // yesterday's report, once a day after midnight in Shanghai
		daily := newDailyReports(cfg, b.store, b.offsets, log, opts.now)
		workers.Go(func() { daily.run(runCtx, opts.now, opts.reportEvery) })
	}
	if !untilIdle { // replay jobs handed to the bridges (bridge replay --submit) run beside the live flow
		workers.Go(func() { runHandedReplays(runCtx, log, b.replays, 2*time.Second) })
	}
	if cfg.InspectInterval > 0 && !untilIdle { // kept in bridge.inspection for the status page
		workers.Go(func() { scheduleInspection(runCtx, log, cfg) })
	}
	workers.Go(func() { b.reloadUnitsOnHangup(runCtx) })
	gw, err := b.serveGateway(runCtx, &workers)
	if err != nil {
		stop(nil)
		closeRouter(router, log)
		workers.Wait()
		return err
	}
	workers.Go(func() {
		// A router that stops while the bridge runs would leave capture filling topics nobody sorts.
		if err := <-routerDone; runCtx.Err() == nil {
			stop(fmt.Errorf("sort router stopped: %v", err))
		}
	})
	err = b.runCapture(runCtx, untilIdle)
	if err == nil && untilIdle {
		err = b.waitSorted(runCtx)
	}
	if err == nil && untilIdle {
		err = b.drainOutbox(runCtx)
	}
	if err == nil && untilIdle {
		err = b.waitAudited(runCtx)
	}
	if cause := context.Cause(runCtx); cause != nil && ctx.Err() == nil {
		err = cause // the router failed, and everything else stopped because of it
	}
	stop(nil)
	gw.shutdown(log)
	closeRouter(router, log)
	workers.Wait()
	return err
}

// serveGateway serves the sign-for and feedback gateway beside the flow when gateway_enabled, with its
// confirmer among the workers; nil (nothing to shut down) otherwise.
func (b *bridge) serveGateway(ctx context.Context, workers *sync.WaitGroup) (*gatewayServer, error) {
	if !b.cfg.GatewayEnabled {
		return nil, nil
	}
	g, err := startGateway(ctx, b.cfg, b.log, b.store)
	if err != nil {
		return nil, err
	}
	workers.Go(func() { gateway.RunConfirmer(ctx, g.store, b.cfg.GatewayConfirmInterval, b.log) })
	return g, nil
}

func open(ctx context.Context, cfg Config, log *slog.Logger, counts *RunProgress) (_ *bridge, err error) {
	b := &bridge{cfg: cfg, log: log, counts: counts}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	if b.observer, err = observe(ctx, cfg, log); err != nil {
		return nil, err
	}
	if b.store, err = openDatabase(ctx, log, "store database", cfg.StoreURL); err != nil {
		return nil, err
	}
	if err = postgres.Migrate(ctx, b.store, log); err != nil {
		return nil, err
	}
	if err = postgres.EnsureStore(ctx, b.store, cfg.StoreSchema); err != nil {
		return nil, err
	}
	var keys *atrest.Keyring
	if b.dedicated, keys, err = openDedicated(ctx, cfg, b.store, log); err != nil {
		return nil, err
	}
	if b.upstream, err = openDatabase(ctx, log, "upstream database", cfg.UpstreamURL); err != nil {
		return nil, err
	}
	if b.pub, err = openPublisher(ctx, log, cfg.kafka()); err != nil {
		return nil, err
	}
	units, err := cfg.units()
	if err != nil {
		return nil, err
	}
	if b.partitions, err = ensureTopics(ctx, log, cfg, cfg.allTopics(units)); err != nil {
		return nil, err
	}
	b.sorter = sort.NewSorter(units, b.dedicated, postgres.NewUpstreamSource(b.upstream))
	b.sorter.OnBatch = b.observer.metrics.Sorted
	b.observer.serveStatus(cfg, log, b.sorter.Units)
	if b.sender, err = kafka.NewSender(cfg.kafka(), cfg.TopicPrefix); err != nil {
		return nil, err
	}
	m := b.observer.metrics
	forwarded := func(batch []events.Distribution) { counts.forwarded(batch); m.Forwarded(batch) }
	b.forwarder, err = newForwarder(ctx, cfg, b.store, b.sender, log, distribute.Config{Forwarded: forwarded, Failed: m.PublishFailed, Payloads: keys})
	b.trail = postgres.NewAuditTrail(b.store)
	b.relay = audit.NewRelay(postgres.NewAuditOutbox(b.store), b.pub, events.AuditTopic(cfg.TopicPrefix), log)
	if err != nil {
		return nil, err
	}
	b.offsets = kafka.NewOffsets(cfg.kafka())
	if b.reconciler, err = newReconciler(cfg, b.store, b.offsets, sourceSide{upstream: b.upstream, sorter: b.sorter}, log); err != nil {
		return nil, err
	}
	b.replays, err = newReplayRunner(cfg, b.store, b.dedicated, b.upstream, log)
	return b, err
}

func (b *bridge) close() {
	if b.observer != nil {
		b.observer.close(b.log)
	}
	if b.pub != nil {
		_ = b.pub.Close()
	}
	if b.sender != nil {
		_ = b.sender.Close()
	}
	if b.offsets != nil {
		_ = b.offsets.Close()
	}
	for _, db := range []*pgxpool.Pool{b.upstream, b.store} {
		if db != nil {
			db.Close()
		}
	}
}

func (b *bridge) runCapture(ctx context.Context, untilIdle bool) error {
	m := b.observer.metrics
	runner := newCaptureRunner(b.cfg, b.log, b.upstream, b.store, b.pub, b.partitions, func(p capture.Page) {
		b.counts.onPage(p)
		m.CapturePage(p)
	})
	if err := runner.Run(ctx, untilIdle); err != nil {
		return err
	}
	b.log.Info("capture caught up")
	return nil
}

// waitSorted returns once the sort and quarantine groups have consumed everything and parking holds nothing
// decidable, twice in a row (offsets are committed asynchronously).
// idleCheckEvery spaces the checks that end a run to idle: each is a handful of broker round trips, and a
// catch-up's end waited about a second for the two of them in a row that sorting and the audit trail each need.
const idleCheckEvery = 100 * time.Millisecond

func (b *bridge) waitSorted(ctx context.Context) error {
	calm := 0
	for calm < 2 {
		idle, err := b.sortIdle(ctx)
		if err != nil {
			b.log.Warn("checking whether sorting is idle failed; retrying", "error", err)
		}
		if idle {
			calm++
		} else {
			calm = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(idleCheckEvery):
		}
	}
	b.log.Info("sorting caught up")
	return nil
}

func (b *bridge) sortIdle(ctx context.Context) (bool, error) {
	lag, err := kafka.Lag(b.cfg.kafka(), SortGroup(b.cfg.TopicPrefix), b.cfg.captureTopics())
	if err != nil || lag > 0 {
		return false, err
	}
	if lag, err = kafka.Lag(b.cfg.kafka(), QuarantineGroup(b.cfg.TopicPrefix), []string{QuarantineTopic(b.cfg.TopicPrefix)}); err != nil || lag > 0 {
		return false, err
	}
	released, expired, err := b.sorter.Sweep(ctx, b.dedicated, b.cfg.OrphanAfter)
	b.observer.metrics.OrphansQuarantined(expired)
	return released == 0, err
}

// drainOutbox returns once every committed distribution event is on the broker.
func (b *bridge) drainOutbox(ctx context.Context) error {
	n, err := b.forwarder.Drain(ctx)
	if err == nil {
		b.log.Info("outbox drained", "published", n)
	}
	return err
}

// waitAudited returns once every hop recorded is relayed and the audit subscriber has kept it, twice in a row
// (offsets are committed asynchronously).
func (b *bridge) waitAudited(ctx context.Context) error {
	for calm := 0; calm < 2; {
		if err := b.relay.Drain(ctx); err != nil {
			return err
		}
		lag, err := kafka.Lag(b.cfg.kafka(), AuditGroup(b.cfg.TopicPrefix), []string{events.AuditTopic(b.cfg.TopicPrefix)})
		switch {
		case err != nil:
			b.log.Warn("checking whether the audit trail is complete failed; retrying", "error", err)
			calm = 0
		case lag == 0:
			calm++
		default:
			calm = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(idleCheckEvery):
		}
	}
	b.log.Info("audit trail complete")
	return nil
}

// allTopics is every topic the bridge writes: capture, quarantine, audit, one per unit, broadcast and upstream
// (the gateway's events for the national platform).
func (c Config) allTopics(units *jurisdiction.Units) []string {
	topics := append(c.captureTopics(), QuarantineTopic(c.TopicPrefix), events.AuditTopic(c.TopicPrefix),
		events.UnitTopic(c.TopicPrefix, events.BroadcastUnit), events.UnitTopic(c.TopicPrefix, events.UpstreamUnit))
	for _, code := range units.Codes() {
		topics = append(topics, events.UnitTopic(c.TopicPrefix, code))
	}
	return topics
}

func closeRouter(router *message.Router, log *slog.Logger) {
	if err := router.Close(); err != nil {
		log.Warn("sort router did not close cleanly", "error", err)
	}
}

// flushSpans exports the spans still buffered, within a bound: a collector that is down must not hold the exit.
func flushSpans(ctx context.Context, log *slog.Logger, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("exporting the last spans failed", "error", err)
	}
}
