package pipeline_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"hotline-bridge/events"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// /metrics counts what the run did — every upstream row captured, decided once (or parked, or quarantined),
// every outbox event published to its unit — and /readyz turns 503 naming the broker while it is stopped.
func TestMetricsAndReadinessReflectWhatHappened(t *testing.T) {
	t.Parallel()
	broker := testenv.OwnKafka(t)
	e := newBridgeEnv(t, []string{broker.Addr()})
	e.cfg.HTTPAddr = closedPort(t)
	stats, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 300, WuhanShare: 0.3, Seed: 21, Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// An orphan whose registration never existed parks; a malformed division code is quarantined.
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id) VALUES ('IP-ORPHAN', now() - interval '1 hour', 'R-NEVER')`)
	e.exec(t, `INSERT INTO registration (id, update_time, kind, division_code) VALUES ('R-BAD', now() - interval '1 hour', 1, '42A106')`)
	upstream := stats.Rows
	upstream[events.InfoProvider]++
	upstream[events.Registration]++
	total := 0
	for _, n := range upstream {
		total += n
	}
	store := storeQuerier(t, e)
	e.runInBackground(t)
	base := "http://" + e.cfg.HTTPAddr

	testenv.WaitFor(t, "every row decided or quarantined and every event published", 2*time.Minute, func() bool {
		if store.countOrZero(t, `SELECT count(*) FROM bridge.quarantine WHERE row_id = 'R-BAD'`) != 1 ||
			store.countOrZero(t, `SELECT count(*) FROM bridge.outbox WHERE published_at IS NULL`) != 0 {
			return false // the bridge has not got far yet, so its metrics endpoint may not be up either
		}
		m := scrape(t, base)
		return m.sum("bridge_decisions_total") == float64(total-1) &&
			m.sum("bridge_events_published_total") == float64(store.count(t, `SELECT count(*) FROM bridge.outbox`))
	})
	m := scrape(t, base)
	for _, k := range events.Catalogue {
		want := upstream[k.Table]
		if got := m.value("bridge_rows_captured_total", "table", k.Table); got != float64(want) {
			t.Errorf("bridge_rows_captured_total{table=%q} = %v, want the %d upstream rows", k.Table, got, want)
		}
		if k.Table == events.Registration {
			want-- // R-BAD was quarantined, not decided
		}
		decisions := m.byLabel("bridge_decisions_total", "unit", "table", k.Table)
		if got := sumOf(decisions); got != float64(want) {
			t.Errorf("bridge_decisions_total{table=%q} sum to %v, want one decision per row: %d (%v)", k.Table, got, want, decisions)
		}
		for unit, n := range store.unitCounts(t, k.Table) {
			if decisions[unit] != float64(n) {
				t.Errorf("bridge_decisions_total{table=%q,unit=%q} = %v, want the %d rows stored there", k.Table, unit, decisions[unit], n)
			}
		}
		if lag := m.value("bridge_capture_lag_seconds", "table", k.Table); lag != 0 {
			t.Errorf("bridge_capture_lag_seconds{table=%q} = %v after the catch-up, want 0", k.Table, lag)
		}
	}
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"bridge_decisions_total", "unit", "parked", 1},
		{"bridge_parked_rows", "", "", 1},
		{"bridge_quarantined_total", "table", events.Registration, 1},
		{"bridge_quarantined_total", "table", events.InfoProvider, 0},
		{"bridge_outbox_backlog", "", "", 0},
		{"bridge_publish_errors_total", "", "", 0},
	} {
		if got := m.value(c.name, c.label, c.value); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, got, c.want)
		}
	}
	for unit, n := range store.outboxPerUnit(t) {
		if got := m.value("bridge_events_published_total", "unit", unit); got != float64(n) {
			t.Errorf("bridge_events_published_total{unit=%q} = %v, want the %d outbox events of the unit", unit, got, n)
		}
	}
	if m.value("go_goroutines", "", "") == 0 {
		t.Error("the Go runtime metrics are missing")
	}

	if code, body := httpGet(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz answered %d %q, want 200 ok", code, body)
	}
	allOK := "store: ok\nupstream: ok\nbroker: ok\n"
	if code, body := httpGet(t, base+"/readyz"); code != http.StatusOK || body != allOK {
		t.Fatalf("/readyz answered %d:\n%s\nwant 200:\n%s", code, body, allOK)
	}
	if err := broker.Kill(); err != nil {
		t.Fatal(err)
	}
	var outage string
	testenv.WaitFor(t, "/readyz to report the broker unreachable", time.Minute, func() bool {
		code, body := httpGet(t, base+"/readyz")
		outage = body
		return code == http.StatusServiceUnavailable
	})
	wantPrefix := "store: ok\nupstream: ok\nbroker: unreachable: broker " + broker.Addr() + ": "
	if !strings.HasPrefix(outage, wantPrefix) || strings.Count(outage, "\n") != 3 {
		t.Fatalf("/readyz during the outage:\n%s\nwant it to start with:\n%s", outage, wantPrefix)
	}
	if ready := scrape(t, base).value("bridge_ready", "dependency", "broker"); ready != 0 {
		t.Errorf(`bridge_ready{dependency="broker"} = %v during the outage, want 0`, ready)
	}
	if err := broker.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "/readyz to be 200 again", time.Minute, func() bool {
		code, body := httpGet(t, base+"/readyz")
		return code == http.StatusOK && body == allOK
	})
	if ready := scrape(t, base).value("bridge_ready", "dependency", "broker"); ready != 1 {
		t.Errorf(`bridge_ready{dependency="broker"} = %v after the outage, want 1`, ready)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// scraped is one parse of /metrics.
type scraped map[string]*dto.MetricFamily

func scrape(t *testing.T, base string) scraped {
	t.Helper()
	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d:\n%s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return families
}

// byLabel maps the values of a family's series that carry every label pair in filter by their label key.
func (s scraped) byLabel(name, key string, filter ...string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range s[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(filter); i += 2 {
			match = match && labels[filter[i]] == filter[i+1]
		}
		if match {
			out[labels[key]] += value(m)
		}
	}
	return out
}

// value is the sum of the series of a family whose label has this value ("" label: all of them).
func (s scraped) value(name, label, v string) float64 {
	if label == "" {
		return s.sum(name)
	}
	return s.byLabel(name, label)[v]
}

func (s scraped) sum(name string) float64 { return sumOf(s.byLabel(name, "")) }

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return m.GetUntyped().GetValue()
}

func sumOf(m map[string]float64) float64 {
	total := 0.0
	for _, v := range m {
		total += v
	}
	return total
}

// unitCounts is how many rows of a table the dedicated store holds per unit.
func (s storeDB) unitCounts(t *testing.T, table string) map[string]int {
	t.Helper()
	return s.countsBy(t, `SELECT unit_code, count(*) FROM wuhan.`+table+` GROUP BY 1`)
}

func (s storeDB) outboxPerUnit(t *testing.T) map[string]int {
	t.Helper()
	return s.countsBy(t, `SELECT unit_code, count(*) FROM bridge.outbox GROUP BY 1`)
}

func (s storeDB) countsBy(t *testing.T, sql string) map[string]int {
	t.Helper()
	rows, err := s.db.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			t.Fatal(err)
		}
		out[key] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// A taken http_addr stops the start with the address named, before anything connects.
func TestTakenHTTPAddrFailsTheStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := pipeline.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.UpstreamURL, cfg.StoreURL, cfg.KafkaBrokers = "postgres://u@"+closedPort(t)+"/x", "postgres://u@"+closedPort(t)+"/x", []string{closedPort(t)}
	cfg.HTTPAddr = l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = pipeline.Run(ctx, cfg, quietLogger(), true)
	if err == nil || !strings.Contains(err.Error(), "http_addr "+cfg.HTTPAddr) || ctx.Err() != nil {
		t.Fatalf("run with http_addr taken: %v; want it refused at once, naming http_addr %s", err, cfg.HTTPAddr)
	}
}
