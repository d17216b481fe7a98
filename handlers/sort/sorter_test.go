package sort_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// registration is a work order's columns. reg_no is left NULL: it is UNIQUE in the store, and a number shared by
// two registrations is a value the store refuses.
func registration(handleDept string) map[string]any {
	return map[string]any{"kind": 1, "handle_dept_id": handleDept, "division_code": nil, "status": "new"}
}

func child(registrationID string) map[string]any {
	return map[string]any{"registration_id": registrationID, "name": "张三", "phone": "13812345678"}
}

func TestRegistrationIsStoredOncePerVersionNewestWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v1 := w.change(events.Registration, "R1", 10, registration("ORG-420106-S03"))
	w.sort(v1)
	w.wantStored(map[string]string{"registration R1": "420106"})
	w.wantOutbox("420106 registration.upserted R1")

	before := w.snapshot()
	w.sort(v1) // a duplicate delivery
	if changed := w.snapshot().changedSince(before); changed != "" {
		t.Errorf("a duplicate delivery changed the store: %s", changed)
	}
	w.wantOutbox()

	cols := registration("ORG-420106-S03")
	cols["status"] = "done"
	v2 := w.change(events.Registration, "R1", 20, cols)
	w.sort(v2)
	w.wantOutbox("420106 registration.upserted R1")
	w.sort(v1) // the older version, late
	w.wantOutbox()
	if got := w.payloadOf("registration R1", "status"); got != "done" {
		t.Errorf("status %q after the older version arrived late, want the newer version's \"done\"", got)
	}
}

// Upstream sometimes stamps two contents with one update_time: whichever arrives first, the same one wins.
func TestSameUpdateTimeTwoContentsConvergeWhateverTheOrder(t *testing.T) {
	t.Parallel()
	a := version(events.Registration, "R1", 10, map[string]any{"handle_dept_id": "ORG-420106-S03", "status": "a"})
	b := version(events.Registration, "R1", 10, map[string]any{"handle_dept_id": "ORG-420106-S03", "status": "b"})
	winner := "a"
	if b.EventID() > a.EventID() {
		winner = "b"
	}
	for _, order := range [][]events.RowVersion{{a, b}, {b, a}} {
		w := newWorld(t)
		for _, v := range order {
			w.sort(v)
		}
		if got := w.payloadOf("registration R1", "status"); got != winner {
			t.Errorf("status %q, want %q (the greater event id) whatever the order", got, winner)
		}
	}
}

func TestSoftDeletedRowStaysStoredWithADeletedEvent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")))
	cols := registration("ORG-420106-S03")
	cols["is_deleted"] = true
	w.sort(w.change(events.Registration, "R1", 20, cols))
	w.wantStored(map[string]string{"registration R1": "420106"})
	w.wantOutbox("420106 registration.upserted R1", "420106 registration.deleted R1")
}

func TestChildBeforeItsRegistrationIsParkedThenDecidedWithIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.InfoProvider, "IP1", 5, child("R1")))
	w.wantStored(map[string]string{"info_provider IP1": ""})
	w.wantParked(map[string]string{"info_provider IP1": "registration R1"})
	w.wantOutbox()

	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")))
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106"})
	w.wantParked(map[string]string{})
	w.wantOutbox("420106 registration.upserted R1", "420106 info_provider.upserted IP1")
}

func TestChildWhoseRegistrationIsUpstreamButNotCapturedPullsItInsteadOfParking(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r1 := w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")) // upstream, not consumed yet
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	w.wantParked(map[string]string{})
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106"})
	w.wantOutbox("420106 registration.upserted R1", "420106 info_provider.upserted IP1")

	w.sort(r1) // the registration's own event arrives later: a duplicate by then
	w.wantOutbox()
}

