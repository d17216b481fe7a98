package sort

import (
	"context"
	"slices"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// carryAlong queues what a decision affects: rows parked waiting for this one, and — when a work order or an
// organisation changed unit or moved in the tree — every row upstream whose unit follows from it, including rows
// captured earlier while it was elsewhere (they are re-read from upstream, as current versions).
func (w *worklist) carryAlong(ctx context.Context, kind events.Kind, id string, verdict jurisdiction.Verdict, prev Previous, moved bool) error {
	if kind.Table != events.Registration && kind.Table != events.Organization {
		return nil
	}
	if err := w.unpark(ctx, jurisdiction.Dependency{Table: kind.Table, ID: id}); err != nil {
		return err
	}
	// A row seen for the first time carries nothing along (its dependants waited in parking). One the ledger knew —
	// decided before, or parked after being decided elsewhere or nowhere — carries its dependants when its unit or
	// its place in the tree changes: they were decided by its old unit, or left out while it was not Wuhan's.
	changed := prev.Known && (prev.Unit != storeUnit(verdict) || moved)
	if !changed || !verdict.Decided() {
		return nil
	}
	if kind.Table == events.Registration {
		return w.rereadReferencing(ctx, func(k events.Kind) string { return k.RegistrationColumn }, []string{id})
	}
	below, err := w.tx.Descendants(ctx, id)
	if err != nil {
		return err
	}
	if err := w.reread(ctx, kind, "id", below); err != nil {
		return err
	}
	return w.rereadReferencing(ctx, orgColumnExceptSelf, append(below, id))
}

func orgColumnExceptSelf(k events.Kind) string {
	if k.Table == events.Organization {
		return ""
	}
	return k.OrgColumn
}

func (w *worklist) unpark(ctx context.Context, dep jurisdiction.Dependency) error {
	parked, err := w.tx.Parked(ctx, dep)
	for _, v := range parked {
		w.push(v, true)
	}
	return err
}

// rereadReferencing re-reads, for every kind, the rows whose deciding column (as column picks it) holds one of ids.
func (w *worklist) rereadReferencing(ctx context.Context, column func(events.Kind) string, ids []string) error {
	for _, k := range events.Catalogue {
		if col := column(k); col != "" {
			if err := w.reread(ctx, k, col, ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// rereadChunk bounds the id list of one upstream query.
const rereadChunk = 500

func (w *worklist) reread(ctx context.Context, kind events.Kind, column string, ids []string) error {
	for chunk := range slices.Chunk(ids, rereadChunk) {
		rows, err := w.sorter.upstream.Referencing(ctx, kind.Table, column, chunk)
		if err != nil {
			return err
		}
		for _, v := range rows {
			w.pushOnce(v)
		}
	}
	return nil
}

// lookups answers the jurisdiction rules' questions from the transaction, loading an organisation's whole
// ancestor path in one query. The rules' interfaces have no error result, so the first error is kept for the caller.
type lookups struct {
	ctx  context.Context
	tx   Tx
	orgs map[string]jurisdiction.Org
	err  error
}

func (l *lookups) Org(id string) (jurisdiction.Org, bool) {
	if org, ok := l.orgs[id]; ok || l.err != nil {
		return org, ok
	}
	path, err := l.tx.Ancestors(l.ctx, id)
	if err != nil {
		l.err = err
		return jurisdiction.Org{}, false
	}
	for k, org := range path {
		l.orgs[k] = org
	}
	org, ok := l.orgs[id]
	return org, ok
}

func (l *lookups) RegistrationUnit(id string) (string, bool) {
	if l.err != nil {
		return "", false
	}
	unit, known, err := l.tx.RegistrationUnit(l.ctx, id)
	if err != nil {
		l.err = err
	}
	return unit, known
}

// pushOnce queues a re-read row unless this transaction already re-read the same version: nested moves (a
// station and the district above it) would otherwise queue a subtree once per level.
func (w *worklist) pushOnce(v events.RowVersion) {
	key := v.Table + "\x00" + v.ID + "\x00" + v.EventID()
	if w.rereadOnce == nil {
		w.rereadOnce = map[string]bool{}
	}
	if !w.rereadOnce[key] {
		w.rereadOnce[key] = true
		w.push(v, true)
	}
}
