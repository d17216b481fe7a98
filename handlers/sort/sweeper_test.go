package sort_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
)

// A parent committed concurrently with its child's parking, or a crash, leaves the child parked although its
// parent is known; the sweep decides it.
func TestSweepReleasesRowsWhoseParentArrivedOutsideTheNormalPath(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.InfoProvider, "IP1", 5, child("R1")))
	w.sort(w.change(events.Personnel, "P1", 5, map[string]any{"org_id": "ORG-420106-S07", "name": "李四"}))
	w.wantParked(map[string]string{"info_provider IP1": "registration R1", "personnel P1": "organization ORG-420106-S07"})

	// The parents' transactions did not see the parked rows, so they released nothing.
	putBack := w.hideParked()
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")))
	w.sort(w.change(events.Organization, "ORG-420106-S07", 10, orgCols("ORG-420106", "")))
	putBack()
	w.wantParked(map[string]string{"info_provider IP1": "registration R1", "personnel P1": "organization ORG-420106-S07"})
	w.takeOutbox()

	released, expired, err := w.sorter.Sweep(context.Background(), w.store, time.Hour)
	if err != nil || released != 2 || expired != 0 {
		t.Fatalf("Sweep = %d released, %d expired, %v; want 2, 0, nil", released, expired, err)
	}
	w.wantStored(map[string]string{"info_provider IP1": "420106", "personnel P1": "420106"})
	w.wantParked(map[string]string{})
	w.wantOutbox("420106 info_provider.upserted IP1", "420106 personnel.upserted P1")
}

func TestSweepExpiresOrphansPastMaxWait(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.InfoProvider, "ORPHAN", 5, child("NEVER")))
	w.passParkingTime(90 * time.Minute)
	w.sort(w.change(events.InfoProvider, "RECENT", 95, child("LATER")))
	w.passParkingTime(30 * time.Minute)

	released, expired, err := w.sorter.Sweep(context.Background(), w.store, time.Hour)
	if err != nil || released != 0 || expired != 1 {
		t.Fatalf("Sweep = %d released, %d expired, %v; want 0, 1, nil", released, expired, err)
	}
	w.wantParked(map[string]string{"info_provider RECENT": "registration LATER"})
	q := w.quarantine()
	if len(q) != 1 || q[0].ID != "ORPHAN" || !strings.Contains(q[0].Reason, "registration NEVER never arrived") {
		t.Errorf("quarantine %+v, want only ORPHAN, saying registration NEVER never arrived", q)
	}
	w.wantStored(map[string]string{"info_provider ORPHAN": "", "info_provider RECENT": ""})
	w.wantOutbox()
}

// A bad row released by the sweep is quarantined in the sweep's transaction, and leaves parking; the other released
// rows commit.
func TestSweepQuarantinesABadReleasedRow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.CaseInfo, "C1", 5, map[string]any{"registration_id": "R1"}))
	w.sort(w.change(events.InfoProvider, "IP1", 5, child("R1")))
	// Whatever made it so, a parked version the rules refuse: written straight into the parking lot.
	w.replaceParked(version(events.CaseInfo, "C1", 6, map[string]any{"registration_id": "R1", "filing_org_id": true}))
	// Its registration is decided by a transaction that did not see the parked rows.
	putBack := w.hideParked()
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")))
	putBack()

	released, _, err := w.sorter.Sweep(context.Background(), w.store, time.Hour)
	if err != nil || released != 2 {
		t.Fatalf("Sweep = %d released, %v; want 2, nil", released, err)
	}
	w.wantStored(map[string]string{"info_provider IP1": "420106", "case_info C1": ""})
	q := w.quarantine()
	if len(q) != 1 || q[0].ID != "C1" || !strings.Contains(q[0].Reason, "not text") {
		t.Errorf("quarantine %+v, want only C1 with a reason mentioning \"not text\"", q)
	}
	w.wantParked(map[string]string{}) // a quarantined row leaves parking, or every sweep would release it again
}
