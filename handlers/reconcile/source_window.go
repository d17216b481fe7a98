package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"hotline-bridge/events"
)

// windowCheck compares one window of one table and repairs what differs, in batches as it finds them, so that
// memory does not grow with the window. Every upstream read is paced by the rows it returned (a read asks for at
// most a batch, the pace's burst), so a window with few rows costs little of the rate.
//
// First a summary of each side (count and digest sum, each on its own server): equal means the ledger holds
// exactly the upstream's current versions there. Where the ledger pruning took entries from the window (rows not
// Wuhan's, decided long ago), the ledger cannot be compared with the whole upstream; then the window compares the
// entries pruning never takes — the rows the store holds, the rows waiting for their parent — by id. Either way the
// ledger is then compared with the store.
type windowCheck struct {
	src   *Source
	opts  Options
	table string
	w     Window

	keyed  bool // the summaries differed: compared row by row
	kept   bool // the ledger was pruned in the window: compared by the entries it keeps
	family bool // a kind that follows its work order: compared by Wuhan's families

	expected          int64 // upstream rows compared (kept: the entries compared)
	upstreamDiffering int64 // of those, rows whose upstream version the bridge does not hold
	missing, repaired int64
	classes           map[string]int64
	found             map[string]int64 // the store's rows per unit, before any repair
	units             map[string]*unitCounts
	failure           string

	resort, gone []candidate // found, not resolved yet
}

// candidate is a row found different; entry is what the ledger held of it, if anything.
type candidate struct {
	id    string
	class string
	entry Entry
}

type unitCounts struct {
	missing, repaired, added, removed int64
	classes                           map[string]int64
}

func (c *windowCheck) run(ctx context.Context) error {
	if err := c.compareLedger(ctx); err != nil {
		return err
	}
	if err := c.compareStore(ctx); err != nil {
		return err
	}
	return c.flush(ctx)
}

// compareLedger compares the window's ledger entries with the upstream: the whole window where the ledger knows
// every row there.
func (c *windowCheck) compareLedger(ctx context.Context) error {
	if kind, _ := events.KindByTable(c.table); kind.FollowsWorkOrder() {
		c.family = true
		return c.compareFamilies(ctx)
	}
	pruned, err := c.src.ledger.Pruned(ctx, c.table, c.w)
	if err != nil {
		return err
	}
	if c.kept = pruned; pruned {
		return c.compareKept(ctx)
	}
	return c.compareAll(ctx)
}

func (c *windowCheck) batch() int { return max(c.src.cfg.Batch, 1) }

func (c *windowCheck) compareAll(ctx context.Context) error {
	up, err := c.upstreamSummary(ctx)
	if err != nil {
		return err
	}
	c.expected = up.Rows
	have, err := c.src.ledger.Summarize(ctx, c.table, c.w)
	if err != nil || have == up {
		return err
	}
	c.keyed = true
	return c.diffKeys(ctx)
}

func (c *windowCheck) upstreamSummary(ctx context.Context) (Summary, error) {
	var total Summary
	after := Key{UpdateTime: c.w.From}
	for {
		s, last, err := c.src.upstream.Summarize(ctx, c.table, c.w, after, c.batch())
		if err != nil {
			return total, err
		}
		if err := c.src.pace.WaitN(ctx, int(s.Rows)); err != nil {
			return total, err
		}
		total = total.Add(s)
		if s.Rows < int64(c.batch()) {
			return total, nil
		}
		after = last
	}
}