// A sorter remembers which registrations it saw decided and does not read their ledger entries again before its
// locks. Another instance may have parked a newer version of one since: the read under the locks still sees
// it, and the child waits for its registration instead of following the version this sorter remembers.
func TestAChildFollowsItsRegistrationParkedByAnotherInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 1, registration("ORG-420106-S03")))
	w.sort(w.change(events.InfoProvider, "IP1", 2, child("R1")))
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106"})
	w.takeOutbox()

	other := sort.NewSorter(w.sorter.Units(), w.store, w.upstream)
	if err := other.Sort(context.Background(), w.change(events.Registration, "R1", 3, registration("ORG-NEW"))); err != nil {
		t.Fatal(err)
	}
	w.wantParked(map[string]string{"registration R1": "organization ORG-NEW"})

	w.sort(w.change(events.Subject, "S1", 4, child("R1")))
	w.wantParked(map[string]string{"registration R1": "organization ORG-NEW", "subject S1": "registration R1"})
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106", "subject S1": ""})
	w.wantOutbox()

	w.sort(w.change(events.Organization, "ORG-NEW", 5, orgCols("ORG-420102", "")))
	w.wantParked(map[string]string{})
	w.wantStored(map[string]string{"registration R1": "420102", "info_provider IP1": "420102", "subject S1": "420102"})
}

// A row of a kind that follows its work order costs the ledger nothing while its family is elsewhere: its work
// order's entry says all there is. The work orders keep theirs, Wuhan's families keep theirs, and a family that
// moves into Wuhan still comes along.
func TestTheLedgerKeepsNoEntryForARowWhoseFamilyIsElsewhere(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 1, registration("ORG-420200")))
	w.sort(w.change(events.Registration, "R2", 1, registration("ORG-420106-S03")))
	w.sort(w.change(events.InfoProvider, "IP1", 2, child("R1")))
	w.sort(w.change(events.InfoProvider, "IP2", 2, child("R2")))
	if got := w.ledgerRows(); !slices.Equal(got, []string{"info_provider IP2", "registration R1", "registration R2"}) {
		t.Errorf("ledger entries %v, want both work orders and only the Wuhan family's row", got)
	}

	w.sort(w.change(events.Registration, "R1", 3, registration("ORG-420102-S01")))
	w.wantStored(map[string]string{"registration R1": "420102", "info_provider IP1": "420102"})
	if got := w.ledgerRows(); !slices.Contains(got, "info_provider IP1") {
		t.Errorf("ledger entries %v, want IP1's now that its family is Wuhan's", got)
	}
}

// Without a ledger entry the newer-wins gate cannot tell an old version from a new one, so a version that would
// bring such a row into Wuhan is checked against the upstream: an overtaken one gives way to the current one.
func TestAnOvertakenVersionBringsTheCurrentOneIntoWuhanOrNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 1, registration("ORG-420106-S03")))
	w.sort(w.change(events.Registration, "R2", 1, registration("ORG-420200")))
	w.takeOutbox()

	old := version(events.InfoProvider, "IP1", 10, child("R1"))
	w.change(events.InfoProvider, "IP1", 20, child("R2")) // upstream moved it to a family elsewhere, not captured yet
	w.sort(old)
	w.wantStored(map[string]string{"info_provider IP1": ""})
	w.wantOutbox()

	stale := version(events.InfoProvider, "IP2", 10, map[string]any{"registration_id": "R1", "name": "旧"})
	w.change(events.InfoProvider, "IP2", 20, map[string]any{"registration_id": "R1", "name": "新"})
	w.sort(stale)
	if got := w.payloadOf("info_provider IP2", "name"); got != "新" {
		t.Errorf("IP2 stored with name %v, want the upstream's current version's", got)
	}
	w.wantOutbox("420106 info_provider.upserted IP2")
}

func TestForwardedRegistrationTakesItsFamily(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420102-S01")))
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	w.sort(w.change(events.Subject, "S1", 11, map[string]any{"registration_id": "R1", "name": "某公司"}))
	w.wantStored(map[string]string{"registration R1": "420102", "info_provider IP1": "420102", "subject S1": "420102"})
	w.takeOutbox()

	w.sort(w.change(events.Registration, "R1", 20, registration("ORG-420106"))) // 分送 江岸区 → 武昌区
	w.wantStored(map[string]string{"registration R1": "420106", "info_provider IP1": "420106", "subject S1": "420106"})
	w.wantOutbox(
		"420102 registration.removed R1", "420102 info_provider.removed IP1", "420102 subject.removed S1",
		"420106 registration.upserted R1", "420106 info_provider.upserted IP1", "420106 subject.upserted S1",
	)
}

func TestRegistrationLeavingWuhanAndComingBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R3", 10, registration("ORG-WH-DHGX-S01")))
	w.sort(w.change(events.Subject, "S3", 11, map[string]any{"registration_id": "R3", "name": "光谷某公司"}))
	w.takeOutbox()

	w.sort(w.change(events.Registration, "R3", 20, registration("ORG-420200"))) // to 黄石
	w.wantStored(map[string]string{"registration R3": "", "subject S3": ""})
	w.wantOutbox("dhgx registration.removed R3", "dhgx subject.removed S3")

	// While it is 黄石's: one child is sorted (and found not Wuhan's), another changes and a third appears
	// upstream before capture delivers them.
	w.sort(w.change(events.InfoProvider, "IP3", 21, child("R3")))
	w.change(events.Subject, "S3", 22, map[string]any{"registration_id": "R3", "name": "光谷某公司（更名）"})
	w.change(events.Object, "O3", 23, map[string]any{"registration_id": "R3", "name": "某商品"})
	w.wantStored(map[string]string{"info_provider IP3": ""})
	w.wantOutbox()

	w.sort(w.change(events.Registration, "R3", 30, registration("ORG-420102"))) // back, to 江岸区
	w.wantStored(map[string]string{"registration R3": "420102", "subject S3": "420102", "info_provider IP3": "420102", "object O3": "420102"})
	w.wantOutbox("420102 registration.upserted R3", "420102 subject.upserted S3", "420102 info_provider.upserted IP3", "420102 object.upserted O3")
	if got := w.payloadOf("subject S3", "name"); got != "光谷某公司（更名）" {
		t.Errorf("subject S3 stored as %q, want the current upstream version", got)
	}
}

func TestStationMovingToAnotherDistrictTakesEverythingUnderIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Organization, "ORG-420102-S01-T1", 5, orgCols("ORG-420102-S01", ""))) // a team under the station
	w.sort(w.change(events.Personnel, "P1", 10, map[string]any{"org_id": "ORG-420102-S01", "name": "李四"}))
	w.sort(w.change(events.Personnel, "P2", 10, map[string]any{"org_id": "ORG-420102-S01-T1", "name": "赵六"}))
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420102-S01")))
	w.sort(w.change(events.InfoProvider, "IP1", 11, child("R1")))
	family := []string{"organization ORG-420102-S01", "organization ORG-420102-S01-T1", "personnel P1", "personnel P2", "registration R1", "info_provider IP1"}
	w.wantStored(allIn(family, "420102"))
	w.takeOutbox()

	w.sort(w.change(events.Organization, "ORG-420102-S01", 20, orgCols("ORG-420106", "")))
	w.wantStored(allIn(family, "420106"))
	var want []string
	for _, name := range family {
		table, id, _ := strings.Cut(name, " ")
		want = append(want, "420102 "+table+".removed "+id, "420106 "+table+".upserted "+id)
	}
	w.wantOutbox(want...)
}

// A move inside one unit changes nothing for the rows below: only the moved organisation's own new version is news.
func TestStationMovingWithinItsDistrictEmitsOnlyItself(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Personnel, "P1", 10, map[string]any{"org_id": "ORG-420106-S03", "name": "李四"}))
	w.sort(w.change(events.Registration, "R1", 10, registration("ORG-420106-S03")))
	w.takeOutbox()

	w.sort(w.change(events.Organization, "ORG-420106-S03", 20, orgCols("ORG-420106", "420106")))
	w.wantStored(map[string]string{"personnel P1": "420106", "registration R1": "420106"})
	w.wantOutbox("420106 organization.upserted ORG-420106-S03")
}

func allIn(names []string, unit string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = unit
	}
	return m
}

func TestDecisionsByKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		v        events.RowVersion
		wantUnit string // "" when not Wuhan's: not stored, no event
	}{
		{"national dictionary entry goes to every unit",
			version(events.Dictionary, "D1", 10, map[string]any{"dict_type": "reg_kind", "code": "1", "division_code": nil}), "broadcast"},
		{"Wuhan dictionary entry goes to every unit",
			version(events.Dictionary, "D3", 10, map[string]any{"dict_type": "local", "code": "y", "division_code": "420106"}), "broadcast"},
		{"黄石 dictionary entry is not Wuhan's",
			version(events.Dictionary, "D2", 10, map[string]any{"dict_type": "local", "code": "x", "division_code": "420200"}), ""},
		{"zone bureau is matched by org id, having no division code",
			version(events.Registration, "R3", 10, registration("ORG-WH-DHGX-S01")), "dhgx"},
		{"city department level is the city's",
			version(events.Personnel, "P9", 10, map[string]any{"org_id": "ORG-420100", "name": "王五"}), "city"},
		{"registration without a handling organisation falls back to its division",
			version(events.Registration, "R4", 10, map[string]any{"kind": 3, "handle_dept_id": nil, "division_code": "420106"}), "420106"},
		{"registration handled in 黄石 is not Wuhan's",
			version(events.Registration, "R2", 10, registration("ORG-420200")), ""},
		{"registration with no deciding column is not Wuhan's",
			version(events.Registration, "R5", 10, map[string]any{"kind": 3}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.sort(tt.v)
			name := tt.v.Table + " " + tt.v.ID
			w.wantStored(map[string]string{name: tt.wantUnit})
			if tt.wantUnit == "" {
				w.wantOutbox()
			} else {
				w.wantOutbox(tt.wantUnit + " " + tt.v.Table + ".upserted " + tt.v.ID)
			}
			w.wantParked(map[string]string{})
		})
	}
}

func TestBadRowIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("投", sort.MaxFieldBytes/3+1)
	tests := []struct {
		name       string
		v          events.RowVersion
		wantReason string
	}{
		{"payload not JSON",
			events.RowVersion{Table: events.Registration, ID: "BAD-JSON", UpdateTime: t0, Payload: []byte(`{not json`)}, "not a JSON object"},
		{"malformed division code",
			version(events.Registration, "BAD-DIV", 10, map[string]any{"kind": 1, "division_code": "42A106"}), "six-digit"},
		{"field over MaxFieldBytes",
			version(events.Registration, "BAD-BIG", 10, map[string]any{"handle_dept_id": "ORG-420106", "summary": huge}), "over the"},
		{"payload id differs from the event's",
			events.RowVersion{Table: events.Registration, ID: "R1", UpdateTime: t0, Payload: []byte(`{"id":"R2"}`)}, "does not match"},
		{"unknown table",
			version("complaint", "C1", 10, nil), "unknown table"},
		// Found by the jurisdiction rules after the ledger claimed the version: the claim must roll back too.
		{"deciding column not text",
			version(events.Registration, "BAD-TYPE", 10, map[string]any{"handle_dept_id": true}), "not text"},
		{"organisation tree with a cycle",
			version(events.Organization, "ORG-420106", 10, orgCols("ORG-420106-S03", "")), "cycle"},
		// Found by the store itself, once the rules have decided the row: its write must roll back with the rest.
		{"value the column type refuses",
			version(events.Registration, "BAD-KIND", 10, map[string]any{"kind": "abc", "handle_dept_id": "ORG-420106-S03"}), "smallint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.sort(w.change(events.Registration, "R0", 5, registration("ORG-420106-S03")))
			w.sort(w.change(events.InfoProvider, "IP-WAIT", 5, child("R-LATER")))
			before := w.snapshot()

			err := w.sorter.Sort(context.Background(), tt.v)
			var bad *sort.BadRowError
			if !errors.As(err, &bad) {
				t.Fatalf("Sort returned %v, want a *sort.BadRowError", err)
			}
			if bad.Table != tt.v.Table || bad.ID != tt.v.ID || !strings.Contains(bad.Reason, tt.wantReason) {
				t.Errorf("bad row %s %s %q, want %s %s with a reason mentioning %q", bad.Table, bad.ID, bad.Reason, tt.v.Table, tt.v.ID, tt.wantReason)
			}
			if changed := w.snapshot().changedSince(before); changed != "" {
				t.Errorf("the refused row changed the store (ledger, rows, tree, parking, outbox or quarantine): %s", changed)
			}
		})
	}
}

