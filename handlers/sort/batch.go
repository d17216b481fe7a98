package sort

import (
	"context"
	"errors"
	"fmt"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// item is a row version to decide. again marks a re-decision of a version already seen: its parent moved or
// arrived, so the same version may now belong elsewhere. carried marks a row the batch brought in itself (a
// parent pulled from upstream, a family re-read, a parked row released): a bad one is quarantined in the
// batch, while a bad row the batch was given is handed back to the caller.
type item struct {
	v       events.RowVersion
	kind    events.Kind
	row     jurisdiction.Row
	err     error // the row could not be decoded; it is bad
	again   bool
	pulled  bool // its missing parent was already looked for upstream
	carried bool
	// replayed marks a version a replay asked for (events.ViaReplayCapture or events.ViaReplayUpstream): decided
	// again and, if still the row's, stored and sent again even where nothing changed.
	replayed string
	via      string // how a carried row came in (events.ViaUpstream, events.ViaParking), for the audit trail
	id       string // event id, computed once when needed
	// checked: the upstream was asked whether this version is still the row's (see batch.firstInWuhan).
	checked bool
}

// current says the version was read from the upstream as it is now (a re-read, a reconciliation, a replay from
// upstream), rather than captured or replayed from the capture log, which may have been overtaken since.
func (it *item) current() bool {
	return it.via == events.ViaUpstream || it.via == events.ViaReconciled || it.replayed == events.ViaReplayUpstream
}

func (it *item) eventID() string {
	if it.id == "" {
		it.id = it.v.EventID()
	}
	return it.id
}

func (it *item) ref() Ref { return Ref{Table: it.v.Table, ID: it.v.ID} }

// Rejected is a row version of the batch that cannot be sorted as it is, with the reason.
type Rejected struct {
	Version events.RowVersion
	Reason  string
}

// batch decides row versions inside one transaction until nothing more is carried along. It reads what the
// ledger and the tree know for many rows at once and writes everything it decided in one go at the end.
type batch struct {
	sorter     *Sorter
	units      *jurisdiction.Units // the catalogue this batch decides under, whatever SetUnits does meanwhile
	tx         Tx
	tree       treeView
	ledger     map[Ref]seen // rows looked up or decided in this batch; absent: not looked up yet
	queue      []*item
	unparking  []Ref           // parents decided whose parked rows are still to be released
	unchecked  []*item         // rows waiting for the upstream's word that their version is still theirs
	rereadOnce map[string]bool // row versions re-read from upstream in this batch
	unstorable map[string]string
	out        writeSet
	trail      trail
	rejected   []Rejected
	// written is what the store made of the batch's writes: the tree's new version, the rows it set aside.
	written Written
	before  priors // ledger entries as the batch found them, for its Tally
}

// seen is what the batch knows of a row's ledger entry; known: there is one.
type seen struct {
	Entry
	known bool
}

// run decides the given rows and everything they carry along, then writes it all.
func (b *batch) run(ctx context.Context, rows []events.RowVersion, via string) error {
	items := make([]*item, 0, len(rows))
	for _, v := range rows {
		items = append(items, newGiven(v, via))
	}
	items = treeOrder(items)
	if walksTree(items) {
		if err := b.refreshTree(ctx); err != nil {
			return err
		}
	}
	parents, err := b.missingParents(ctx, items)
	if err != nil {
		return err
	}
	// The rows and the parents pulled for them are admitted together: their locks go out in one statement
	// each, in one global order, rather than the parents' being taken later while the rows' are held.
	b.queue = append(treeOrder(parents), items...)
	if err := b.admit(ctx, b.queue); err != nil {
		return err
	}
	if err := b.drain(ctx); err != nil {
		return err
	}
	return b.flush(ctx)
}

// refreshTree makes sure the batch starts from the committed tree, so that what it looks for upstream is what
// is really missing; the locks it takes later check the tree again.
func (b *batch) refreshTree(ctx context.Context) error {
	version, err := b.tx.TreeVersion(ctx)
	if err != nil || version == b.tree.version {
		return err
	}
	b.tree.version, b.tree.base, err = b.sorter.tree.load(ctx, b.tx)
	return err
}

// treeOrder puts organisations first, each after its parent, and everything else after them in its order: a
// station decided before its district, captured in the same page, would otherwise wait for it, and a registration
// before the station it names (pulled together for different rows of a batch) would park.
func treeOrder(items []*item) []*item {
	byID := map[string]*item{}
	for _, it := range items {
		if it.kind.OrgTree && it.err == nil {
			byID[it.v.ID] = it
		}
	}
	if len(byID) == 0 {
		return items
	}
	out, placed := make([]*item, 0, len(items)), map[*item]bool{}
	var place func(it *item, depth int)
	place = func(it *item, depth int) {
		if placed[it] {
			return
		}
		placed[it] = true
		if parent := byID[text(it.row, "parent_id")]; parent != nil && depth < 64 {
			place(parent, depth+1)
		}
		out = append(out, it)
	}
	for _, it := range items {
		if byID[it.v.ID] == it {
			place(it, 0)
		}
	}
	for _, it := range items {
		if !placed[it] {
			out = append(out, it)
		}
	}
	return out
}

// newItem prepares a row version for deciding; via says how a row the batch carried along came in, "" that it
// was given.
func newItem(v events.RowVersion, via string) *item {
	carried := via != ""
	it := &item{v: v, again: carried, carried: carried, via: via}
	it.kind, _ = events.KindByTable(v.Table)
	it.row, it.err = decodeRow(v)
	return it
}

// newGiven prepares a row version the batch was given. A replay's row is not carried: a bad one goes back to the
// caller like a capture record's, rather than being quarantined in the batch (which would take a stored newer
// version of the row out of its unit).
func newGiven(v events.RowVersion, via string) *item {
	if via != events.ViaReplayCapture && via != events.ViaReplayUpstream {
		return newItem(v, via)
	}
	it := newItem(v, "")
	it.again, it.replayed, it.via = true, via, via
	return it
}

// drain decides the queue; when it runs dry, the rows parked for the parents decided meanwhile join it, then
// the rows checked against the upstream.
func (b *batch) drain(ctx context.Context) error {
	for len(b.queue) > 0 || len(b.unparking) > 0 || len(b.unchecked) > 0 {
		if len(b.queue) == 0 {
			if err := b.releaseOrCheck(ctx); err != nil {
				return err
			}
			continue
		}
		it := b.queue[0]
		b.queue = b.queue[1:]
		if err := b.handle(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// handle decides one item; a bad row the batch carried along is quarantined, one it was given is rejected.
func (b *batch) handle(ctx context.Context, it *item) error {
	err := asBadRow(it.v, b.decideSafely(ctx, it))
	var bad *BadRowError
	switch {
	case errors.As(err, &bad) && it.carried:
		return b.quarantine(ctx, it, bad.Reason)
	case errors.As(err, &bad):
		b.rejected = append(b.rejected, Rejected{Version: it.v, Reason: bad.Reason})
		return nil
	}
	return err
}

// decideSafely turns a panic while deciding a row into that row's bad-row error: one row that crashes the
// sorter must not block its partition, nor take the rest of its batch with it.
func (b *batch) decideSafely(ctx context.Context, it *item) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &BadRowError{Table: it.v.Table, ID: it.v.ID, Reason: fmt.Sprintf("the sorter panicked on this row: %v", r)}
		}
	}()
	return b.decide(ctx, it)
}

// push queues rows carried along, after taking their locks and reading their ledger entries together.
func (b *batch) push(ctx context.Context, rows []events.RowVersion, via string, atFront bool) error {
	items := make([]*item, 0, len(rows))
	for _, v := range rows {
		items = append(items, newItem(v, via))
	}
	if err := b.admit(ctx, items); err != nil {
		return err
	}
	if atFront {
		b.queue = append(items, b.queue...)
	} else {
		b.queue = append(b.queue, items...)
	}
	return nil
}

func (b *batch) releaseOrCheck(ctx context.Context) error {
	if len(b.unparking) > 0 {
		return b.releaseParked(ctx)
	}
	return b.checkUpstream(ctx)
}

// checkUpstream asks the upstream, in one read per kind, for the current versions of the rows firstInWuhan set
// aside, and queues each again: as it is, where the upstream still has that version (or no longer has the row),
// else the upstream's version in its place, as a re-read.
func (b *batch) checkUpstream(ctx context.Context) error {
	byTable := map[string][]*item{}
	for _, it := range b.unchecked {
		byTable[it.v.Table] = append(byTable[it.v.Table], it)
	}
	b.unchecked = nil
	for table, items := range byTable {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.v.ID
		}
		rows, err := b.sorter.upstream.Referencing(ctx, table, "id", ids)
		if err != nil {
			return err
		}
		now := make(map[string]events.RowVersion, len(rows))
		for _, v := range rows {
			now[v.ID] = v
		}
		for _, it := range items {
			b.queue = append(b.queue, asUpstreamHasIt(it, now))
		}
	}
	return nil
}

func asUpstreamHasIt(it *item, now map[string]events.RowVersion) *item {
	v, ok := now[it.v.ID]
	if !ok || v.EventID() == it.eventID() {
		it.checked = true
		return it
	}
	return newItem(v, events.ViaUpstream)
}

// releaseParked queues, in one read, the rows parked for every parent decided since the last release.
func (b *batch) releaseParked(ctx context.Context) error {
	parents := b.unparking
	b.unparking = nil
	parked, err := b.tx.Parked(ctx, parents)
	if err != nil {
		return err
	}
	return b.push(ctx, parked, events.ViaParking, false)
}
