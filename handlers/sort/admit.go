package sort

import (
	"context"
	"fmt"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// admit prepares items for deciding with a few statements for all of them: it share-locks the organisation
// paths they walk, locks the rows and their registrations, makes sure the tree it walks is the committed one,
// and reads their ledger entries and their registrations'.
//
// Locks before reads: two batches deciding the same new row would otherwise both find no ledger entry, and a
// child reading its registration's entry while that registration is being decided would miss the outcome. The
// shared locks on the path make a batch wait for a concurrent move of an organisation on it (which holds that
// organisation exclusively); the tree version read after them then tells whether the cached tree is stale.
func (b *batch) admit(ctx context.Context, items []*item) error {
	if err := b.lockPaths(ctx, items, nil); err != nil {
		return err
	}
	if err := b.tx.Lock(ctx, rowLocks(items)); err != nil {
		return err
	}
	return b.fetchLedger(ctx, ledgerRefs(items))
}

// lockPaths share-locks the paths the items walk until the tree they were computed on is the committed one.
func (b *batch) lockPaths(ctx context.Context, items []*item, held map[Ref]bool) error {
	if held == nil {
		held = map[Ref]bool{}
	}
	for range 8 {
		paths := b.paths(items, held)
		if err := b.tx.Share(ctx, paths); err != nil {
			return err
		}
		version, err := b.tx.TreeVersion(ctx)
		if err != nil || version == b.tree.version {
			return err
		}
		if b.tree.version, b.tree.base, err = b.sorter.tree.load(ctx, b.tx); err != nil {
			return err
		}
	}
	return fmt.Errorf("the organisation tree kept changing while %d rows were being decided", len(items))
}

// paths lists the organisations on the items' walks not locked yet, and marks them held.
func (b *batch) paths(items []*item, held map[Ref]bool) []Ref {
	var refs []Ref
	tree := events.OrgTreeKind.Table
	for _, it := range items {
		for _, id := range b.tree.path(walkStart(it)) {
			if r := (Ref{Table: tree, ID: id}); !held[r] {
				held[r] = true
				refs = append(refs, r)
			}
		}
	}
	return refs
}

// walkStart is where an item's organisation walk begins: its OrgColumn's organisation, or for an organisation
// its parent (the organisation itself is locked exclusively with the rows).
func walkStart(it *item) string {
	if it.err != nil || it.kind.OrgColumn == "" {
		return ""
	}
	if it.kind.OrgTree {
		return text(it.row, "parent_id")
	}
	return text(it.row, it.kind.OrgColumn)
}

// rowLocks are each item's registration and the item itself.
func rowLocks(items []*item) []Ref {
	refs := make([]Ref, 0, 2*len(items))
	for _, it := range items {
		if reg := registrationOf(it); reg != "" {
			refs = append(refs, Ref{Table: events.WorkOrderKind.Table, ID: reg})
		}
		refs = append(refs, it.ref())
	}
	return refs
}

func registrationOf(it *item) string {
	if it.err != nil || it.kind.RegistrationColumn == "" {
		return ""
	}
	return text(it.row, it.kind.RegistrationColumn)
}

// ledgerRefs are the rows whose entries deciding the items reads: the items' own and their registrations'.
func ledgerRefs(items []*item) []Ref { return rowLocks(items) }

// fetchLedger reads the entries of the rows the batch has not looked up yet.
func (b *batch) fetchLedger(ctx context.Context, refs []Ref) error {
	missing := refs[:0:0]
	for _, r := range refs {
		if _, looked := b.ledger[r]; !looked {
			b.ledger[r] = seen{} // looked up; overwritten below when the ledger has it
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := b.tx.Ledger(ctx, missing)
	for r, e := range found {
		b.ledger[r] = seen{Entry: e, known: true}
	}
	return err
}

// pullParents reads, in one query per kind, the parents upstream has but the ledger and the tree do not: during
// a catch-up children are often consumed before their registration, and deciding the parent first spares
// parking and releasing them. The rows that waited are marked pulled, so they do not ask again one by one.
func (b *batch) pullParents(ctx context.Context, items []*item) ([]*item, error) {
	inBatch := map[Ref]bool{}
	for _, it := range items {
		inBatch[it.ref()] = true
	}
	wanted := map[string][]string{}
	asked := map[Ref]bool{}
	for _, it := range items {
		dep := b.waitsFor(ctx, it)
		if dep == nil || inBatch[*dep] {
			continue
		}
		it.pulled = true
		if !asked[*dep] {
			asked[*dep] = true
			wanted[dep.Table] = append(wanted[dep.Table], dep.ID)
		}
	}
	var pulled []events.RowVersion
	for table, ids := range wanted {
		rows, err := b.sorter.upstream.Referencing(ctx, table, "id", ids)
		if err != nil {
			return nil, err
		}
		pulled = append(pulled, rows...)
	}
	parents := make([]*item, 0, len(pulled))
	for _, v := range pulled {
		parents = append(parents, newItem(v, true))
	}
	parents = parentsFirst(parents)
	return parents, b.admit(ctx, parents)
}

// waitsFor is the parent an item would wait for if it were decided now, or nil.
func (b *batch) waitsFor(ctx context.Context, it *item) *jurisdiction.Dependency {
	if it.err != nil {
		return nil
	}
	verdict, err := b.verdict(ctx, it)
	if err != nil {
		return nil
	}
	return verdict.Waiting
}

// parentsFirst orders pulled rows so that organisations come before the registrations that name them.
func parentsFirst(items []*item) []*item {
	out := make([]*item, 0, len(items))
	for _, tree := range []bool{true, false} {
		for _, it := range items {
			if it.kind.OrgTree == tree {
				out = append(out, it)
			}
		}
	}
	return out
}
