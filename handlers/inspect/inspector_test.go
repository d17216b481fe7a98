package inspect_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline-bridge/handlers/inspect"
	"hotline-bridge/handlers/reconcile"
)

// fakeStore is the store as a test sets it.
type fakeStore struct {
	lag                        []inspect.TableLag
	parked, quarantine, outbox inspect.Backlog
	run                        *inspect.Reconciliation
	disk                       inspect.Disk
	err                        error
}

func (f fakeStore) CaptureLag(context.Context) ([]inspect.TableLag, error) { return f.lag, f.err }
func (f fakeStore) Backlogs(context.Context, time.Time) (inspect.Backlog, inspect.Backlog, inspect.Backlog, error) {
	return f.parked, f.quarantine, f.outbox, f.err
}
func (f fakeStore) LastReconciliation(context.Context) (*inspect.Reconciliation, error) {
	return f.run, f.err
}
func (f fakeStore) Disk(context.Context) (inspect.Disk, error) { return f.disk, f.err }

// fakeGroups has one topic of two partitions.
type fakeGroups struct {
	spans     map[int32]reconcile.Span
	committed map[int32]int64
}

func (f fakeGroups) Partitions(context.Context, string) (map[int32]reconcile.Span, bool, error) {
	return f.spans, true, nil
}
func (f fakeGroups) Committed(context.Context, string, string, []int32) (map[int32]int64, error) {
	return f.committed, nil
}

var thresholds = inspect.Thresholds{
	CaptureLagWarning: 15 * time.Minute, CaptureLagCritical: time.Hour,
	OutboxAgeWarning: 5 * time.Minute, OutboxAgeCritical: 30 * time.Minute,
	ParkedAgeWarning: time.Hour, QuarantineWindow: 24 * time.Hour, GroupLagWarning: 100,
	DiskFreeWarning: 20, DiskFreeCritical: 10, ReconcileAgeWarning: 3 * time.Hour,
}

func percent(p float64) *float64 { return &p }

var now = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

func inspector(store fakeStore, groups fakeGroups) *inspect.Inspector {
	return &inspect.Inspector{
		Store: store, Groups: groups, GroupIDs: map[string]string{"420106": "wuhan12315.420106.sync"},
		Topic: func(unit string) string { return "wuhan12315." + unit }, Thresholds: thresholds,
		Now: func() time.Time { return now },
	}
}

func healthy() (fakeStore, fakeGroups) {
	return fakeStore{
			lag:  []inspect.TableLag{{Table: "registration", LagSeconds: 60}},
			run:  &inspect.Reconciliation{Run: 7, Outcome: "consistent", StartedAt: now.Add(-time.Hour)},
			disk: inspect.Disk{DatabaseBytes: 1 << 30, Tablespace: "pg_default", FreePercent: percent(50)},
		}, fakeGroups{
			spans:     map[int32]reconcile.Span{0: {Start: 0, End: 10}, 1: {Start: 5, End: 20}},
			committed: map[int32]int64{0: 10, 1: 20},
		}
}

func TestInspectorIsOKWithinEveryThreshold(t *testing.T) {
	store, groups := healthy()
	r := inspector(store, groups).Run(context.Background(), inspect.TriggerCommand)
	if r.Status != inspect.OK || len(r.Findings) != 0 || r.Status.ExitCode() != 0 {
		t.Fatalf("status %s, findings %+v; want ok and none", r.Status, r.Findings)
	}
}

