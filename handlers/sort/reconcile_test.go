package sort_test

import (
	"context"
	"fmt"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// sameTimeContents returns two contents of registration R1 under one update_time, the old one with the greater
// digest: without reconciliation's mark, a replay of the old one would win the newer-wins gate.
func sameTimeContents(w *world) (old, current events.RowVersion) {
	for i := 0; ; i++ {
		cols := registration("ORG-420102-S01")
		cols["summary"] = fmt.Sprintf("before %d", i)
		old = w.change(events.Registration, "R1", 10, cols)
		cols["summary"] = "after"
		current = version(events.Registration, "R1", 10, cols)
		if old.EventID() > current.EventID() {
			return old, current
		}
	}
}

func TestResortedContentWinsAndAReplayedOlderContentUnderTheSameUpdateTimeDoesNotComeBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	old, current := sameTimeContents(w)
	w.sort(old)
	w.takeOutbox()
	w.upstream.set(current) // changed upstream without a new update_time

	if err := w.sorter.Resort(context.Background(), []events.RowVersion{current}); err != nil {
		t.Fatal(err)
	}
	w.wantOutbox("420102 registration.upserted R1")
	w.sort(old) // a replay of the capture topic
	if got := w.payloadOf("registration R1", "summary"); got != "after" {
		t.Errorf("after a replay of the old content the store holds summary %v, want the re-captured one", got)
	}
	w.wantOutbox()
}

func TestResortWritesARowTheStoreLostEvenWhenTheLedgerHasItsVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v := w.change(events.Registration, "R1", 10, registration("ORG-420102-S01"))
	w.sort(v)
	w.takeOutbox()
	w.exec(`DELETE FROM ` + storeSchema + `.registration WHERE id = 'R1'`)

	if err := w.sorter.Resort(context.Background(), []events.RowVersion{v}); err != nil {
		t.Fatal(err)
	}
	w.wantStored(map[string]string{"registration R1": "420102"})
	w.wantOutbox("420102 registration.upserted R1")
}

func TestForgetRemovesARowDeletedUpstreamAndKeepsItsOldVersionOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v := w.change(events.Registration, "R1", 10, registration("ORG-420102-S01"))
	w.sort(v)
	w.takeOutbox()

	stale := sort.Gone{Ref: sort.Ref{Table: events.Registration, ID: "R1"}, UpdateTime: v.UpdateTime, Digest: "another version"}
	if err := w.sorter.Forget(context.Background(), []sort.Gone{stale}); err != nil {
		t.Fatal(err)
	}
	w.wantStored(map[string]string{"registration R1": "420102"}) // the ledger moved on: left alone

	gone := sort.Gone{Ref: stale.Ref, UpdateTime: v.UpdateTime, Digest: v.EventID()}
	if err := w.sorter.Forget(context.Background(), []sort.Gone{gone}); err != nil {
		t.Fatal(err)
	}
	w.wantStored(map[string]string{"registration R1": ""})
	w.wantOutbox("420102 registration.removed R1")
	w.sort(v) // a late or replayed copy of the deleted version
	w.wantStored(map[string]string{"registration R1": ""})
	w.wantOutbox()
}
