package sort

import (
	"strconv"
	"testing"

	"hotline-bridge/events"
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
	h.learn(registrationsSeen(true, "R1", "R2"))
	h.learn(registrationsSeen(false, "R2", "R3"))
	h.learn(map[Ref]seen{{Table: events.Subject, ID: "R4"}: {Entry: Entry{Decided: true}, known: true}})
	if !h.has("R1") || h.has("R2") || h.has("R3") || h.has("R4") {
		t.Fatalf("R1..R4 known: %v %v %v %v, want only R1 (R2 parked again, R3 never decided, R4 not a registration)",
			h.has("R1"), h.has("R2"), h.has("R3"), h.has("R4"))
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
	if h.has("R1") || !h.has("1-0") {
		t.Errorf("after two full generations R1 known %v, 1-0 known %v: want the oldest forgotten, the recent kept", h.has("R1"), h.has("1-0"))
	}
	if n := len(h.now) + len(h.old); n > 2*hintGeneration {
		t.Errorf("the hint holds %d ids, want at most %d", n, 2*hintGeneration)
	}
}
