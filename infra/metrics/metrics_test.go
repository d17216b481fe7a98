package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/metrics"
)

func TestHooksCountPerTableUnitAndVerdict(t *testing.T) {
	m := metrics.New()
	m.CapturePage(capture.Page{Table: events.Registration, Read: 2000, Published: 1500})
	m.CapturePage(capture.Page{Table: events.Registration, Read: 7, Published: 7, Error: "broker gone after a page"})
	m.Sorted(sort.Tally{
		Decisions:   map[sort.Verdict]int{{Table: events.Registration, Unit: "420106"}: 3, {Table: events.Registration, Unit: sort.NotWuhan}: 40},
		Quarantined: map[string]int{events.Subject: 2},
	})
	m.Forwarded([]events.Distribution{{Unit: "420106"}, {Unit: "420106"}, {Unit: events.BroadcastUnit}})
	m.PublishFailed(errors.New("x"))
	m.OrphansQuarantined(1)

	srv := httptest.NewServer(m.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	want := `
# HELP bridge_decisions_total Row versions the sorter decided in committed batches, by table and verdict: a unit code, broadcast, not_wuhan, or parked (waiting for its parent, counted again once decided).
# TYPE bridge_decisions_total counter
bridge_decisions_total{table="registration",unit="420106"} 3
bridge_decisions_total{table="registration",unit="not_wuhan"} 40
# HELP bridge_events_published_total Distribution events the broker acknowledged on a unit's topic, by unit code (broadcast for the dictionary).
# TYPE bridge_events_published_total counter
bridge_events_published_total{unit="420106"} 2
bridge_events_published_total{unit="broadcast"} 1
# HELP bridge_orphans_quarantined_total Parked rows quarantined because their parent did not arrive within orphan_after.
# TYPE bridge_orphans_quarantined_total counter
bridge_orphans_quarantined_total 1
# HELP bridge_publish_errors_total Failed attempts to forward a batch of outbox events (broker or store unreachable); each is retried.
# TYPE bridge_publish_errors_total counter
bridge_publish_errors_total 1
`
	names := []string{"bridge_decisions_total", "bridge_events_published_total", "bridge_orphans_quarantined_total", "bridge_publish_errors_total"}
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	body := get(t, srv.URL)
	for _, line := range []string{
		`bridge_rows_captured_total{table="registration"} 1507`, `bridge_rows_captured_total{table="supervision"} 0`,
		`bridge_quarantined_total{table="subject"} 2`, `bridge_quarantined_total{table="organization"} 0`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadyzNamesTheDependencyThatDoesNotAnswer(t *testing.T) {
	blocked := make(chan struct{})
	defer close(blocked)
	h := metrics.NewHealth(
		metrics.Dependency{Name: "store", Probe: func(context.Context) error { return nil }},
		metrics.Dependency{Name: "upstream", Probe: func(context.Context) error { <-blocked; return nil }},
		metrics.Dependency{Name: "broker", Probe: func(context.Context) error {
			return errors.New("broker 127.0.0.1:9:\n dial tcp 127.0.0.1:9: connect: connection refused")
		}},
	)
	rec := httptest.NewRecorder()
	h.Readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	want := "store: ok\nupstream: unreachable: no answer within 2s\nbroker: unreachable: broker 127.0.0.1:9: dial tcp 127.0.0.1:9: connect: connection refused\n"
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
		t.Fatalf("/readyz answered %d:\n%s\nwant 503:\n%s", rec.Code, rec.Body, want)
	}

	m := metrics.New()
	if err := m.Register(h); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	ready := `
# HELP bridge_ready 1 when the dependency answered a readiness probe at scrape time, 0 when it did not (store, upstream, broker).
# TYPE bridge_ready gauge
bridge_ready{dependency="broker"} 0
bridge_ready{dependency="store"} 1
bridge_ready{dependency="upstream"} 0
`
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(ready), "bridge_ready"); err != nil {
		t.Fatal(err)
	}
}

func TestHealthzAnswersWhateverTheDependencies(t *testing.T) {
	h := metrics.NewHealth(metrics.Dependency{Name: "store", Probe: func(context.Context) error { return errors.New("down") }})
	rec := httptest.NewRecorder()
	h.Healthz(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Fatalf("/healthz answered %d %q, want 200 ok", rec.Code, rec.Body)
	}
}
