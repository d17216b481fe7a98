package sort

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// item is a row version to decide. again marks a re-decision of a version already seen: its parent moved or
// arrived, so the same version may now belong elsewhere.
type item struct {
	v      events.RowVersion
	again  bool
	pulled bool // its missing parent was already looked for upstream
}

// worklist decides rows inside one transaction until nothing more is carried along.
type worklist struct {
	sorter     *Sorter
	tx         Tx
	queue      []item
	carried    bool            // every item is carried along: none is the event the router is handling
	rereadOnce map[string]bool // row versions re-read from upstream in this transaction
}

func (w *worklist) push(v events.RowVersion, again bool) {
	w.queue = append(w.queue, item{v: v, again: again})
}

func (w *worklist) run(ctx context.Context) error {
	for first := !w.carried; len(w.queue) > 0; first = false {
		it := w.queue[0]
		w.queue = w.queue[1:]
		err := asBadRow(it.v, w.decide(ctx, it))
		var bad *BadRowError
		if errors.As(err, &bad) && !first {
			// A row carried along is quarantined here; the one the event was about goes to the poison queue.
			err = w.quarantine(ctx, it.v, bad.Reason)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *worklist) decide(ctx context.Context, it item) error {
	kind, _ := events.KindByTable(it.v.Table)
	row, err := decodeRow(it.v)
	if err != nil {
		return err
	}
	if err := w.shareOrgPath(ctx, kind, row); err != nil {
		return err
	}
	if err := w.tx.Lock(ctx, locks(kind, it.v.ID, row)...); err != nil {
		return err
	}
	prev, fresh, err := w.tx.Claim(ctx, it.v, it.again)
	if err != nil || !fresh {
		return err
	}
	moved, err := w.saveTree(ctx, kind, row)
	if err != nil {
		return err
	}
	verdict, err := w.verdict(ctx, kind, row)
	if err != nil {
		return err
	}
	if verdict.Waiting != nil && !it.pulled {
		if pulled, err := w.pullParent(ctx, it, *verdict.Waiting); pulled || err != nil {
			return err
		}
	}
	if err := w.apply(ctx, kind, it.v, row, verdict, prev); err != nil {
		return err
	}
	if err := w.record(ctx, kind, it.v, row, verdict, prev); err != nil {
		return err
	}
	return w.carryAlong(ctx, kind, it.v.ID, verdict, prev, moved)
}

// pullParent fetches a missing parent from upstream and queues it, then the row again, at the front: during a
// catch-up children are often consumed before their registration, and deciding the parent now spares parking
// and releasing them. Nothing has been written for the row yet (Claim only reads), so it simply goes again. A
// parent upstream does not have is a true orphan: the row parks.
func (w *worklist) pullParent(ctx context.Context, it item, parent jurisdiction.Dependency) (bool, error) {
	rows, err := w.sorter.upstream.Referencing(ctx, parent.Table, "id", []string{parent.ID})
	if err != nil || len(rows) == 0 {
		return false, err
	}
	front := make([]item, 0, len(rows)+1+len(w.queue))
	for _, v := range rows {
		front = append(front, item{v: v})
	}
	front = append(front, item{v: it.v, again: true, pulled: true})
	w.queue = append(front, w.queue...)
	return true, nil
}

// record writes the version and its verdict to the ledger after the store write, so that the ledger's unit is
// always where the store holds the row: a parked version leaves the row where its previous version is until it
// is decided. Every version is recorded, Wuhan's or not: a replayed older version must never override it.
func (w *worklist) record(ctx context.Context, kind events.Kind, v events.RowVersion, row jurisdiction.Row, verdict jurisdiction.Verdict, prev Previous) error {
	at := placement(kind, v.ID, row, verdict, prev)
	if !verdict.Decided() {
		at = prev.Placement
	}
	return w.tx.Decided(ctx, v, verdict.Decided(), at)
}

// placement is where a decided row goes. Its key is its registration for a work order's family (so the family's
// events keep their order), else its own id — unless the row stays in the unit it is in, where it keeps the key
// its events there already carry, even if its registration link changed.
func placement(kind events.Kind, id string, row jurisdiction.Row, verdict jurisdiction.Verdict, prev Previous) Placement {
	unit := storeUnit(verdict)
	switch {
	case unit == "":
		return Placement{}
	case unit == prev.Unit && prev.Key != "":
		return Placement{Unit: unit, Key: prev.Key}
	case kind.RegistrationColumn != "" && text(row, kind.RegistrationColumn) != "":
		return Placement{Unit: unit, Key: text(row, kind.RegistrationColumn)}
	}
	return Placement{Unit: unit, Key: id}
}

// quarantine sets a carried-along row aside with its reason. Where it belongs can no longer be told, so a version
// stored earlier leaves its unit too: a unit that no longer handles the work order must not keep its data.
func (w *worklist) quarantine(ctx context.Context, v events.RowVersion, reason string) error {
	if err := w.tx.Quarantine(ctx, v, reason); err != nil {
		return err
	}
	stored, err := w.tx.Stored(ctx, v.Table, v.ID)
	kind, known := events.KindByTable(v.Table)
	if err != nil || stored.Unit == "" || !known {
		return err
	}
	if err := w.tx.Remove(ctx, kind, v, stored); err != nil {
		return err
	}
	return w.tx.Decided(ctx, v, true, Placement{})
}

// apply makes the store reflect the verdict.
func (w *worklist) apply(ctx context.Context, kind events.Kind, v events.RowVersion, row jurisdiction.Row, verdict jurisdiction.Verdict, prev Previous) error {
	if !verdict.Decided() {
		return w.tx.Park(ctx, v, *verdict.Waiting)
	}
	if prev.Known && !prev.Decided { // only a row recorded undecided can be parked
		if err := w.tx.Unpark(ctx, v.Table, v.ID, v.UpdateTime); err != nil {
			return err
		}
	}
	to := placement(kind, v.ID, row, verdict, prev)
	if prev.SameVersion && prev.Unit == to.Unit {
		return nil // re-decided to where it already is
	}
	if to.Unit != "" {
		return w.tx.Put(ctx, kind, v, row, to, prev.Placement)
	}
	if prev.Unit != "" {
		return w.tx.Remove(ctx, kind, v, prev.Placement)
	}
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
func (w *worklist) saveTree(ctx context.Context, kind events.Kind, row jurisdiction.Row) (bool, error) {
	if kind.Table != events.Organization {
		return false, nil
	}
	return w.tx.SaveOrg(ctx, jurisdiction.Org{ID: text(row, "id"), ParentID: text(row, "parent_id"), DivisionCode: text(row, "division_code")})
}

func (w *worklist) verdict(ctx context.Context, kind events.Kind, row jurisdiction.Row) (jurisdiction.Verdict, error) {
	look := &lookups{ctx: ctx, tx: w.tx, orgs: map[string]jurisdiction.Org{}}
	verdict, err := w.sorter.units.Decide(kind, row, look, look)
	if look.err != nil {
		return verdict, look.err
	}
	return verdict, err
}

func text(row jurisdiction.Row, col string) string {
	s, _ := row[col].(string)
	return s
}

// Previous is what the ledger knew of a row before this version.
type Previous struct {
	Placement        // where the store holds the row; the zero Placement when it does not
	Known       bool // the ledger has an entry for the row
	Decided     bool // a version of the row was decided before
	SameVersion bool // the version now being decided is the one decided before
}

// String is for error messages.
func (p Previous) String() string { return fmt.Sprintf("decided=%t unit=%q", p.Decided, p.Unit) }

// locks are the rows a decision must hold: its registration first, then itself. Two transactions deciding the same
// new row would otherwise both find no ledger entry and the later commit could store the older version; and a
// child looking its registration up while that registration is being decided would miss its outcome.
func locks(kind events.Kind, id string, row jurisdiction.Row) []jurisdiction.Dependency {
	self := jurisdiction.Dependency{Table: kind.Table, ID: id}
	if reg := text(row, kind.RegistrationColumn); reg != "" && kind.RegistrationColumn != "" {
		return []jurisdiction.Dependency{{Table: events.Registration, ID: reg}, self}
	}
	return []jurisdiction.Dependency{self}
}

// shareOrgPath share-locks, root first, the organisations the decision will walk. A transaction moving one of
// them holds it exclusively (an organisation's own decision locks it), so this decision waits for the move to
// commit and then walks the new tree; without it, it could walk the old tree and keep the row in the old unit.
func (w *worklist) shareOrgPath(ctx context.Context, kind events.Kind, row jurisdiction.Row) error {
	start := text(row, kind.OrgColumn)
	if kind.OrgColumn == "id" {
		start = text(row, "parent_id") // the organisation itself is locked exclusively by Lock
	}
	if start == "" {
		return nil
	}
	path, err := w.tx.Ancestors(ctx, start)
	if err != nil {
		return err
	}
	var chain []jurisdiction.Dependency
	for id := start; id != "" && len(chain) < len(path); id = path[id].ParentID {
		if _, ok := path[id]; !ok {
			break
		}
		chain = append(chain, jurisdiction.Dependency{Table: events.Organization, ID: id})
	}
	slices.Reverse(chain)
	return w.tx.Share(ctx, chain...)
}
