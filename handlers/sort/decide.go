package sort

import (
	"context"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// Previous is what the ledger knew of a row before this version.
type Previous struct {
	Placement        // where the store holds the row; the zero Placement when it does not
	Known       bool // the ledger has an entry for the row
	Decided     bool // a version of the row was decided before
	SameVersion bool // the version now being decided is the one decided before
}

func (b *batch) decide(ctx context.Context, it *item) error {
	if it.err != nil {
		return it.err
	}
	if reason, ok := b.unstorable[it.eventID()]; ok {
		return &BadRowError{Table: it.v.Table, ID: it.v.ID, Reason: reason}
	}
	prev, fresh := b.claim(it)
	if !fresh {
		return nil
	}
	moved, undo := b.saveTree(it)
	verdict, err := b.verdict(ctx, it)
	if err != nil {
		undo() // a row that cannot be decided changes nothing, the tree included
		return err
	}
	if verdict.Waiting != nil && !it.pulled {
		if pulled, err := b.pullParent(ctx, it, *verdict.Waiting); pulled || err != nil {
			return err
		}
	}
	if b.firstInWuhan(it, verdict, prev) {
		b.unchecked = append(b.unchecked, it)
		return nil
	}
	b.apply(it, verdict, prev)
	b.record(it, verdict, prev)
	return b.carryAlong(ctx, it, verdict, prev, moved)
}

// claim is the newer-wins gate on the ledger: false for an older version or, unless again is set, the same one
// (a duplicate delivery). Two contents under one update_time: the greater digest wins, so every order
// converges — except that a row re-read from upstream (again) is the current content by definition, and a
// version source reconciliation confirmed is replaced under the same update_time only by another re-read, and a
// version replayed from the capture log never replaces the ledger's content under the same update_time.
func (b *batch) claim(it *item) (Previous, bool) {
	s := b.ledger[it.ref()]
	if !s.known {
		return Previous{}, true
	}
	prev := Previous{Placement: s.Placement, Known: true, Decided: s.Decided}
	at, digest := s.UpdateTime, it.eventID()
	prev.SameVersion = at.Equal(it.v.UpdateTime) && s.Digest == digest
	if prev.SameVersion {
		return prev, it.again
	}
	// The capture log may hold content the ledger has since replaced under the same update_time (a row re-read
	// because it changed without a new one): the ledger's content stays.
	if at.Equal(it.v.UpdateTime) && (it.replayed == events.ViaReplayCapture || (s.Reconciled && !it.again)) {
		return prev, false
	}
	return prev, it.v.UpdateTime.After(at) || (at.Equal(it.v.UpdateTime) && (digest > s.Digest || it.again))
}

// pullParent fetches a missing parent from upstream and queues it, then the row again, at the front. Nothing has
// been written for the row yet (claim only reads), so it simply goes again. A parent upstream does not have is a
// true orphan: the row parks.
func (b *batch) pullParent(ctx context.Context, it *item, parent jurisdiction.Dependency) (bool, error) {
	rows, err := b.sorter.upstream.Referencing(ctx, parent.Table, "id", []string{parent.ID})
	if err != nil || len(rows) == 0 {
		return false, err
	}
	again := *it
	again.again, again.pulled = true, true
	b.queue = append([]*item{&again}, b.queue...)
	return true, b.push(ctx, rows, events.ViaUpstream, true)
}

// firstInWuhan says a row of a kind that follows its work order, unknown to the ledger, would now be stored in
// Wuhan on the word of a version that may be old: the ledger keeps no entry for such a row while it is elsewhere
// (see record), so an old version replayed or redelivered after a newer one would pass the newer-wins gate, and
// an old version may name another work order. The upstream is asked first whether the version is still the
// row's; in a catch-up that is a few percent of the rows, in one read per kind and batch.
func (b *batch) firstInWuhan(it *item, verdict jurisdiction.Verdict, prev Previous) bool {
	return it.kind.FollowsWorkOrder() && !prev.Known && storeUnit(verdict) != "" && !it.current() && !it.checked
}

// record keeps the version and its verdict in the ledger, so that the ledger's unit is always where the store
// holds the row: a parked version leaves the row where its previous version is until it is decided. Every version
// is recorded, Wuhan's or not, so that a replayed older version never overrides it — except a row of a kind that
// follows its work order, decided not Wuhan's and unknown to the ledger (never Wuhan's). Those are most national
// rows, and writing nothing for them saves a catch-up an eighth of its time. Nothing is lost: a work order that
// moves into Wuhan re-reads its family from upstream, and a version that would bring such a row into Wuhan is
// first checked against the upstream (firstInWuhan), which the newer-wins gate cannot do without an entry.
// (What can no longer matter is pruned later: see the ledger retention.)
func (b *batch) record(it *item, verdict jurisdiction.Verdict, prev Previous) {
	at := placement(it, verdict, prev)
	if !verdict.Decided() {
		at = prev.Placement
	}
	entry := Entry{UpdateTime: it.v.UpdateTime, Digest: it.eventID(), Decided: verdict.Decided(), Placement: at,
		Reconciled: it.via == events.ViaReconciled}
	needed := prev.Known || !verdict.Decided() || at.Unit != "" || !it.kind.FollowsWorkOrder()
	b.out.record(it.ref(), entry, needed)
	b.ledger[it.ref()] = seen{Entry: entry, known: true}
}

// placement is where a decided row goes. Its key is its registration for a work order's family (so the family's
// events keep their order), else its own id — unless the row stays in the unit it is in, where it keeps the key
// its events there already carry, even if its registration link changed.
func placement(it *item, verdict jurisdiction.Verdict, prev Previous) Placement {
	unit := storeUnit(verdict)
	switch {
	case unit == "":
		return Placement{}
	case unit == prev.Unit && prev.Key != "":
		return Placement{Unit: unit, Key: prev.Key}
	case registrationOf(it) != "":
		return Placement{Unit: unit, Key: registrationOf(it)}
	}
	return Placement{Unit: unit, Key: it.v.ID}
}

// apply makes the store reflect the verdict. A row source reconciliation re-read is written even when the ledger
// already has its version where the verdict puts it: the store, not the ledger, was found to differ.
func (b *batch) apply(it *item, verdict jurisdiction.Verdict, prev Previous) {
	if !verdict.Decided() {
		b.out.park(it.v, *verdict.Waiting)
		b.trail.decided(it, verdict, "")
		return
	}
	if prev.Known && !prev.Decided { // only a row recorded undecided can be parked
		b.out.unpark(it.ref(), it.v.UpdateTime)
	}
	to := placement(it, verdict, prev)
	if prev.SameVersion && prev.Unit == to.Unit && it.via != events.ViaReconciled && it.replayed == "" {
		return // re-decided to where it already is: nothing changes, nothing to tell (a re-read or replay sends it again)
	}
	if audited(verdict, to, prev.Placement) {
		b.trail.decided(it, verdict, to.Unit)
	}
	switch {
	case to.Unit != "":
		b.out.put(it, to, prev.Placement)
		b.trail.stored(it, to.Unit, eventType(it))
		if prev.Unit != "" && prev.Unit != to.Unit {
			b.trail.removed(it, prev.Unit)
		}
	case prev.Unit != "":
		b.out.remove(it.kind, it.v, prev.Placement)
		b.trail.removed(it, prev.Unit)
	}
}

// quarantine sets a carried-along row aside with its reason. Where it belongs can no longer be told, so a version
// stored earlier leaves its unit too: a unit that no longer handles the work order must not keep its data.
func (b *batch) quarantine(ctx context.Context, it *item, reason string) error {
	b.out.unpark(it.ref(), it.v.UpdateTime)
	b.out.quarantine = append(b.out.quarantine, QuarantineRow{Version: it.v, Reason: reason})
	b.trail.quarantined(it, reason)
	if err := b.fetchLedger(ctx, []Ref{it.ref()}); err != nil {
		return err
	}
	stored := b.ledger[it.ref()]
	if stored.Unit == "" || it.kind.Table == "" {
		return nil
	}
	b.out.remove(it.kind, it.v, stored.Placement)
	b.trail.removed(it, stored.Unit)
	entry := Entry{UpdateTime: it.v.UpdateTime, Digest: it.eventID(), Decided: true}
	b.out.record(it.ref(), entry, true)
	b.ledger[it.ref()] = seen{Entry: entry, known: true}
	return nil
}

// storeUnit is the unit_code a verdict stores under; "" when the row is not Wuhan's.
func storeUnit(v jurisdiction.Verdict) string {
	if v.Broadcast {
		return events.BroadcastUnit
	}
	return v.Unit
}

// saveTree keeps the national organisation tree current; moved reports a parent or division change.
func (b *batch) saveTree(it *item) (moved bool, undo func()) {
	if !it.kind.OrgTree {
		return false, func() {}
	}
	return b.tree.save(jurisdiction.Org{ID: text(it.row, "id"), ParentID: text(it.row, "parent_id"), DivisionCode: text(it.row, "division_code")})
}

func (b *batch) verdict(ctx context.Context, it *item) (jurisdiction.Verdict, error) {
	look := &lookups{ctx: ctx, batch: b}
	verdict, err := b.units.Decide(it.kind, it.row, &b.tree, look)
	if look.err != nil {
		return verdict, look.err
	}
	return verdict, err
}

// lookups answers the jurisdiction rules' registration questions from the batch's ledger. The rules'
// interfaces have no error result, so the first error is kept for the caller.
type lookups struct {
	ctx   context.Context
	batch *batch
	err   error
}

// RegistrationUnit is the unit a registration was decided into; known is false until it is decided. A
// registration the batch did not look up yet is locked first, to wait for a decision of it in flight.
func (l *lookups) RegistrationUnit(id string) (string, bool) {
	ref := Ref{Table: events.WorkOrderKind.Table, ID: id}
	if _, looked := l.batch.ledger[ref]; !looked && l.err == nil {
		if l.err = l.batch.tx.Lock(l.ctx, []Ref{ref}); l.err == nil {
			l.err = l.batch.fetchLedger(l.ctx, []Ref{ref})
		}
	}
	s := l.batch.ledger[ref]
	return s.Unit, s.Decided
}

func text(row jurisdiction.Row, col string) string {
	s, _ := row[col].(string)
	return s
}
