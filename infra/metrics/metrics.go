package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
)

// Metrics holds the process-local counters, on a registry of the bridge's own (the global one would collect
// whatever a library registers there). Counters are incremented once per page, batch or record, never per row.
type Metrics struct {
	registry      *prometheus.Registry
	rowsCaptured  *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	published     *prometheus.CounterVec
	quarantined   *prometheus.CounterVec
	orphans       prometheus.Counter
	publishErrors prometheus.Counter
}

// New registers the counters with the Go runtime and process collectors. Every table's series start at zero, so
// that an increase is seen from the first row on.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		rowsCaptured: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_rows_captured_total",
			Help: "Upstream row versions capture published to its topics, by table. A round that failed part-way is read again from the durable watermark, so its rows may count twice."}, []string{"table"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_decisions_total",
			Help: "Row versions the sorter decided in committed batches, by table and verdict: a unit code, broadcast, not_wuhan, or parked (waiting for its parent, counted again once decided)."}, []string{"table", "unit"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_events_published_total",
			Help: "Distribution events the broker acknowledged on a unit's topic, by unit code (broadcast for the dictionary)."}, []string{"unit"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_quarantined_total",
			Help: "Rows the sorter set aside as bad (to the quarantine topic or bridge.quarantine), by table."}, []string{"table"}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_orphans_quarantined_total",
			Help: "Parked rows quarantined because their parent did not arrive within orphan_after."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridge_publish_errors_total",
			Help: "Failed attempts to forward a batch of outbox events (broker or store unreachable); each is retried."}),
	}
	for _, k := range events.Catalogue {
		m.rowsCaptured.WithLabelValues(k.Table)
		m.quarantined.WithLabelValues(k.Table)
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.rowsCaptured, m.decisions, m.published, m.quarantined, m.orphans, m.publishErrors,
	)
	return m
}

// Register adds a collector of the bridge's (the PostgreSQL state, readiness) to the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.registry.Register(c) }

// Handler serves the registry in the Prometheus exposition format. A collector that fails (a database that does
// not answer in time) leaves its series out and is logged; the rest is still served.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, ErrorLog: scrapeLog{log}, Timeout: scrapeTimeout + 2*checkTimeout,
	})
}

// scrapeLog reports a failed collection once, at warn.
type scrapeLog struct{ log *slog.Logger }

func (l scrapeLog) Println(v ...any) { l.log.Warn("collecting metrics failed", "error", v) }

// CapturePage is capture.Config's OnPage: the rows a page published, whether or not its watermark save then failed.
func (m *Metrics) CapturePage(p capture.Page) {
	if p.Published > 0 {
		m.rowsCaptured.WithLabelValues(p.Table).Add(float64(p.Published))
	}
}

// Sorted is sort.Sorter's OnBatch.
func (m *Metrics) Sorted(t sort.Tally) {
	for v, n := range t.Decisions {
		m.decisions.WithLabelValues(v.Table, v.Unit).Add(float64(n))
	}
	for table, n := range t.Quarantined {
		m.quarantined.WithLabelValues(table).Add(float64(n))
	}
}

// Quarantined counts a row the quarantine topic's recorder newly set aside.
func (m *Metrics) Quarantined(table string) { m.quarantined.WithLabelValues(table).Inc() }

// OrphansQuarantined counts the orphans a parking sweep expired.
func (m *Metrics) OrphansQuarantined(n int) { m.orphans.Add(float64(n)) }

// Forwarded is distribute.Config's Forwarded: a batch's events by unit, one counter update per unit.
func (m *Metrics) Forwarded(batch []events.Distribution) {
	perUnit := map[string]int{}
	for _, d := range batch {
		perUnit[d.Unit]++
	}
	for unit, n := range perUnit {
		m.published.WithLabelValues(unit).Add(float64(n))
	}
}

// PublishFailed is distribute.Config's Failed.
func (m *Metrics) PublishFailed(error) { m.publishErrors.Inc() }
