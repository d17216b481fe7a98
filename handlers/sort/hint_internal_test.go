package sort

import (
	"context"
	"strconv"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

func registrationsSeen(decided bool, ids ...string) map[Ref]seen {
	m := map[Ref]seen{}
	for _, id := range ids {
		m[Ref{Table: events.WorkOrderKind.Table, ID: id}] = seen{Entry: Entry{Decided: decided}, known: true}
	}
	return m
}

func TestTheHintKnowsDecidedRegistrationsOnlyAndForgetsTheOldest(t *testing.T) {
	h := newDecidedHint()
	known := func(id string) bool { return len(h.unknown([]Ref{{Table: events.WorkOrderKind.Table, ID: id}})) == 0 }
	h.learn(registrationsSeen(true, "R1", "R2"))
	h.learn(registrationsSeen(false, "R2", "R3"))
	h.learn(map[Ref]seen{{Table: events.Subject, ID: "R4"}: {Entry: Entry{Decided: true}, known: true}})
	if !known("R1") || known("R2") || known("R3") || known("R4") {
		t.Fatalf("R1..R4 known: %v %v %v %v, want only R1 (R2 parked again, R3 never decided, R4 not a registration)",
			known("R1"), known("R2"), known("R3"), known("R4"))
	}
	unknown := h.unknown([]Ref{{Table: events.WorkOrderKind.Table, ID: "R1"}, {Table: events.WorkOrderKind.Table, ID: "R3"}})
	if len(unknown) != 1 || unknown[0].ID != "R3" {
		t.Fatalf("unknown %v, want R3 alone", unknown)
	}
	for gen := range 2 {
		ids := make([]string, hintGeneration)
		for i := range ids {
			ids[i] = strconv.Itoa(gen) + "-" + strconv.Itoa(i)
		}
		h.learn(registrationsSeen(true, ids...))
	}
	if known("R1") || !known("1-0") {
		t.Errorf("after two full generations R1 known %v, 1-0 known %v: want the oldest forgotten, the recent kept", known("R1"), known("1-0"))
	}
	if n := len(h.now) + len(h.old); n > 2*hintGeneration {
		t.Errorf("the hint holds %d ids, want at most %d", n, 2*hintGeneration)
	}
}

// ledgerReads is a Tx that answers ledger reads from nothing and keeps what it was asked; nothing else is called
// while a batch looks for missing parents.
type ledgerReads struct {
	Tx
	asked [][]Ref
}

func (l *ledgerReads) Ledger(_ context.Context, rows []Ref) (map[Ref]Entry, error) {
	l.asked = append(l.asked, rows)
	return map[Ref]Entry{}, nil
}

type noUpstream struct{ asked []string }

func (u *noUpstream) Referencing(_ context.Context, table, _ string, ids []string) ([]events.RowVersion, error) {
	u.asked = append(u.asked, ids...)
	return nil, nil
}

// Before its locks a batch reads the ledger of the registrations its rows need, to pull those missing from
// upstream, except the ones this sorter saw decided.
func TestMissingParentsReadsOnlyTheRegistrationsTheHintDoesNotKnow(t *testing.T) {
	up := &noUpstream{}
	s := NewSorter(jurisdiction.DefaultUnits(), nil, up)
	s.hint.learn(registrationsSeen(true, "R1"))
	tx := &ledgerReads{}
	b := s.newBatch(context.Background(), tx, nil, 2)
	items := []*item{
		newItem(events.RowVersion{Table: events.Subject, ID: "S1", Payload: []byte(`{"id":"S1","registration_id":"R1"}`)}, ""),
		newItem(events.RowVersion{Table: events.Subject, ID: "S2", Payload: []byte(`{"id":"S2","registration_id":"R2"}`)}, ""),
	}
	if _, err := b.missingParents(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	if len(tx.asked) != 1 || len(tx.asked[0]) != 1 || tx.asked[0][0].ID != "R2" {
		t.Errorf("ledger asked for %v, want R2 alone", tx.asked)
	}
	if len(up.asked) != 1 || up.asked[0] != "R2" {
		t.Errorf("upstream asked for %v, want R2 alone: R1 is decided, R2 missing", up.asked)
	}
}