// diffKeys walks the upstream's rows of the window in keyset batches. A batch ends amid the rows of its last
// update_time, so the rows before that time are complete and are compared with the ledger's rows of the same
// span of time; what the two servers' collations order differently within one update_time never matters.
func (c *windowCheck) diffKeys(ctx context.Context) error {
	var pending []Key
	after, from := Key{UpdateTime: c.w.From}, c.w.From
	for {
		keys, err := c.src.upstream.Keys(ctx, c.table, c.w, after, c.batch())
		if err != nil {
			return err
		}
		if err := c.src.pace.WaitN(ctx, len(keys)); err != nil {
			return err
		}
		pending = append(pending, keys...)
		done := len(keys) < c.batch()
		upTo := c.w.To
		if !done {
			after = keys[len(keys)-1]
			upTo = after.UpdateTime
		}
		if upTo.After(from) {
			split := slices.IndexFunc(pending, func(k Key) bool { return !k.UpdateTime.Before(upTo) })
			if split < 0 {
				split = len(pending)
			}
			if err := c.compareSpan(ctx, Window{From: from, To: upTo}, pending[:split]); err != nil {
				return err
			}
			pending, from = slices.Clone(pending[split:]), upTo
		}
		if done {
			return nil
		}
	}
}

// compareSpan compares the upstream's rows of span with the ledger's.
func (c *windowCheck) compareSpan(ctx context.Context, span Window, upstream []Key) error {
	byID := make(map[string]Key, len(upstream))
	for _, k := range upstream {
		byID[k.ID] = k
	}
	after := Key{UpdateTime: span.From}
	for {
		entries, err := c.src.ledger.Keys(ctx, c.table, span, after, c.batch(), false)
		if err != nil {
			return err
		}
		for _, e := range entries {
			u, ok := byID[e.ID]
			delete(byID, e.ID)
			if err := c.compareEntry(ctx, e, u, ok, false); err != nil {
				return err
			}
		}
		if len(entries) < c.batch() {
			break
		}
		after = entries[len(entries)-1].Key
	}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		c.upstreamDiffering++
		if err := c.addResort(ctx, candidate{id: id, class: classAbsent}); err != nil {
			return err
		}
	}
	return nil
}

// compareEntry compares a ledger entry with the upstream's version u of its row (ok false: the upstream has none
// where it was looked for; gone: it has none at all).
func (c *windowCheck) compareEntry(ctx context.Context, e Entry, u Key, ok, gone bool) error {
	switch {
	case !ok && gone:
		c.gone = append(c.gone, candidate{id: e.ID, class: classDeleted, entry: e})
		return c.flushIfFull(ctx)
	case !ok: // deleted, or changed on to a newer update_time: asked by id when the batch is resolved
		c.gone = append(c.gone, candidate{id: e.ID, entry: e})
		return c.flushIfFull(ctx)
	case u.same(e.Key):
		return nil
	case u.UpdateTime.Equal(e.UpdateTime):
		c.upstreamDiffering++
		return c.addResort(ctx, candidate{id: e.ID, class: classChanged, entry: e})
	}
	c.upstreamDiffering++
	return c.addResort(ctx, candidate{id: e.ID, class: classBehind, entry: e})
}

// compareKept compares the entries pruning never takes with the upstream's current versions, by id.
func (c *windowCheck) compareKept(ctx context.Context) error {
	after := Key{UpdateTime: c.w.From}
	for {
		entries, err := c.src.ledger.Keys(ctx, c.table, c.w, after, c.batch(), true)
		if err != nil || len(entries) == 0 {
			return err
		}
		c.expected += int64(len(entries))
		current, err := c.digests(ctx, entryIDs(entries))
		if err != nil {
			return err
		}
		for _, e := range entries {
			u, ok := current[e.ID]
			if err := c.compareEntry(ctx, e, u, ok, !ok); err != nil {
				return err
			}
		}
		if len(entries) < c.batch() {
			return nil
		}
		after = entries[len(entries)-1].Key
	}
}

// compareFamilies compares a kind that follows its work order. The ledger keeps such a row only while it is or
// was Wuhan's (the sorter writes no entry for the others), so the entries it keeps are compared by id, and the
// upstream's rows are looked for in the ledger where their work order is Wuhan's, or unknown to the ledger (the
// row would wait for it): a row capture missed there is found, while one of a family elsewhere would change
// nothing, and comes along with its family if that moves into Wuhan.
func (c *windowCheck) compareFamilies(ctx context.Context) error {
	if err := c.compareKept(ctx); err != nil {
		return err
	}
	after := Key{UpdateTime: c.w.From}
	for {
		members, err := c.src.upstream.Families(ctx, c.table, c.w, after, c.batch())
		if err != nil {
			return err
		}
		if err := c.src.pace.WaitN(ctx, len(members)); err != nil {
			return err
		}
		if err := c.findUnknown(ctx, members); err != nil {
			return err
		}
		if len(members) < c.batch() {
			return nil
		}
		after = members[len(members)-1].Key
	}
}

