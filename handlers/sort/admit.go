package sort

import (
	"context"
	"fmt"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// admit prepares items for deciding with a few statements for all of them: it locks the rows, share-locks the
// registrations they read and the organisation paths they walk, makes sure the tree it walks is the committed
// one, and reads their ledger entries and their registrations'.
//
// Locks before reads: two batches deciding the same new row would otherwise both find no ledger entry, and a
// child reading its registration's entry while that registration is being decided would miss the outcome. The
// shared locks on the path make a batch wait for a concurrent move of an organisation on it (which holds that
// organisation exclusively); the tree version read after them tells whether the cached tree is stale.
//
// The locks go out together, in the store's one global order (see Tx): a registration a batch decides (a pulled
// parent) is locked exclusively in the same statement that share-locks the others. So the batches of a family's
// kinds (subjects, objects, feedback of the same registrations, which a catch-up captures at the same time) decide
// side by side, and wait only for a batch deciding their registration.
func (b *batch) admit(ctx context.Context, items []*item) error {
	own := ownLocks(items)
	held := map[Ref]bool{} // an organisation the batch decides is locked exclusively, not shared on a path
	for _, r := range own {
		held[r] = true
	}
	regs := registrationRefs(items)
	if err := b.tx.Lock(ctx, own); err != nil {
		return err
	}
	if err := b.tx.Share(ctx, regs); err != nil {
		return err
	}
	if err := b.lockPaths(ctx, items, held); err != nil {
		return err
	}
	return b.fetchLedger(ctx, append(own, regs...))
}

// lockPaths share-locks the paths walked until the tree they were computed on is the committed one. Items that
// walk no path need neither, nor the tree's version: their locks go out with the ledger read.
func (b *batch) lockPaths(ctx context.Context, items []*item, held map[Ref]bool) error {
	if !walksTree(items) {
		return nil
	}
	for range 8 {
		if err := b.tx.Share(ctx, b.paths(items, held)); err != nil {
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

// walksTree says whether any item is decided by the organisation tree. Most rows of a catch-up follow their
// work order and walk no path: a batch of them reads neither the tree nor its version.
func walksTree(items []*item) bool {
	for _, it := range items {
		if it.kind.OrgTree || walkStart(it) != "" {
			return true
		}
	}
	return false
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

// ownLocks are the rows the items decide.
func ownLocks(items []*item) []Ref {
	refs := make([]Ref, 0, len(items))
	for _, it := range items {
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
	b.before.note(found)
	return err
}

// missingParents reads, in one query per kind and level, the parents upstream has but the ledger and the tree do
// not, and their parents in turn: during a catch-up children are often consumed before their registration, and a
// registration before the organisations it names (a new station under a new office), and deciding the parents
// first, in the same batch, spares parking and releasing them. It reads the ledger before the batch takes its
// locks, so that the parents' locks go out with the rows': a parent decided meanwhile is only pulled in vain (the
// newer-wins gate sees it), whereas a parent pulled while deciding takes its lock late, which may time out and
// decide the whole batch again. Registrations the hint knows decided are not read. The caller orders the parents
// (treeOrder), so that each is decided before what waits for it.
func (b *batch) missingParents(ctx context.Context, items []*item) ([]*item, error) {
	unknown := b.sorter.hint.unknown(registrationRefs(items))
	found, err := b.tx.Ledger(ctx, unknown)
	if err != nil {
		return nil, err
	}
	registrations := preRead{found: found, read: make(map[string]bool, len(unknown))}
	for _, r := range unknown {
		registrations.read[r.ID] = true
	}
	inBatch := make(map[Ref]bool, len(items))
	for _, it := range items {
		inBatch[it.ref()] = true
	}
	var pulled []*item
	for level := 0; len(items) > 0 && level < maxPullLevels; level++ {
		if items, err = b.pullWaitedFor(ctx, items, registrations, inBatch); err != nil {
			return nil, err
		}
		pulled = append(pulled, items...)
	}
	return pulled, nil
}

// maxPullLevels bounds how far up a chain of missing parents a batch reads before its locks: the organisation
// tree is a handful of levels deep. A parent beyond it is pulled while deciding, as before.
const maxPullLevels = 8

// pullWaitedFor reads from upstream the parents the items would wait for, leaving out those in the batch.
func (b *batch) pullWaitedFor(ctx context.Context, items []*item, look preRead, inBatch map[Ref]bool) ([]*item, error) {
	var pulled []*item
	for table, ids := range b.waitedFor(items, look, inBatch) {
		rows, err := b.sorter.upstream.Referencing(ctx, table, "id", ids)
		if err != nil {
			return nil, err
		}
		for _, v := range rows {
			it := newItem(v, events.ViaUpstream)
			inBatch[it.ref()] = true
			pulled = append(pulled, it)
		}
	}
	return pulled, nil
}

// waitedFor lists by kind the parents the items would wait for, leaving out those in the batch itself.
func (b *batch) waitedFor(items []*item, look preRead, inBatch map[Ref]bool) map[string][]string {
	wanted, asked := map[string][]string{}, map[Ref]bool{}
	for _, it := range items {
		dep := b.waitsFor(it, look)
		if dep == nil || inBatch[*dep] {
			continue
		}
		it.pulled = true // decided after its parent; it does not look again on its own
		if !asked[*dep] {
			asked[*dep] = true
			wanted[dep.Table] = append(wanted[dep.Table], dep.ID)
		}
	}
	return wanted
}

func registrationRefs(items []*item) []Ref {
	var refs []Ref
	for _, it := range items {
		if reg := registrationOf(it); reg != "" {
			refs = append(refs, Ref{Table: events.WorkOrderKind.Table, ID: reg})
		}
	}
	return refs
}

// preRead answers registration lookups from a ledger read taken without locks. A registration it did not read
// is one the hint knows decided (not where: deciding here only asks what is missing).
type preRead struct {
	found map[Ref]Entry
	read  map[string]bool // registration ids the ledger was asked for
}

func (p preRead) RegistrationUnit(id string) (string, bool) {
	if !p.read[id] {
		return "", true
	}
	e := p.found[Ref{Table: events.WorkOrderKind.Table, ID: id}]
	return e.Unit, e.Decided
}

// waitsFor is the parent an item would wait for if it were decided now, or nil.
func (b *batch) waitsFor(it *item, regs jurisdiction.RegistrationLookup) *jurisdiction.Dependency {
	if it.err != nil {
		return nil
	}
	verdict, err := b.units.Decide(it.kind, it.row, &b.tree, regs)
	if err != nil {
		return nil
	}
	return verdict.Waiting
}
