package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/pipeline"
)

// TestReconcileReportsARowWhoseUpdateTimeMovedBackwardsUpstream is what the crash test ran into through bridge seed
// --changes: a row stamped 2099 (a platform host with a wrong clock) that the platform later changes with a
// correct clock gets an older update_time. Newer-wins keeps the 2099 version, so the store keeps the row where it
// was. The source check finds the upstream's version missing from the ledger; the sorter would refuse it as older,
// so the check must not count it repaired: bridge reconcile --once exits 1 and says why, every run, until an
// operator deals with the row.
func TestReconcileReportsARowWhoseUpdateTimeMovedBackwardsUpstream(t *testing.T) {
	t.Parallel()
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	e.exec(t, treeSQL)
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES
		('R1', '2099-12-31 23:59:59+08', 'N1', 1, 'ORG-420106'), ('R2', now() - interval '3 hours', 'N2', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	e.exec(t, `UPDATE registration SET handle_dept_id = 'ORG-420102', update_time = now() - interval '10 minutes' WHERE id = 'R1'`)
	// A later row moves the capture watermark past R1's new version, so the source check compares it.
	e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ('R3', now() - interval '8 minutes', 'N3', 1, 'ORG-420106')`)
	e.runUntilIdle(t)
	store := storeQuerier(t, e)
	if got := store.strings(t, `SELECT unit_code FROM wuhan.registration WHERE id = 'R1'`); len(got) != 1 || got[0] != "420106" {
		t.Fatalf("R1 is stored in %v: the live flow took the older version, the test proves nothing", got)
	}
	for run := 1; run <= 2; run++ {
		_, err := reconcileOnce(t, e, false)
		if !errors.Is(err, pipeline.ErrUnrepaired) || !strings.Contains(err.Error(), "update_time moved backwards upstream") {
			t.Fatalf("reconcile run %d: %v, want ErrUnrepaired saying the update_time moved backwards upstream", run, err)
		}
	}
	if n := store.count(t, `SELECT count(*) FROM bridge.reconcile_finding WHERE check_name = 'source' AND subject = 'table'
		AND table_name = 'registration' AND missing = 1 AND repaired = 0`); n != 2 {
		t.Errorf("%d runs recorded registration's row as missing and not repaired, want both", n)
	}
}