// findUnknown re-sorts the members of Wuhan's families (or of unknown ones) that the ledger has no entry for.
func (c *windowCheck) findUnknown(ctx context.Context, members []Member) error {
	orders, err := c.src.ledger.Versions(ctx, events.WorkOrderKind.Table, workOrders(members))
	if err != nil {
		return err
	}
	var wanted []string
	for _, m := range members {
		if o, known := orders[m.WorkOrder]; !known || o.Unit != "" {
			wanted = append(wanted, m.ID)
		}
	}
	held, err := c.src.ledger.Versions(ctx, c.table, wanted)
	if err != nil {
		return err
	}
	for _, id := range wanted {
		if _, ok := held[id]; ok {
			continue // compared by id if the ledger keeps it
		}
		c.expected++
		c.upstreamDiffering++
		if err := c.addResort(ctx, candidate{id: id, class: classAbsent}); err != nil {
			return err
		}
	}
	return nil
}

func workOrders(members []Member) []string {
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.WorkOrder != "" && !slices.Contains(ids, m.WorkOrder) {
			ids = append(ids, m.WorkOrder)
		}
	}
	return ids
}

// compareStore re-sorts the rows where the ledger and the store disagree.
func (c *windowCheck) compareStore(ctx context.Context) error {
	after := ""
	for {
		gaps, err := c.src.ledger.StoreGaps(ctx, c.table, c.w, after, c.batch())
		if err != nil {
			return err
		}
		for _, e := range gaps {
			class := classStoreMissing
			if e.Unit == "" {
				class = classStoreExtra
			}
			if err := c.addResort(ctx, candidate{id: e.ID, class: class, entry: e}); err != nil {
				return err
			}
		}
		if len(gaps) < c.batch() {
			return nil
		}
		after = gaps[len(gaps)-1].ID
	}
}

func (c *windowCheck) addResort(ctx context.Context, cand candidate) error {
	if slices.ContainsFunc(c.resort, func(o candidate) bool { return o.id == cand.id }) {
		return nil // a changed row the store also disagrees on: one re-sort heals both
	}
	c.resort = append(c.resort, cand)
	return c.flushIfFull(ctx)
}

func (c *windowCheck) flushIfFull(ctx context.Context) error {
	if len(c.resort) < c.batch() && len(c.gone) < c.batch() {
		return nil
	}
	return c.flush(ctx)
}

// flush resolves and repairs what was found so far: rows the upstream no longer has are forgotten, the others
// re-sorted as the upstream holds them now.
func (c *windowCheck) flush(ctx context.Context) error {
	if len(c.resort) == 0 && len(c.gone) == 0 {
		return nil
	}
	if c.found == nil {
		found, err := c.src.ledger.Units(ctx, c.table, c.w)
		if err != nil {
			return err
		}
		c.found = found
	}
	gone, resort := c.gone, c.resort
	c.gone, c.resort = nil, nil
	more, err := c.forget(ctx, gone)
	if err != nil {
		return err
	}
	return c.resortRows(ctx, append(resort, more...))
}

