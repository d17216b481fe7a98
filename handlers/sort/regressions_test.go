package sort_test

import (
	"slices"
	"strings"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// Regressions: each test here once failed against handlers/sort and describes the behaviour that fixed it.

// A decided registration whose newer version waits for an organisation not captured yet is parked; when the
// organisation arrives, the registration and its family must end up in the new unit and leave the old one.
func TestRegistrationParkedAfterBeingDecidedStillLeavesItsOldUnit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420102-S01")))
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	w.takeOutbox()

	w.sort(w.change(events.Registration, "R1", 20, registration("ORG-420106-S09"))) // a station not captured yet
	w.wantParked(map[string]string{"registration R1": "organization ORG-420106-S09"})
	w.sort(w.change(events.Organization, "ORG-420106-S09", 21, orgCols("ORG-420106", "")))

	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106"})
	w.wantOutbox(
		"420106 organization.upserted ORG-420106-S09",
		"420102 registration.removed R1", "420102 info_provider.removed IP1",
		"420106 registration.upserted R1", "420106 info_provider.upserted IP1",
	)
}

// The same for an organisation: a station decided into 江岸区 moves under a bureau not captured yet.
func TestOrganisationParkedAfterBeingDecidedStillLeavesItsOldUnit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Personnel, "P1", 10, map[string]any{"org_id": "ORG-420102-S01", "name": "李四"}))
	w.takeOutbox()

	w.sort(w.change(events.Organization, "ORG-420102-S01", 20, orgCols("ORG-420111", ""))) // 洪山区, not captured yet
	w.sort(w.change(events.Organization, "ORG-420111", 21, orgCols("ORG-420100", "420111")))

	w.wantStored(map[string]string{"organization ORG-420102-S01": "420111", "personnel P1": "420111"})
	w.wantOutbox(
		"420111 organization.upserted ORG-420111",
		"420102 organization.removed ORG-420102-S01", "420102 personnel.removed P1",
		"420111 organization.upserted ORG-420102-S01", "420111 personnel.upserted P1",
	)
}

// A child whose current upstream version is bad is quarantined when its registration moves; the version
// decided before must not stay with the unit that no longer handles the work order.
func TestCarriedBadChildDoesNotStayInTheOldUnit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420102-S01")))
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	w.change(events.InfoProvider, "IP1", 15, map[string]any{"registration_id": "R1", "address": strings.Repeat("x", sort.MaxFieldBytes+1)})
	w.takeOutbox()

	w.sort(w.change(events.Registration, "R1", 20, registration("ORG-420106")))
	if unit := w.storedUnit("info_provider IP1"); unit == "420102" {
		t.Errorf("info_provider IP1 still stored in 420102 after its registration moved to 420106")
	}
	w.wantOutbox("420102 registration.removed R1", "420106 registration.upserted R1", "420102 info_provider.removed IP1")
}

// A work order that was not Wuhan's, then waits for an organisation not captured yet, then lands in a Wuhan unit
// must bring the children that were judged while it was elsewhere.
func TestRegistrationParkedOnItsWayIntoWuhanBringsItsFamily(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420200")))
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	w.wantStored(map[string]string{"registration R1": "", "info_provider IP1": ""})

	w.sort(w.change(events.Registration, "R1", 20, registration("ORG-420106-S09"))) // a station not captured yet
	w.sort(w.change(events.Organization, "ORG-420106-S09", 21, orgCols("ORG-420106", "")))
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106"})
}

// A replayed older version must not override a newer one, even when neither was ever Wuhan's until the old one.
func TestOlderVersionReplayedAfterANewerNonWuhanOneIsIgnored(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 1, registration("ORG-420106-S03")))
	w.sort(w.change(events.Registration, "R2", 1, registration("ORG-420200")))
	old := version(events.InfoProvider, "IP1", 10, child("R1"))
	w.sort(w.change(events.InfoProvider, "IP1", 20, child("R2")))
	w.takeOutbox()
	w.sort(old) // replayed from the capture topic
	w.wantStored(map[string]string{"info_provider IP1": ""})
	w.wantOutbox()
}

// A row's events in one unit keep one key, so they stay on one partition in order: a case linked to a work order
// after it was stored keeps the key it had, and a child leaving a unit is removed under the key it was stored with.
func TestRecordKeyStaysWhileTheRowStaysInItsUnit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	keys := func() []string {
		var out []string
		for _, d := range w.takeDistributions() {
			out = append(out, d.Unit+" "+d.Type+" "+d.RowID+" key="+d.Key)
		}
		return out
	}
	w.sort(w.change(events.CaseInfo, "C1", 10, map[string]any{"filing_org_id": "ORG-420106", "case_no": "X1"}))
	w.sort(w.change(events.Registration, "R1", 11, registration("ORG-420106-S03")))
	keys()
	w.sort(w.change(events.CaseInfo, "C1", 12, map[string]any{"filing_org_id": "ORG-420106", "registration_id": "R1"}))
	if got := keys(); !slices.Equal(got, []string{"420106 upserted C1 key=C1"}) {
		t.Errorf("case linked to a work order in the same unit: %v, want its old key C1", got)
	}

	w.sort(w.change(events.InfoProvider, "IP1", 13, child("R1")))
	w.sort(w.change(events.Registration, "R2", 14, registration("ORG-420102")))
	keys()
	w.sort(w.change(events.InfoProvider, "IP1", 15, child("R2"))) // re-linked to a work order of 江岸区
	got := keys()
	slices.Sort(got)
	if want := []string{"420102 upserted IP1 key=R2", "420106 removed IP1 key=R1"}; !slices.Equal(got, want) {
		t.Errorf("child moving units: %v, want %v", got, want)
	}
}
