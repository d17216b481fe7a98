package sort

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// writeSet gathers what a batch decided. Tables that hold one state per row keep only the row's last state, so
// each row is written once however often the batch decided it; events keep every occurrence, in order.
type writeSet struct {
	ledger     lastPerRow[ledgerWrite]
	rows       lastPerRow[StoreRow]
	parking    lastPerRow[parkOp]
	events     []Event
	removals   []Removal
	quarantine []QuarantineRow
}

// ledgerWrite is a row's ledger entry as the batch decided it; needed is false for an entry the ledger does not
// keep (see batch.record): it counts as a decision, and is not written.
type ledgerWrite struct {
	LedgerRow
	needed bool
}

func (w *writeSet) record(r Ref, e Entry, needed bool) {
	w.ledger.set(r, ledgerWrite{LedgerRow: LedgerRow{Ref: r, Entry: e}, needed: needed})
}

// ledgerRows are the entries to write.
func (w *writeSet) ledgerRows() []LedgerRow {
	out := make([]LedgerRow, 0, len(w.ledger.order))
	for _, l := range w.ledger.values() {
		if l.needed {
			out = append(out, l.LedgerRow)
		}
	}
	return out
}

type parkOp struct {
	park   *ParkRow
	unpark *UnparkRow
}

// lastPerRow keeps the last value set for each row, in the order rows were first set.
type lastPerRow[T any] struct {
	order []Ref
	last  map[Ref]T
}

func (l *lastPerRow[T]) set(r Ref, v T) {
	if l.last == nil {
		l.last = map[Ref]T{}
	}
	if _, ok := l.last[r]; !ok {
		l.order = append(l.order, r)
	}
	l.last[r] = v
}

func (l *lastPerRow[T]) values() []T {
	out := make([]T, 0, len(l.order))
	for _, r := range l.order {
		out = append(out, l.last[r])
	}
	return out
}

func (w *writeSet) park(v events.RowVersion, waiting Ref) {
	ref := Ref{Table: v.Table, ID: v.ID}
	w.parking.set(ref, parkOp{park: &ParkRow{Version: v, Waiting: waiting}})
}

func (w *writeSet) unpark(ref Ref, upTo time.Time) {
	w.parking.set(ref, parkOp{unpark: &UnparkRow{Ref: ref, UpTo: upTo}})
}

// put stores the version at to; a row that was stored in another unit (from) leaves it with a removed event.
func (w *writeSet) put(it *item, to, from Placement) {
	w.rows.set(it.ref(), StoreRow{Ref: it.ref(), EventID: it.eventID(), Unit: to.Unit, UpdateTime: it.v.UpdateTime, Payload: it.v.Payload})
	if from.Unit != "" && from.Unit != to.Unit {
		w.recordRemoval(it.kind, it.v, from)
	}
	w.emit(it.kind, it.v, to, eventType(it), it.v.Payload)
}

// eventType is what storing the version tells its unit: the row is new or changed, or soft-deleted upstream.
func eventType(it *item) string {
	if deleted, _ := it.row["is_deleted"].(bool); deleted {
		return events.EventDeleted
	}
	return events.EventUpserted
}

// remove takes a row that is no longer Wuhan's out of the store, recording the removal and its event.
func (w *writeSet) remove(kind events.Kind, v events.RowVersion, from Placement) {
	ref := Ref{Table: v.Table, ID: v.ID}
	w.rows.set(ref, StoreRow{Ref: ref, Delete: true})
	w.recordRemoval(kind, v, from)
}

// recordRemoval keeps the fact that the row left a unit and tells the unit, under the key its events there carry.
func (w *writeSet) recordRemoval(kind events.Kind, v events.RowVersion, from Placement) {
	w.removals = append(w.removals, Removal{Ref: Ref{Table: v.Table, ID: v.ID}, Unit: from.Unit, UpdateTime: v.UpdateTime})
	payload, _ := json.Marshal(map[string]string{"id": v.ID, "unit_code": from.Unit})
	w.emit(kind, v, from, events.EventRemoved, payload)
}

func (w *writeSet) emit(kind events.Kind, v events.RowVersion, at Placement, eventType string, payload []byte) {
	w.events = append(w.events, Event{
		Scope: distributionScope(v, at.Unit, eventType), Unit: at.Unit, Type: kind.Table + "." + eventType,
		Table: kind.Table, RowID: v.ID, Key: at.Key, RowTime: v.UpdateTime, Payload: payload,
	})
}

// distributionScope names the change; the outbox row's sequence number completes it into the ce_id. So an event
// re-sent after a failure keeps its ce_id (consumers dedupe on it), while the same row version sent to the same
// unit again later — a work order forwarded A → B → A — is a new event with a new ce_id, which no consumer may
// mistake for a duplicate.
func distributionScope(v events.RowVersion, unit, eventType string) string {
	return v.EventID() + ":" + unit + ":" + eventType
}

// writes renders the set for the store, with the tree's changes.
func (w *writeSet) writes(tree map[string]jurisdiction.Org, hops []events.Hop) *Writes {
	out := &Writes{
		Ledger: w.ledgerRows(), Rows: w.rows.values(), Events: w.events, Removals: w.removals,
		Quarantine: w.quarantine, Orgs: make([]jurisdiction.Org, 0, len(tree)), Hops: hops,
	}
	for _, op := range w.parking.values() {
		if op.park != nil {
			out.Park = append(out.Park, *op.park)
		} else {
			out.Unpark = append(out.Unpark, *op.unpark)
		}
	}
	for _, id := range sortedKeys(tree) {
		out.Orgs = append(out.Orgs, tree[id])
	}
	return out
}

func sortedKeys(m map[string]jurisdiction.Org) []string { return slices.Sorted(maps.Keys(m)) }

// flush writes everything the batch decided. Values the store refuses come back as *UnstorableError.
func (b *batch) flush(ctx context.Context) error {
	written, err := b.tx.Write(ctx, b.out.writes(b.tree.changed, b.trail.hops))
	b.written = written
	return err
}