// forget asks the upstream about the rows it did not have where the ledger has them, forgets those it no longer
// has at all, and returns those it has at another version for re-sorting.
func (c *windowCheck) forget(ctx context.Context, gone []candidate) ([]candidate, error) {
	var ask []string
	for _, g := range gone {
		if g.class == "" {
			ask = append(ask, g.id)
		}
	}
	current, err := c.digests(ctx, ask)
	if err != nil {
		return nil, err
	}
	var deleted []candidate
	var resort []candidate
	for _, g := range gone {
		if _, there := current[g.id]; there {
			g.class = classBehind
			resort = append(resort, g)
			continue
		}
		g.class = classDeleted
		deleted = append(deleted, g)
	}
	if len(deleted) == 0 {
		return resort, nil
	}
	repaired := c.repair(func() error { return c.src.healer.Forget(ctx, c.table, candidateEntries(deleted)) })
	for _, d := range deleted {
		c.count(d, "", repaired)
	}
	return resort, nil
}

func (c *windowCheck) resortRows(ctx context.Context, cands []candidate) error {
	if len(cands) == 0 {
		return nil
	}
	rows, err := c.current(ctx, cands)
	if err != nil {
		return err
	}
	rows, cands, err = c.dropQuarantined(ctx, rows, cands)
	if err != nil || len(rows) == 0 {
		return err
	}
	rows, cands, err = c.dropAhead(ctx, rows, cands)
	if err != nil || len(rows) == 0 {
		return err
	}
	repaired := c.repair(func() error { return c.src.healer.Resort(ctx, rows) })
	after := map[string]string{}
	if repaired {
		if after, err = c.src.ledger.Placements(ctx, c.table, candidateIDs(cands)); err != nil {
			return err
		}
	}
	for _, cand := range cands {
		unit, ok := after[cand.id]
		if !repaired {
			unit, ok = cand.entry.Unit, true
		}
		if !ok {
			unit = ""
		}
		// A row the store holds and no unit should is only healed by hand: the sorter removes a row from the
		// unit the ledger places it in, and the ledger places it nowhere.
		c.count(cand, unit, repaired && !(cand.class == classStoreExtra && unit == ""))
	}
	return nil
}

