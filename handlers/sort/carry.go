package sort

import (
	"context"
	"slices"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// carryAlong queues what a decision affects: rows parked waiting for this one (released together once the
// queue runs dry), and — when a work order or an organisation changed unit or moved in the tree — every row
// upstream whose unit follows from it, including rows captured earlier while it was elsewhere (they are re-read
// from upstream, as current versions).
func (b *batch) carryAlong(ctx context.Context, it *item, verdict jurisdiction.Verdict, prev Previous, moved bool) error {
	if !it.kind.Parent() {
		return nil
	}
	b.unparking = append(b.unparking, it.ref())
	// A row seen for the first time carries nothing along (its dependants waited in parking). One the ledger knew —
	// decided before, or parked after being decided elsewhere or nowhere — carries its dependants when its unit or
	// its place in the tree changes: they were decided by its old unit, or left out while it was not Wuhan's.
	changed := prev.Known && (prev.Unit != storeUnit(verdict) || moved)
	if !changed || !verdict.Decided() {
		return nil
	}
	if it.kind.WorkOrder {
		return b.rereadReferencing(ctx, func(k events.Kind) string { return k.RegistrationColumn }, []string{it.v.ID})
	}
	below := b.tree.descendants(it.v.ID)
	if err := b.reread(ctx, it.kind, "id", below); err != nil {
		return err
	}
	return b.rereadReferencing(ctx, orgColumnExceptSelf, append(below, it.v.ID))
}

func orgColumnExceptSelf(k events.Kind) string {
	if k.OrgTree {
		return ""
	}
	return k.OrgColumn
}

// rereadReferencing re-reads, for every kind, the rows whose deciding column (as column picks it) holds one of ids.
func (b *batch) rereadReferencing(ctx context.Context, column func(events.Kind) string, ids []string) error {
	for _, k := range events.Catalogue {
		if col := column(k); col != "" {
			if err := b.reread(ctx, k, col, ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// rereadChunk bounds the id list of one upstream query.
const rereadChunk = 500

func (b *batch) reread(ctx context.Context, kind events.Kind, column string, ids []string) error {
	for chunk := range slices.Chunk(ids, rereadChunk) {
		rows, err := b.sorter.upstream.Referencing(ctx, kind.Table, column, chunk)
		if err != nil {
			return err
		}
		if err := b.push(ctx, b.once(rows), events.ViaUpstream, false); err != nil {
			return err
		}
	}
	return nil
}

// once drops re-read rows whose same version this batch already re-read: nested moves (a station and the
// district above it) would otherwise queue a subtree once per level.
func (b *batch) once(rows []events.RowVersion) []events.RowVersion {
	if b.rereadOnce == nil {
		b.rereadOnce = map[string]bool{}
	}
	fresh := rows[:0]
	for _, v := range rows {
		key := v.Table + "\x00" + v.ID + "\x00" + v.EventID()
		if !b.rereadOnce[key] {
			b.rereadOnce[key] = true
			fresh = append(fresh, v)
		}
	}
	return fresh
}
