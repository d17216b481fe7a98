package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"hotline-bridge/infra/dev/testenv"
	"hotline-bridge/pipeline"
	"hotline-bridge/schemas"
)

// runLogged runs the bridge continuously until the test ends, logging at info into the returned buffer.
func (e *bridgeEnv) runLogged(t *testing.T) *testenv.SyncBuffer {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pipeline.Run(ctx, e.cfg, pipeline.NewLogger(logs, "info"), false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("the background bridge ended with an error: %v", err)
		}
	})
	return logs
}

func hangUp(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// A zone added for a station of 江岸区 takes its work orders once the catalogue is reloaded on SIGHUP; a broken
// catalogue before it is refused and the running one kept. The scheduled inspection keeps its report meanwhile.
// Not parallel: SIGHUP goes to the whole test process, and every bridge running in it would reload.
func TestRunReloadsTheUnitCatalogueOnSIGHUPAndKeepsTheRunningOneWhenTheFileIsBad(t *testing.T) {
	e := newBridgeEnv(t, testenv.KafkaBrokers(t))
	catalogue := filepath.Join(t.TempDir(), "units.yaml")
	if err := os.WriteFile(catalogue, schemas.Units, 0o600); err != nil {
		t.Fatal(err)
	}
	e.cfg.Units = catalogue
	e.cfg.InspectInterval = time.Minute
	e.exec(t, treeSQL)
	store := storeQuerier(t, e)
	logs := e.runLogged(t)
	unitOf := func(id string) string {
		units := store.strings(t, `SELECT unit_code FROM wuhan.registration WHERE id = '`+id+`'`)
		if len(units) == 0 {
			return ""
		}
		return units[0]
	}
	addRegistration := func(id string) {
		e.exec(t, `INSERT INTO registration (id, update_time, reg_no, kind, handle_dept_id) VALUES ($1, now() - interval '1 hour', $1, 1, 'ORG-420102-S01')`, id)
	}

	testenv.WaitFor(t, "the bridge listening for SIGHUP", time.Minute, func() bool {
		return logs.Count("SIGHUP reloads the unit catalogue") == 1
	})

	// A catalogue with a unit code Kafka cannot name is refused, with its problem, and sorting goes on as before.
	if err := os.WriteFile(catalogue, []byte("units:\n  - code: \"BAD CODE\"\n    name: 坏\n    org_ids: [\"ORG-420102-S01\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangUp(t)
	testenv.WaitFor(t, "the bad catalogue refused", time.Minute, func() bool {
		return logs.Count("SIGHUP: the unit catalogue was refused; the running one is kept") == 1
	})
	if logs.Count("BAD CODE") == 0 {
		t.Errorf("the refusal does not name the bad unit code:\n%s", lastLines(logs.String(), 5))
	}
	addRegistration("R-BEFORE")
	testenv.WaitFor(t, "R-BEFORE sorted", time.Minute, func() bool { return unitOf("R-BEFORE") != "" })
	if got := unitOf("R-BEFORE"); got != "420102" {
		t.Fatalf("R-BEFORE went to %s under the refused catalogue, want 420102", got)
	}

	// A good catalogue with a new zone claiming the station: its topic is created, later work orders go there.
	zone := append(append([]byte{}, schemas.Units...), []byte("  - code: jags\n    name: 江岸试点区\n    org_ids: [\"ORG-420102-S01\"]\n")...)
	if err := os.WriteFile(catalogue, zone, 0o600); err != nil {
		t.Fatal(err)
	}
	hangUp(t)
	testenv.WaitFor(t, "the new catalogue installed", time.Minute, func() bool {
		return logs.Count("SIGHUP: unit catalogue reloaded") == 1
	})
	addRegistration("R-AFTER")
	testenv.WaitFor(t, "R-AFTER published to the new zone", time.Minute, func() bool {
		return store.countOrZero(t, `SELECT count(*) FROM bridge.outbox WHERE row_id = 'R-AFTER' AND unit_code = 'jags' AND published_at IS NOT NULL`) == 1
	})
	if got := unitOf("R-AFTER"); got != "jags" {
		t.Errorf("R-AFTER is in %s, want the new zone jags", got)
	}
	if got := unitOf("R-BEFORE"); got != "420102" {
		t.Errorf("R-BEFORE moved to %s although nothing about it changed, want it left in 420102", got)
	}

	// The scheduled inspection ran at start and kept its report.
	testenv.WaitFor(t, "a scheduled inspection kept", time.Minute, func() bool {
		return store.countOrZero(t, `SELECT count(*) FROM bridge.inspection WHERE trigger = 'schedule'`) >= 1
	})
}
