package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State reads what is state in PostgreSQL, shared by every bridge instance.
type State interface {
	// Backlogs is the work waiting in the store: rows parked for a parent, outbox events not yet on the broker
	// and the age of the oldest of those (0 when none).
	Backlogs(ctx context.Context) (Backlogs, error)
	// CaptureLag is, per table, how far capture's durable watermark is behind the settle line (the upstream
	// clock minus max_commit_delay): the age there of the oldest upstream row it has not passed, 0 when every
	// settled row is passed. A quiet table has no lag, however old its last row.
	CaptureLag(ctx context.Context) (map[string]time.Duration, error)
}

// Backlogs is the store's share of State.
type Backlogs struct {
	Parked, Outbox int64
	OutboxOldest   time.Duration
}

// scrapeTimeout bounds the queries of one scrape: a slow database must not hold the scrape past Prometheus's
// own timeout (10 s by default).
const scrapeTimeout = 3 * time.Second

var (
	parkedDesc = prometheus.NewDesc("bridge_parked_rows",
		"Rows parked in the store waiting for their parent (bridge.parked), read from PostgreSQL at scrape time.", nil, nil)
	outboxDesc = prometheus.NewDesc("bridge_outbox_backlog",
		"Distribution events committed and not yet on the broker (bridge.outbox), read from PostgreSQL at scrape time.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc("bridge_outbox_oldest_seconds",
		"Age of the oldest distribution event not yet on the broker; 0 when the outbox is drained.", nil, nil)
	lagDesc = prometheus.NewDesc("bridge_capture_lag_seconds",
		"How far capture's durable watermark is behind the settle line (upstream clock minus max_commit_delay): the age there of the oldest upstream row not yet passed; 0 when caught up.", []string{"table"}, nil)
)

// StateCollector reads State at every scrape rather than caching it in the process: every bridge instance then
// reports the same truth, and a value is never older than the scrape.
type StateCollector struct{ state State }

// NewStateCollector collects state's gauges.
func NewStateCollector(state State) *StateCollector { return &StateCollector{state: state} }

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{parkedDesc, outboxDesc, outboxAgeDesc, lagDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the store and the upstream are read at once, and one that fails or
// times out leaves only its own series out.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { c.collectBacklogs(ctx, ch) })
	wg.Go(func() { c.collectLag(ctx, ch) })
	wg.Wait()
}

func (c *StateCollector) collectBacklogs(ctx context.Context, ch chan<- prometheus.Metric) {
	b, err := c.state.Backlogs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(parkedDesc, prometheus.GaugeValue, float64(b.Parked))
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(b.Outbox))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, b.OutboxOldest.Seconds())
}

func (c *StateCollector) collectLag(ctx context.Context, ch chan<- prometheus.Metric) {
	lag, err := c.state.CaptureLag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
		return
	}
	for table, d := range lag {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, d.Seconds(), table)
	}
}
