package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// checkTimeout is how long a dependency has to answer a readiness probe.
const checkTimeout = 2 * time.Second

// Dependency is something the bridge cannot work without, and how to ask whether it answers. Probe errors must
// not carry secrets: the drivers' errors name the address, never a password.
type Dependency struct {
	Name  string // store, upstream, broker
	Probe func(ctx context.Context) error
}

// Health answers /healthz and /readyz, and exports bridge_ready{dependency} at every scrape so that Prometheus can
// alert on a dependency the bridge cannot reach.
type Health struct{ deps []Dependency }

// NewHealth probes deps, in this order in every answer.
func NewHealth(deps ...Dependency) *Health { return &Health{deps: deps} }

// Result is one dependency's answer; Err is nil when it answered in time.
type Result struct {
	Name string
	Err  error
}

// Detail is why the dependency did not answer, on one line; empty when it did.
func (r Result) Detail() string {
	if r.Err == nil {
		return ""
	}
	return oneLine(r.Err)
}

// Check probes every dependency at once, each within checkTimeout.
func (h *Health) Check(ctx context.Context) []Result {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	out := make([]Result, len(h.deps))
	var wg sync.WaitGroup
	for i, d := range h.deps {
		wg.Go(func() { out[i] = Result{Name: d.Name, Err: probe(ctx, d)} })
	}
	wg.Wait()
	return out
}

// probe runs one probe, giving up at ctx's deadline even when the driver does not.
func probe(ctx context.Context, d Dependency) error {
	done := make(chan error, 1)
	go func() { done <- d.Probe(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", checkTimeout)
	}
}

// Healthz answers 200 as long as the process serves: liveness only, so that an outage of a dependency (which the
// bridge waits out) never gets it restarted.
func (h *Health) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "ok")
}

// Readyz answers 200 when every dependency answers, 503 otherwise; the body has a line per dependency,
// "store: ok" or "broker: unreachable: <why>".
func (h *Health) Readyz(w http.ResponseWriter, r *http.Request) {
	results := h.Check(r.Context())
	var body strings.Builder
	status := http.StatusOK
	for _, res := range results {
		if res.Err != nil {
			status = http.StatusServiceUnavailable
			fmt.Fprintf(&body, "%s: unreachable: %s\n", res.Name, oneLine(res.Err))
		} else {
			fmt.Fprintf(&body, "%s: ok\n", res.Name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body.String()))
}

func oneLine(err error) string {
	if errors.Is(err, context.Canceled) {
		return "the request ended first"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

var readyDesc = prometheus.NewDesc("bridge_ready",
	"1 when the dependency answered a readiness probe at scrape time, 0 when it did not (store, upstream, broker).", []string{"dependency"}, nil)

// Describe implements prometheus.Collector.
func (h *Health) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc }

// Collect implements prometheus.Collector: the same probes as /readyz.
func (h *Health) Collect(ch chan<- prometheus.Metric) {
	for _, res := range h.Check(context.Background()) {
		v := 1.0
		if res.Err != nil {
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, v, res.Name)
	}
}