// A bad row met while carrying a family along is quarantined: the rest of the decision commits.
func TestCarriedBadRowIsQuarantinedNotFatal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R2", 10, registration("ORG-420200")))
	w.change(events.InfoProvider, "IP-GOOD", 11, child("R2"))
	w.change(events.InfoProvider, "IP-BIG", 11, map[string]any{"registration_id": "R2", "address": strings.Repeat("x", sort.MaxFieldBytes+1)})
	w.change(events.Subject, "S-DIV", 11, map[string]any{"registration_id": "R2", "division_code": "42A106"})
	w.change(events.Object, "O-TYPE", 11, map[string]any{"registration_id": "R2", "filing_org_id": false})
	w.change(events.CaseInfo, "C-TYPE", 11, map[string]any{"registration_id": "R2", "filing_org_id": true})

	w.sort(w.change(events.Registration, "R2", 20, registration("ORG-420106")))
	w.wantStored(map[string]string{"registration R2": "420106", "info_provider IP-GOOD": "420106", "info_provider IP-BIG": "", "subject S-DIV": "", "case_info C-TYPE": "",
		"object O-TYPE": "420106", // a column that decides nothing is no concern of sorting
	})
	w.wantOutbox("420106 registration.upserted R2", "420106 info_provider.upserted IP-GOOD", "420106 object.upserted O-TYPE")

	got := map[string]string{}
	for _, q := range w.quarantine() {
		got[q.Table+" "+q.ID] = q.Reason
	}
	want := map[string]string{"info_provider IP-BIG": "over the", "subject S-DIV": "six-digit", "case_info C-TYPE": "not text"}
	if len(got) != len(want) {
		t.Errorf("quarantined %v, want exactly %v", got, want)
	}
	for name, reason := range want {
		if !strings.Contains(got[name], reason) {
			t.Errorf("%s quarantined with %q, want a reason mentioning %q", name, got[name], reason)
		}
	}
}

// A value the store's column type refuses (kind is a smallint upstream) is found only when the row is written. A
// registration carried along — here released from parking by the station it waited for — is quarantined with the
// reason, without the value itself (it may be personal data); the rest of the decision commits.
func TestCarriedUnstorableRowIsQuarantinedNotFatal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.sort(w.change(events.Registration, "R-ABC", 10, map[string]any{"kind": "abc", "handle_dept_id": "ORG-420106-S09"}))
	w.sort(w.change(events.Registration, "R-OK", 10, registration("ORG-420106-S09")))
	w.wantParked(map[string]string{"registration R-ABC": "organization ORG-420106-S09", "registration R-OK": "organization ORG-420106-S09"})

	w.sort(w.change(events.Organization, "ORG-420106-S09", 11, orgCols("ORG-420106", "")))
	w.wantStored(map[string]string{"organization ORG-420106-S09": "420106", "registration R-OK": "420106", "registration R-ABC": ""})
	w.wantParked(map[string]string{})
	w.wantOutbox("420106 organization.upserted ORG-420106-S09", "420106 registration.upserted R-OK")
	q := w.quarantine()
	if len(q) != 1 || q[0].Table != events.Registration || q[0].ID != "R-ABC" || !strings.Contains(q[0].Reason, "smallint") {
		t.Fatalf("quarantine %+v, want only registration R-ABC with a reason mentioning \"smallint\"", q)
	}
	if strings.Contains(q[0].Reason, "abc") {
		t.Errorf("quarantine reason %q repeats the refused value", q[0].Reason)
	}
}