func TestInspectorJudgesEachReadingAgainstItsThresholds(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*fakeStore, *fakeGroups)
		status  inspect.Status
		check   string
		message string
	}{
		{"capture lag over the warning", func(s *fakeStore, _ *fakeGroups) { s.lag[0].LagSeconds = 1200 },
			inspect.Warning, "capture", "capture of registration is 20m0s behind"},
		{"capture lag over the critical", func(s *fakeStore, _ *fakeGroups) { s.lag[0].LagSeconds = 7200 },
			inspect.Critical, "capture", "capture of registration is 2h0m0s behind"},
		{"outbox oldest over the critical", func(s *fakeStore, _ *fakeGroups) { s.outbox = inspect.Backlog{Rows: 40, OldestAgeSeconds: 3600} },
			inspect.Critical, "outbox", "40 distribution events wait in the outbox, the oldest for 1h0m0s"},
		{"disk under the critical", func(s *fakeStore, _ *fakeGroups) { s.disk.FreePercent = percent(5); s.disk.Path = "/srv/pg" },
			inspect.Critical, "disk", "tablespace pg_default at /srv/pg has 5.0% free"},
		{"disk under the warning", func(s *fakeStore, _ *fakeGroups) { s.disk.FreePercent = percent(15) },
			inspect.Warning, "disk", "has 15.0% free"},
		{"reconciliation unrepaired", func(s *fakeStore, _ *fakeGroups) {
			s.run = &inspect.Reconciliation{Run: 8, Outcome: "unrepaired", Missing: 3, Repaired: 1, StartedAt: now, Differences: []string{"delivery unit 420106: missing 3"}}
		}, inspect.Critical, "reconciliation", "run 8 could not repair 2 of 3 rows found missing: delivery unit 420106: missing 3"},
		{"reconciliation too old", func(s *fakeStore, _ *fakeGroups) { s.run.StartedAt = now.Add(-5 * time.Hour) },
			inspect.Warning, "reconciliation", "started 5h0m0s ago (over 3h0m0s)"},
		{"never reconciled", func(s *fakeStore, _ *fakeGroups) { s.run = nil },
			inspect.Warning, "reconciliation", "never reconciled"},
		{"group behind the log start", func(_ *fakeStore, g *fakeGroups) { g.committed = map[int32]int64{0: 10, 1: 2} },
			inspect.Critical, "consumer_group", "is 3 events behind the log start of wuhan12315.420106"},
		{"group lagging", func(_ *fakeStore, g *fakeGroups) {
			g.spans[1] = reconcile.Span{Start: 5, End: 500}
		}, inspect.Warning, "consumer_group", "lags 480 events on wuhan12315.420106 (over 100)"},
		{"group never committed", func(_ *fakeStore, g *fakeGroups) { g.committed = map[int32]int64{} },
			inspect.Warning, "consumer_group", "has never committed an offset on wuhan12315.420106 (25 events to read)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store, groups := healthy()
			c.change(&store, &groups)
			r := inspector(store, groups).Run(context.Background(), inspect.TriggerCommand)
			if r.Status != c.status || len(r.Findings) != 1 {
				t.Fatalf("status %s, findings %+v; want %s and one finding", r.Status, r.Findings, c.status)
			}
			if f := r.Findings[0]; f.Check != c.check || f.Status != c.status || !strings.Contains(f.Message, c.message) {
				t.Errorf("finding %+v, want %s %s saying %q", f, c.status, c.check, c.message)
			}
		})
	}
}

func TestInspectorReportsADependencyThatDoesNotAnswerAsCritical(t *testing.T) {
	store, groups := healthy()
	in := inspector(store, groups)
	in.Probes = []inspect.Probe{
		{Name: "store", Address: "db:5432", Ask: func(context.Context) (string, string, error) { return "PostgreSQL 15.18", "", nil }},
		{Name: "broker", Address: "[kafka1:9092]", Ask: func(context.Context) (string, string, error) {
			return "", "", errors.New("broker kafka1:9092: connection refused")
		}},
	}
	r := in.Run(context.Background(), inspect.TriggerCommand)
	if r.Status != inspect.Critical || r.Status.ExitCode() != 2 || len(r.Findings) != 1 ||
		r.Findings[0].Subject != "broker" || !strings.Contains(r.Findings[0].Message, "broker [kafka1:9092] does not answer: broker kafka1:9092: connection refused") {
		t.Fatalf("status %s, findings %+v; want the broker critical", r.Status, r.Findings)
	}
	if r.Dependencies[0].Status != inspect.OK || r.Dependencies[0].Version != "PostgreSQL 15.18" {
		t.Errorf("store dependency %+v, want ok with its version", r.Dependencies[0])
	}
}