// current reads the candidates' rows as the upstream holds them now, in candidate order; a row deleted since it
// was found is left for the next run (the ledger then still has it where the upstream does not).
func (c *windowCheck) current(ctx context.Context, cands []candidate) ([]events.RowVersion, error) {
	if err := c.src.pace.WaitN(ctx, len(cands)); err != nil {
		return nil, err
	}
	rows, err := c.src.upstream.Current(ctx, c.table, candidateIDs(cands))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]events.RowVersion, len(rows))
	for _, v := range rows {
		byID[v.ID] = v
	}
	out := rows[:0]
	for _, cand := range cands {
		if v, ok := byID[cand.id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// dropQuarantined leaves out the rows whose current version is set aside as bad: re-sorting would only set it
// aside again. They are reported, not counted missing. It returns the rows kept and their candidates.
func (c *windowCheck) dropQuarantined(ctx context.Context, rows []events.RowVersion, cands []candidate) ([]events.RowVersion, []candidate, error) {
	ids := make([]string, len(rows))
	for i, v := range rows {
		ids[i] = v.EventID()
	}
	bad, err := c.src.ledger.Quarantined(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]candidate, len(cands))
	for _, cand := range cands {
		byID[cand.id] = cand
	}
	keptRows, keptCands := rows[:0], make([]candidate, 0, len(rows))
	for i, v := range rows {
		if bad[ids[i]] {
			c.class(classQuarantined)
			continue
		}
		keptRows, keptCands = append(keptRows, v), append(keptCands, byID[v.ID])
	}
	return keptRows, keptCands, nil
}

// dropAhead leaves out the rows the ledger holds at a newer update_time than the upstream's current one: the
// newer-wins gate would refuse them, and counting them repaired would hide that. Unless the upstream has meanwhile
// moved on to the ledger's version (the live flow was quicker), each is counted missing and not repaired, so the
// run says what it could not repair. It returns the rows kept and their candidates.
func (c *windowCheck) dropAhead(ctx context.Context, rows []events.RowVersion, cands []candidate) ([]events.RowVersion, []candidate, error) {
	held, err := c.src.ledger.Versions(ctx, c.table, candidateIDs(cands))
	if err != nil {
		return nil, nil, err
	}
	var ahead []string
	for _, v := range rows {
		if e, ok := held[v.ID]; ok && e.UpdateTime.After(v.UpdateTime) {
			ahead = append(ahead, v.ID)
		}
	}
	if len(ahead) == 0 {
		return rows, cands, nil
	}
	now, err := c.digests(ctx, ahead)
	if err != nil {
		return nil, nil, err
	}
	keptRows, keptCands := rows[:0], cands[:0]
	for i, v := range rows {
		e, isAhead := held[v.ID]
		if !isAhead || !e.UpdateTime.After(v.UpdateTime) {
			keptRows, keptCands = append(keptRows, v), append(keptCands, cands[i])
			continue
		}
		cand := candidate{id: v.ID, class: classAhead, entry: e}
		caughtUp := now[v.ID].same(e.Key)
		if caughtUp {
			cand.class = cands[i].class
		}
		c.count(cand, e.Unit, caughtUp && !c.opts.DryRun)
	}
	return keptRows, keptCands, nil
}

// repair runs fn unless the run is a dry one or an earlier repair of the window failed; it says whether fn
// repaired.
func (c *windowCheck) repair(fn func() error) bool {
	if c.opts.DryRun || c.failure != "" {
		return false
	}
	if err := fn(); err != nil {
		c.failure = fmt.Sprintf("repair stopped in window %s–%s: %v", c.w.From.UTC().Format(time.RFC3339), c.w.To.UTC().Format(time.RFC3339), err)
		return false
	}
	return true
}

// count records one row found different: unit is where it is after the repair ("" for a deleted row, or one
// that is not Wuhan's), cand.entry.Unit where it was.
func (c *windowCheck) count(cand candidate, unit string, repaired bool) {
	c.class(cand.class)
	c.missing++
	if repaired {
		c.repaired++
	}
	before := cand.entry.Unit
	for _, u := range uniqueUnits(before, unit) {
		n := c.unit(u)
		n.missing++
		if repaired {
			n.repaired++
		}
		n.classes[cand.class]++
		switch {
		case u != before || cand.class == classStoreMissing:
			n.added++ // the store did not hold it there
		case unit != before:
			n.removed++
		}
	}
}

func uniqueUnits(a, b string) []string {
	var out []string
	for _, u := range []string{a, b} {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func (c *windowCheck) unit(code string) *unitCounts {
	n, ok := c.units[code]
	if !ok {
		n = &unitCounts{classes: map[string]int64{}}
		c.units[code] = n
	}
	return n
}

func (c *windowCheck) class(name string) {
	if c.classes == nil {
		c.classes = map[string]int64{}
	}
	c.classes[name]++
}

func (c *windowCheck) digests(ctx context.Context, ids []string) (map[string]Key, error) {
	if len(ids) == 0 {
		return map[string]Key{}, nil
	}
	if err := c.src.pace.WaitN(ctx, len(ids)); err != nil {
		return nil, err
	}
	return c.src.upstream.Digests(ctx, c.table, ids)
}

// findings are one per unit whose rows in the window differed: Found the rows the store held there before the
// run, Expected those it must hold as the upstream has them.
func (c *windowCheck) findings() []Finding {
	var out []Finding
	for _, code := range slices.Sorted(maps.Keys(c.units)) {
		n := c.units[code]
		found := c.found[code]
		out = append(out, Finding{Check: CheckSource, Subject: SubjectWindow, Unit: code, Table: c.table, Window: c.w,
			Expected: found + n.added - n.removed, Found: found, Missing: n.missing, Repaired: n.repaired,
			Detail: strings.Join(classDetail(n.classes), "; ")})
	}
	return out
}

func entryIDs(entries []Entry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

func candidateIDs(cands []candidate) []string {
	ids := make([]string, len(cands))
	for i, cand := range cands {
		ids[i] = cand.id
	}
	return ids
}

func candidateEntries(cands []candidate) []Entry {
	out := make([]Entry, len(cands))
	for i, cand := range cands {
		out[i] = cand.entry
	}
	return out
}
