package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/infra/seed"
	"hotline-bridge/pipeline"
)

// reconcileLines runs bridge reconcile --once --json and returns every line, and its error.
func reconcileLines(t *testing.T, e *bridgeEnv, dryRun bool) ([]unitReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := pipeline.Reconcile(ctx, e.cfg, quietLogger(), &out, pipeline.ReconcileOptions{Once: true, DryRun: dryRun, JSON: true})
	var lines []unitReport
	for dec := json.NewDecoder(&out); dec.More(); {
		var u unitReport
		if derr := dec.Decode(&u); derr != nil {
			t.Fatalf("bridge reconcile --json printed something that is not a JSON line: %v", derr)
		}
		lines = append(lines, u)
	}
	return lines, err
}

// sourceLine is the source check's line for the table and unit ("" for the table's summary).
func sourceLine(lines []unitReport, table, unit string) (unitReport, bool) {
	for _, l := range lines {
		if l.Check == "source" && l.Table == table && l.Unit == unit {
			return l, true
		}
	}
	return unitReport{}, false
}

// assertSourceRepaired checks that the run found exactly one row of table different, in unit, for the reason
// named, and repaired it.
func assertSourceRepaired(t *testing.T, lines []unitReport, table, unit, reason string) {
	t.Helper()
	sum, ok := sourceLine(lines, table, "")
	if !ok || sum.Missing != 1 || sum.Repaired != 1 || !strings.Contains(sum.Detail, "1 "+reason) {
		t.Fatalf("source summary of %s: %+v (found %v), want 1 row %s, repaired", table, sum, ok, reason)
	}
	w, ok := sourceLine(lines, table, unit)
	if !ok || w.Missing != 1 || w.Repaired != 1 || !strings.Contains(w.Detail, reason) {
		t.Fatalf("source window line of %s in unit %s: %+v (found %v), want the row %s, repaired", table, unit, w, ok, reason)
	}
	for _, l := range lines {
		if l.Check == "source" && l.Table != table && l.Missing != 0 {
			t.Errorf("source line of a table the test did not touch: %+v", l)
		}
	}
}

// assertSourceConsistent runs reconcile --once again and fails unless it exits 0 with every source table and
// every unit topic consistent.
func assertSourceConsistent(t *testing.T, e *bridgeEnv) {
	t.Helper()
	lines, err := reconcileLines(t, e, false)
	if err != nil {
		t.Fatalf("second reconcile: %v", err)
	}
	tables := 0
	for _, l := range lines {
		if l.Check == "source" {
			tables++
		}
		if l.Missing != 0 || l.Repaired != 0 || l.Pending != 0 {
			t.Errorf("second reconcile: %+v, want nothing missing", l)
		}
	}
	if tables != 12 {
		t.Errorf("second reconcile printed %d source lines, want one per table (12) and nothing else", tables)
	}
	assertReconciled(t, e)
}

func seededForSource(t *testing.T) (*bridgeEnv, storeDB) {
	t.Helper()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	if _, err := seed.Generate(context.Background(), e.upstream, seed.Options{Registrations: 300, WuhanShare: 0.3, Seed: 33}); err != nil {
		t.Fatal(err)
	}
	e.runUntilIdle(t)
	return e, storeQuerier(t, e)
}

// storedRow picks a row of table the store holds, and its unit.
func pickStored(t *testing.T, store storeDB, table string) (id, unit string) {
	t.Helper()
	err := store.db.QueryRow(context.Background(), `SELECT id, unit_code FROM wuhan.`+table+`
		WHERE update_time > now() - interval '30 days' AND update_time < now() AND NOT is_deleted ORDER BY id LIMIT 1`).Scan(&id, &unit)
	if err != nil {
		t.Fatal(err)
	}
	return id, unit
}

