package status_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline-bridge/handlers/inspect"
	"hotline-bridge/handlers/status"
)

// A store that cannot be read leaves its parts empty and named; a dependency that does not answer is a critical
// alert; the page still renders both.
func TestSnapshotNamesWhatCannotBeReadAndAlertsOnAnUnreadyDependency(t *testing.T) {
	down := errors.New("dial tcp 10.0.0.7:5432: connect: connection refused")
	src := &status.Source{
		Store: brokenStore{err: down},
		Ready: func(context.Context) []status.Dependency {
			return []status.Dependency{{Name: "store", Detail: down.Error()}, {Name: "broker", Ready: true}}
		},
		Units:   func() []status.Unit { return []status.Unit{{Code: "420106", Name: "武昌区"}} },
		Topic:   func(unit string) string { return "wuhan12315." + unit },
		Version: "v1.2.3",
		Now:     func() time.Time { return time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC) },
	}
	snap := src.Snapshot(context.Background())
	if len(snap.Alerts) != 1 || snap.Alerts[0].Status != inspect.Critical || snap.Alerts[0].Subject != "store" {
		t.Errorf("alerts = %+v, want one critical alert for the store", snap.Alerts)
	}
	if len(snap.Unavailable) != 5 || !strings.HasPrefix(snap.Unavailable[0], "flow: ") {
		t.Errorf("unavailable = %q, want the five parts read from the store, flow first", snap.Unavailable)
	}
	if len(snap.Flow) != 2 || snap.Flow[0].Unit != "420106" || snap.Flow[0].LastDay != 0 || snap.Flow[1].Unit != "broadcast" {
		t.Errorf("flow = %+v, want the unit and broadcast with nothing sent", snap.Flow)
	}

	page := &status.Page{Source: src, Refresh: time.Second}
	mux := http.NewServeMux()
	page.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	body := rec.Body.String()
	for _, want := range []string{`<span class="badge critical">critical</span> dependency · store: dial tcp 10.0.0.7:5432`,
		"not readable now: flow: ", `data-unit="420106"`, "2026-12-02 11:00:00", "bridge v1.2.3"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if rec.Code != http.StatusOK || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("GET /status answered %d and links outside: want 200 and a self-contained page", rec.Code)
	}
}

type brokenStore struct{ err error }

func (b brokenStore) CaptureLag(context.Context) ([]inspect.TableLag, error) { return nil, b.err }
func (b brokenStore) Backlogs(context.Context, time.Time) (p, q, o inspect.Backlog, err error) {
	return p, q, o, b.err
}
func (b brokenStore) LastReconciliation(context.Context) (*inspect.Reconciliation, error) {
	return nil, b.err
}
func (b brokenStore) Disk(context.Context) (inspect.Disk, error) { return inspect.Disk{}, b.err }
func (b brokenStore) Flow(context.Context, []string, time.Time, time.Time) (map[string]status.UnitFlow, error) {
	return nil, b.err
}
func (b brokenStore) LastInspection(context.Context) (*inspect.Report, error) { return nil, b.err }
