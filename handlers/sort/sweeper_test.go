package sort_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// A parent committed concurrently with its child's parking, or a crash, leaves the child parked although its
// parent is known; the sweep decides it.
func TestSweepReleasesRowsWhoseParentArrivedOutsideTheNormalPath(t *testing.T) {
	w := newWorld(t)
	w.sort(w.change(events.InfoProvider, "IP1", 5, child("R1")))
	w.sort(w.change(events.Personnel, "P1", 5, map[string]any{"org_id": "ORG-420106-S07", "name": "李四"}))
	w.wantParked(map[string]string{"info_provider IP1": "registration R1", "personnel P1": "organization ORG-420106-S07"})

	// The parents' transactions did not see the parked rows, so they released nothing.
	r1 := version(events.Registration, "R1", 10, registration("ORG-420106-S03"))
	err := w.store.Apply(context.Background(), func(tx sort.Tx) error {
		kind, _ := events.KindByTable(events.Registration)
		if _, _, err := tx.Claim(context.Background(), r1, false); err != nil {
			return err
		}
		if err := tx.Decided(context.Background(), r1, true, sort.Placement{Unit: "420106", Key: "R1"}); err != nil {
			return err
		}
		if err := tx.Put(context.Background(), kind, r1, nil, sort.Placement{Unit: "420106", Key: "R1"}, sort.Placement{}); err != nil {
			return err
		}
		_, err := tx.SaveOrg(context.Background(), jurisdiction.Org{ID: "ORG-420106-S07", ParentID: "ORG-420106"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
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
	w := newWorld(t)
	w.sort(w.change(events.InfoProvider, "ORPHAN", 5, child("NEVER")))
	w.store.now = w.store.now.Add(90 * time.Minute)
	w.sort(w.change(events.InfoProvider, "RECENT", 95, child("LATER")))
	w.store.now = w.store.now.Add(30 * time.Minute)

	released, expired, err := w.sorter.Sweep(context.Background(), w.store, time.Hour)
	if err != nil || released != 0 || expired != 1 {
		t.Fatalf("Sweep = %d released, %d expired, %v; want 0, 1, nil", released, expired, err)
	}
	w.wantParked(map[string]string{"info_provider RECENT": "registration LATER"})
	q := w.store.snapshot().quarantine
	if len(q) != 1 || q[0].ID != "ORPHAN" || !strings.Contains(q[0].Reason, "registration NEVER never arrived") {
		t.Errorf("quarantine %+v, want only ORPHAN, saying registration NEVER never arrived", q)
	}
	w.wantStored(map[string]string{"info_provider ORPHAN": "", "info_provider RECENT": ""})
	w.wantOutbox()
}

// A bad row released by the sweep is quarantined in the sweep's transaction; the other released rows commit.
func TestSweepQuarantinesABadReleasedRow(t *testing.T) {
	w := newWorld(t)
	w.sort(w.change(events.CaseInfo, "C1", 5, map[string]any{"registration_id": "R1"}))
	w.sort(w.change(events.InfoProvider, "IP1", 5, child("R1")))
	// Whatever made it so, a parked version the rules refuse: written straight into the parking lot.
	bad := version(events.CaseInfo, "C1", 6, map[string]any{"registration_id": "R1", "filing_org_id": true})
	if err := w.store.Apply(context.Background(), func(tx sort.Tx) error {
		return tx.Park(context.Background(), bad, jurisdiction.Dependency{Table: events.Registration, ID: "R1"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.Apply(context.Background(), func(tx sort.Tx) error {
		r1 := version(events.Registration, "R1", 10, registration("ORG-420106-S03"))
		if _, _, err := tx.Claim(context.Background(), r1, false); err != nil {
			return err
		}
		return tx.Decided(context.Background(), r1, true, sort.Placement{Unit: "420106", Key: "R1"})
	}); err != nil {
		t.Fatal(err)
	}

	released, _, err := w.sorter.Sweep(context.Background(), w.store, time.Hour)
	if err != nil || released != 2 {
		t.Fatalf("Sweep = %d released, %v; want 2, nil", released, err)
	}
	w.wantStored(map[string]string{"info_provider IP1": "420106", "case_info C1": ""})
	q := w.store.snapshot().quarantine
	if len(q) != 1 || q[0].ID != "C1" || !strings.Contains(q[0].Reason, "not text") {
		t.Errorf("quarantine %+v, want only C1 with a reason mentioning \"not text\"", q)
	}
}