func TestSourceReconcileRecapturesARowChangedUpstreamWithoutANewUpdateTime(t *testing.T) {
	t.Parallel()
	e, store := seededForSource(t)
	id, unit := pickStored(t, store, "registration")
	e.exec(t, `UPDATE registration SET summary = 'changed without a new update_time', status = 'S9' WHERE id = $1`, id)

	lines, err := reconcileLines(t, e, true)
	if !errors.Is(err, pipeline.ErrUnrepaired) || !strings.Contains(err.Error(), "table registration") {
		t.Fatalf("dry run: %v, want ErrUnrepaired naming table registration", err)
	}
	if sum, _ := sourceLine(lines, "registration", ""); sum.Missing != 1 || sum.Repaired != 0 {
		t.Fatalf("dry run summary: %+v, want 1 missing, none repaired", sum)
	}
	if got := store.strings(t, `SELECT status FROM wuhan.registration WHERE id = '`+id+`'`); got[0] == "S9" {
		t.Fatal("the dry run changed the store")
	}

	lines, err = reconcileLines(t, e, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	assertSourceRepaired(t, lines, "registration", unit, "changed upstream without a new update_time")
	if got := store.strings(t, `SELECT summary || '|' || status || '|' || unit_code FROM wuhan.registration WHERE id = '`+id+`'`); got[0] != "changed without a new update_time|S9|"+unit {
		t.Errorf("the store holds %q, want the upstream's new content in unit %s", got, unit)
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.row_state WHERE table_name = 'registration' AND id = '`+id+`' AND reconciled`); n != 1 {
		t.Error("the ledger does not mark the re-captured version as reconciled")
	}
	assertTopicsRebuildTheStore(t, e)
	assertSourceConsistent(t, e)
}

func TestSourceReconcileRemovesARowDeletedOutrightUpstream(t *testing.T) {
	t.Parallel()
	e, store := seededForSource(t)
	id, unit := pickStored(t, store, "subject")
	e.exec(t, `DELETE FROM subject WHERE id = $1`, id)

	lines, err := reconcileLines(t, e, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	assertSourceRepaired(t, lines, "subject", unit, "deleted upstream")
	if n := store.count(t, `SELECT count(*) FROM wuhan.subject WHERE id = '`+id+`'`); n != 0 {
		t.Error("the store still holds the row deleted upstream")
	}
	if got := store.strings(t, `SELECT event_type || ' ' || unit_code FROM bridge.outbox WHERE table_name = 'subject' AND row_id = '`+id+`' ORDER BY seq DESC LIMIT 1`); got[0] != "subject.removed "+unit {
		t.Errorf("the row's latest event is %q, want subject.removed in unit %s", got, unit)
	}
	if got := store.strings(t, `SELECT digest || ' ' || reconciled || ' ' || coalesce(unit_code, '-') FROM bridge.row_state WHERE table_name = 'subject' AND id = '`+id+`'`); got[0] != "deleted upstream true -" {
		t.Errorf("the ledger holds %q for the deleted row, want its tombstone", got)
	}
	assertTopicsRebuildTheStore(t, e)
	assertSourceConsistent(t, e)
}

func TestSourceReconcileRestoresARowTheStoreAndTheLedgerLost(t *testing.T) {
	t.Parallel()
	e, store := seededForSource(t)
	id, unit := pickStored(t, store, "info_provider")
	for _, sql := range []string{`DELETE FROM wuhan.info_provider WHERE id = $1`, `DELETE FROM bridge.row_state WHERE table_name = 'info_provider' AND id = $1`} {
		if _, err := store.db.Exec(context.Background(), sql, id); err != nil {
			t.Fatal(err)
		}
	}

	lines, err := reconcileLines(t, e, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	assertSourceRepaired(t, lines, "info_provider", unit, "not in the ledger at the upstream's version")
	if got := store.strings(t, `SELECT unit_code FROM wuhan.info_provider WHERE id = '`+id+`'`); len(got) != 1 || got[0] != unit {
		t.Errorf("the store holds the lost row in %v, want it back in unit %s", got, unit)
	}
	assertTopicsRebuildTheStore(t, e)
	assertSourceConsistent(t, e)
}
