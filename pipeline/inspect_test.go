package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/district"
	"hotline-bridge/handlers/inspect"
	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/pipeline"
)

// inspectOnce runs bridge inspect --json (and --html when html is set) and returns the report and the exit code.
func inspectOnce(t *testing.T, cfg pipeline.Config, html string) (inspect.Report, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := pipeline.Inspect(ctx, cfg, quietLogger(), &out, pipeline.InspectOptions{JSON: true, HTML: html})
	code := 0
	if exit, ok := errors.AsType[*pipeline.ExitError](err); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("bridge inspect: %v", err)
	}
	var r inspect.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bridge inspect --json printed something that is not a report: %v\n%s", err, out.String())
	}
	return r, code
}

func findingsOf(r inspect.Report, check string) []inspect.Finding {
	var out []inspect.Finding
	for _, f := range r.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

func dependency(t *testing.T, r inspect.Report, name string) inspect.Dependency {
	t.Helper()
	for _, d := range r.Dependencies {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("the report has no dependency %s: %+v", name, r.Dependencies)
	return inspect.Dependency{}
}

func TestInspectIsCleanThenWarnsOfQuarantineOrphanAndLaggingGroupThenCriticalWithoutBroker(t *testing.T) {
	t.Parallel()
	broker := testenv.OwnKafka(t) // stopped at the end
	e := newBridgeEnv(t, []string{broker.Addr()})
	const group = "wuhan12315.420106.sync"
	e.cfg.ConsumerGroups = map[string]string{"420106": group}
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R1', now() - interval '1 hour', 'N1', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	consumeAndCommit(t, e, events.UnitTopic(e.cfg.TopicPrefix, "420106"), group, district.State{})
	assertReconciled(t, e)

	// Clean: exit 0, nothing over a threshold, every part read.
	r, code := inspectOnce(t, e.cfg, "")
	if code != 0 || r.Status != inspect.OK || len(r.Findings) != 0 {
		t.Fatalf("clean inspection: exit %d, status %s, findings %+v; want 0, ok, none", code, r.Status, r.Findings)
	}
	for _, name := range []string{"upstream", "store"} {
		if d := dependency(t, r, name); d.Status != inspect.OK || !strings.HasPrefix(d.Version, "PostgreSQL 15") {
			t.Errorf("%s: %+v, want ok with its PostgreSQL 15 version", name, d)
		}
	}
	if d, want := dependency(t, r, "store"), fmt.Sprintf("bridge schema migration %d", newestMigration(t)); d.Detail != want {
		t.Errorf("store detail %q, want %q", d.Detail, want)
	}
	if d := dependency(t, r, "broker"); d.Status != inspect.OK || !strings.HasPrefix(d.Version, "Kafka v4") || !strings.Contains(d.Detail, "1 brokers") {
		t.Errorf("broker: %+v, want ok, Kafka v4.x, one broker", d)
	}
	if len(r.Capture) != len(events.Catalogue) {
		t.Errorf("capture has %d tables, want %d", len(r.Capture), len(events.Catalogue))
	}
	for _, l := range r.Capture {
		if l.Table == events.Registration && (l.Watermark == nil || l.LagSeconds != 0 || l.Status != inspect.OK) {
			t.Errorf("registration capture %+v, want a watermark, no lag, ok", l)
		}
	}
	if r.Reconciliation == nil || r.Reconciliation.Outcome != "consistent" || r.Reconciliation.Status != inspect.OK {
		t.Errorf("reconciliation %+v, want the consistent run", r.Reconciliation)
	}
	if len(r.ConsumerGroups) != 1 || r.ConsumerGroups[0].Group != group || !r.ConsumerGroups[0].Committed || r.ConsumerGroups[0].Lag != 0 {
		t.Errorf("consumer groups %+v, want %s committed at the end", r.ConsumerGroups, group)
	}
	if r.Disk.DatabaseBytes <= 0 || r.Disk.Tablespace != "pg_default" {
		t.Errorf("disk %+v, want the database's size in pg_default", r.Disk)
	}
	// The test cluster runs on this machine and its data directory is readable here: the free space is known.
	if r.Disk.FreePercent == nil || *r.Disk.FreeBytes <= 0 || r.Disk.Path == "" {
		t.Errorf("disk %+v: want the free space of the local data directory (unknown because %q)", r.Disk, r.Disk.FreeUnknown)
	}
	if r.Bridge.GoVersion == "" {
		t.Errorf("bridge version %+v names no Go version", r.Bridge)
	}

	// Faults: a row quarantined, an orphan parked for two hours, the district's group one event behind.
	e.exec(t, `INSERT INTO registration (id, update_time, kind, division_code) VALUES ('R-BAD', now() - interval '1 hour', 1, '42A106')`)
	e.exec(t, `INSERT INTO info_provider (id, update_time, registration_id) VALUES ('IP-ORPHAN', now() - interval '1 hour', 'R-NEVER')`)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R2', now() - interval '1 hour', 'N2', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	if _, err := store.db.Exec(context.Background(), `UPDATE bridge.parked SET parked_at = now() - interval '2 hours' WHERE id = 'IP-ORPHAN'`); err != nil {
		t.Fatal(err)
	}
	e.cfg.InspectGroupLagWarning = 0
	r, code = inspectOnce(t, e.cfg, "")
	if code != 1 || r.Status != inspect.Warning {
		t.Fatalf("inspection with faults: exit %d, status %s, findings %+v; want 1, warning", code, r.Status, r.Findings)
	}
	wantFinding := func(check, contains string) {
		t.Helper()
		fs := findingsOf(r, check)
		if len(fs) != 1 || fs[0].Status != inspect.Warning || !strings.Contains(fs[0].Message, contains) {
			t.Errorf("%s findings %+v, want one warning saying %q", check, fs, contains)
		}
	}
	wantFinding("quarantine", "registration:R-BAD")
	wantFinding("parked", "info_provider:IP-ORPHAN")
	wantFinding("consumer_group", "lags 1 events on "+events.UnitTopic(e.cfg.TopicPrefix, "420106"))
	if len(r.Findings) != 3 {
		t.Errorf("findings %+v, want exactly the three faults", r.Findings)
	}
	// The terminal table says the same.
	var text bytes.Buffer
	err := pipeline.Inspect(context.Background(), e.cfg, quietLogger(), &text, pipeline.InspectOptions{})
	if exit, ok := errors.AsType[*pipeline.ExitError](err); !ok || exit.ExitCode() != 1 {
		t.Errorf("bridge inspect (table): %v, want exit 1", err)
	}
	t.Logf("bridge inspect:\n%s", text.String())
	for _, want := range []string{": WARNING\n", "warning  quarantine", "warning  parked", "warning  consumer_group  " + group, "QUEUE "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the table does not contain %q", want)
		}
	}
	if r.Quarantine.Rows != 1 || r.Quarantine.Recent != 1 || r.Parked.Rows != 1 || r.Parked.OldestAgeSeconds < 7200 {
		t.Errorf("quarantine %+v, parked %+v: want one row each, the orphan two hours old", r.Quarantine, r.Parked)
	}

	// The broker stops: critical, naming it; the HTML page says so too.
	stopped := broker.Addr()
	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "inspection.html")
	var html []byte
	r, code = inspectOnce(t, e.cfg, page)
	if code != 2 || r.Status != inspect.Critical {
		t.Fatalf("inspection without a broker: exit %d, status %s, findings %+v; want 2, critical", code, r.Status, r.Findings)
	}
	deps := findingsOf(r, "dependency")
	if len(deps) != 1 || deps[0].Subject != "broker" || deps[0].Status != inspect.Critical || !strings.Contains(deps[0].Message, stopped) {
		t.Errorf("dependency findings %+v, want the broker at %s critical", deps, stopped)
	}
	if d := dependency(t, r, "store"); d.Status != inspect.OK {
		t.Errorf("store %+v, want it still ok", d)
	}
	html, err = os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="status">critical<`, stopped, "registration:R-BAD", "巡检"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the HTML page does not contain %q", want)
		}
	}

	// The command exits with the status: 2 here, its table on stdout.
	cmd := exec.Command(buildBridge(t), "inspect", "--upstream-url="+e.cfg.UpstreamURL, "--store-url="+e.cfg.StoreURL,
		"--kafka-brokers="+stopped, "--topic-prefix="+e.cfg.TopicPrefix, "--consumer-groups=420106="+group, "--log-level=warn")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 2 || !strings.Contains(stdout.String(), ": CRITICAL\n") {
		t.Errorf("bridge inspect without a broker: %v, want exit status 2 and CRITICAL on stdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if want := "bridge: inspection: critical, "; !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("bridge inspect's stderr %q, want it to start %q", stderr.String(), want)
	}

	// Each inspection was kept for the status page, the newest last.
	latest, ok, err := postgres.LatestInspection(context.Background(), store.db)
	if err != nil || !ok || latest.Status != inspect.Critical || latest.Trigger != inspect.TriggerCommand {
		t.Errorf("latest kept inspection: %v %v, status %s trigger %s; want the critical one from the command", ok, err, latest.Status, latest.Trigger)
	}
	kept := store.strings(t, `SELECT status FROM bridge.inspection ORDER BY id`)
	if !slices.Equal(kept, []string{"ok", "warning", "warning", "critical", "critical"}) {
		t.Errorf("bridge.inspection holds %v, want ok, warning (twice: JSON and table), critical (twice: JSON and the command)", kept)
	}
}
