package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
)

// sourceWorld is an upstream, a ledger and a store in memory, and a healer that re-sorts as the sorter would:
// a row's unit is unitOf[id] ("" when not Wuhan's).
type sourceWorld struct {
	upstream map[string]Key   // current upstream rows by id
	ledger   map[string]Entry // live entries by id
	store    map[string]string
	unitOf   map[string]string
	pruned   bool
	table    string            // the table checked: fakeTable unless a test says otherwise
	orderOf  map[string]string // the work order each upstream row names, for a kind that follows it
	orders   map[string]Entry  // the work orders' ledger entries, when the table checked is not theirs
	bad      map[string]bool   // quarantined event ids
	resorted []string
	forgot   []string
	paced    []int
}

const fakeTable = "registration"

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// digestOf spreads n over all 128 bits, as sha256 would.
func digestOf(n int) string {
	return fmt.Sprintf("%016x%016x", uint64(n+1)*0x9E3779B97F4A7C15, uint64(n))
}

func newSourceWorld() *sourceWorld {
	return &sourceWorld{upstream: map[string]Key{}, ledger: map[string]Entry{}, store: map[string]string{}, unitOf: map[string]string{},
		table: fakeTable, orderOf: map[string]string{}, orders: map[string]Entry{}, bad: map[string]bool{}}
}

// row puts a consistent row everywhere: upstream, ledger and, if unit is set, the store.
func (w *sourceWorld) row(id string, at time.Time, n int, unit string) {
	k := Key{UpdateTime: at, ID: id, Digest: digestOf(n)}
	w.upstream[id], w.ledger[id], w.unitOf[id] = k, Entry{Key: k, Unit: unit}, unit
	if unit != "" {
		w.store[id] = unit
	}
}

func inWindow(k Key, win Window) bool {
	return !k.UpdateTime.Before(win.From) && k.UpdateTime.Before(win.To)
}

func keyOrder(a, b Key) int {
	return cmp.Or(a.UpdateTime.Compare(b.UpdateTime), strings.Compare(a.ID, b.ID))
}

func after(k, a Key) bool { return keyOrder(k, a) > 0 }

func sum(keys []Key) Summary {
	var s Summary
	for _, k := range keys {
		v, _ := strconv.ParseUint(k.Digest[:15], 16, 64)
		s = s.Add(Summary{Rows: 1, Sum: v})
	}
	return s
}

func (w *sourceWorld) upstreamKeys(win Window, a Key, limit int) []Key {
	var out []Key
	for _, k := range w.upstream {
		if inWindow(k, win) && after(k, a) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, keyOrder)
	return out[:min(limit, len(out))]
}

// Upstream.

func (w *sourceWorld) Summarize(_ context.Context, _ string, win Window, a Key, limit int) (Summary, Key, error) {
	keys := w.upstreamKeys(win, a, limit)
	if len(keys) == 0 {
		return Summary{}, a, nil
	}
	return sum(keys), keys[len(keys)-1], nil
}

func (w *sourceWorld) Keys(_ context.Context, _ string, win Window, a Key, limit int) ([]Key, error) {
	return w.upstreamKeys(win, a, limit), nil
}

func (w *sourceWorld) Families(_ context.Context, _ string, win Window, a Key, limit int) ([]Member, error) {
	var out []Member
	for _, k := range w.upstreamKeys(win, a, limit) {
		out = append(out, Member{Key: k, WorkOrder: w.orderOf[k.ID]})
	}
	return out, nil
}

func (w *sourceWorld) Digests(_ context.Context, _ string, ids []string) (map[string]Key, error) {
	out := map[string]Key{}
	for _, id := range ids {
		if k, ok := w.upstream[id]; ok {
			out[id] = k
		}
	}
	return out, nil
}

func (w *sourceWorld) Current(_ context.Context, table string, ids []string) ([]events.RowVersion, error) {
	var out []events.RowVersion
	for _, id := range ids {
		if k, ok := w.upstream[id]; ok {
			out = append(out, events.RowVersion{Table: table, ID: id, UpdateTime: k.UpdateTime, Payload: []byte(k.Digest)})
		}
	}
	return out, nil
}

// Ledger.

func (w *sourceWorld) Watermark(context.Context, string) (time.Time, bool, error) {
	return t0.Add(72 * time.Hour), true, nil
}

func (w *sourceWorld) Pruned(context.Context, string, Window) (bool, error) { return w.pruned, nil }

func (w *sourceWorld) Summarize2(win Window) Summary {
	return sum(w.ledgerKeys(win, Key{}, 1<<30, false))
}

func (w *sourceWorld) ledgerKeys(win Window, a Key, limit int, kept bool) []Key {
	var out []Key
	for _, e := range w.ledger {
		if inWindow(e.Key, win) && after(e.Key, a) && (!kept || e.Unit != "") {
			out = append(out, e.Key)
		}
	}
	slices.SortFunc(out, keyOrder)
	return out[:min(limit, len(out))]
}

type ledgerSide struct{ *sourceWorld }

func (l ledgerSide) Summarize(_ context.Context, _ string, win Window) (Summary, error) {
	return l.Summarize2(win), nil
}

func (l ledgerSide) Keys(_ context.Context, _ string, win Window, a Key, limit int, kept bool) ([]Entry, error) {
	var out []Entry
	for _, k := range l.ledgerKeys(win, a, limit, kept) {
		out = append(out, l.ledger[k.ID])
	}
	return out, nil
}

func (l ledgerSide) StoreGaps(_ context.Context, _ string, win Window, a string, limit int) ([]Entry, error) {
	var out []Entry
	for id, e := range l.ledger {
		if e.Unit != "" && inWindow(e.Key, win) && l.store[id] != e.Unit && id > a {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(x, y Entry) int { return strings.Compare(x.ID, y.ID) })
	return out[:min(limit, len(out))], nil
}

func (l ledgerSide) Units(_ context.Context, _ string, win Window) (map[string]int64, error) {
	out := map[string]int64{}
	for id, unit := range l.store {
		if e, ok := l.ledger[id]; ok && inWindow(e.Key, win) {
			out[unit]++
		}
	}
	return out, nil
}

func (l ledgerSide) Placements(_ context.Context, _ string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if u := l.ledger[id].Unit; u != "" {
			out[id] = u
		}
	}
	return out, nil
}

func (l ledgerSide) Versions(_ context.Context, table string, ids []string) (map[string]Entry, error) {
	out, entries := map[string]Entry{}, l.ledger
	if table != l.table {
		entries = l.orders
	}
	for _, id := range ids {
		if e, ok := entries[id]; ok {
			out[id] = e
		}
	}
	return out, nil
}

func (l ledgerSide) Quarantined(_ context.Context, eventIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, e := range eventIDs {
		if l.bad[e] {
			out[e] = true
		}
	}
	return out, nil
}

// Healer.

func (w *sourceWorld) Resort(_ context.Context, rows []events.RowVersion) error {
	for _, v := range rows {
		k := w.upstream[v.ID]
		unit := w.unitOf[v.ID]
		w.ledger[v.ID] = Entry{Key: k, Unit: unit}
		delete(w.store, v.ID)
		if unit != "" {
			w.store[v.ID] = unit
		}
		w.resorted = append(w.resorted, v.ID)
	}
	return nil
}

func (w *sourceWorld) Forget(_ context.Context, _ string, rows []Entry) error {
	for _, e := range rows {
		delete(w.ledger, e.ID)
		delete(w.store, e.ID)
		w.forgot = append(w.forgot, e.ID)
	}
	return nil
}

func (w *sourceWorld) WaitN(_ context.Context, n int) error {
	w.paced = append(w.paced, n)
	return nil
}

func (w *sourceWorld) check(batch int) *Source {
	return NewSource(SourceConfig{Tables: []string{w.table}, Window: 24 * time.Hour, Depth: 72 * time.Hour, Batch: batch,
		Now: func() time.Time { return t0.Add(100 * time.Hour) }}, w, ledgerSide{w}, w, w)
}

func runSource(t *testing.T, w *sourceWorld, dryRun bool) []Finding {
	t.Helper()
	var got []Finding
	if err := w.check(2).Run(context.Background(), Options{Run: 1, DryRun: dryRun}, func(f Finding) { got = append(got, f) }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWindowsWalkBackFromTheWatermarkOverTheDepthNewestFirst(t *testing.T) {
	to := t0.Add(60 * time.Hour)
	got := Windows(to, 24*time.Hour, 60*time.Hour)
	want := []Window{{to.Add(-24 * time.Hour), to}, {to.Add(-48 * time.Hour), to.Add(-24 * time.Hour)}, {t0, to.Add(-48 * time.Hour)}}
	if !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v", got, want)
	}
}

// world has, in the window [t0+48h, t0+72h), rows sharing update times (so keyset batches of two end amid them)
// and one row of each difference.
func world() *sourceWorld {
	w := newSourceWorld()
	at := t0.Add(50 * time.Hour)
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		w.row(id, at.Add(time.Duration(i/2)*time.Minute), i, "420106")
	}
	w.row("national", at, 10, "")
	w.row("changed", at.Add(time.Minute), 11, "420102")
	w.upstream["changed"] = Key{UpdateTime: w.upstream["changed"].UpdateTime, ID: "changed", Digest: digestOf(12)}
	w.row("deleted", at.Add(2*time.Minute), 13, "420111")
	delete(w.upstream, "deleted")
	w.row("lost", at.Add(3*time.Minute), 14, "420106")
	delete(w.ledger, "lost")
	delete(w.store, "lost")
	w.row("gap", at, 15, "420102")
	delete(w.store, "gap")
	return w
}

func findingsOf(got []Finding, subject string) map[string]Finding {
	out := map[string]Finding{}
	for _, f := range got {
		if f.Subject == subject {
			out[f.Unit] = f
		}
	}
	return out
}

func TestSourceFindsEachDifferenceAndHealsItThroughTheHealer(t *testing.T) {
	w := world()
	got := runSource(t, w, false)
	sum := findingsOf(got, SubjectTable)[""]
	if sum.Table != fakeTable || sum.Missing != 4 || sum.Repaired != 4 || sum.Expected != 9 || sum.Found != 7 {
		t.Fatalf("table summary %+v, want 9 upstream rows, 7 held at their version, 4 different, 4 repaired", sum)
	}
	for _, want := range []string{"1 " + classChanged, "1 " + classDeleted, "1 " + classAbsent, "1 " + classStoreMissing, "1 differed"} {
		if !strings.Contains(sum.Detail, want) {
			t.Errorf("summary detail %q lacks %q", sum.Detail, want)
		}
	}
	if slices.Sort(w.resorted); !slices.Equal(w.resorted, []string{"changed", "gap", "lost"}) || !slices.Equal(w.forgot, []string{"deleted"}) {
		t.Errorf("re-sorted %v and forgot %v, want changed, gap, lost and deleted", w.resorted, w.forgot)
	}
	units := findingsOf(got, SubjectWindow)
	if f := units["420111"]; f.Found != 1 || f.Expected != 0 || f.Missing != 1 || f.Repaired != 1 || f.Detail != "1 "+classDeleted {
		t.Errorf("unit 420111 (its row deleted upstream): %+v", f)
	}
	if f := units["420102"]; f.Found != 1 || f.Expected != 2 || f.Missing != 2 || f.Window.From != t0.Add(48*time.Hour) {
		t.Errorf("unit 420102 (a changed row, a row the store lost): %+v", f)
	}
	if f := units["420106"]; f.Found != 5 || f.Expected != 6 || f.Missing != 1 || f.Detail != "1 "+classAbsent {
		t.Errorf("unit 420106 (a row the ledger and store lost): %+v", f)
	}
	if _, ok := units[""]; ok || len(units) != 3 {
		t.Errorf("window findings for units %v, want 420102, 420106, 420111", slices.Sorted(maps.Keys(units)))
	}
	for _, n := range w.paced {
		if n > 2 {
			t.Errorf("paced a read of %d rows, over the batch of 2", n)
		}
	}

	again := findingsOf(runSource(t, w, false), SubjectTable)[""]
	if again.Missing != 0 || again.Found != 9 || again.Expected != 9 || again.Repaired != 0 {
		t.Errorf("second run: %+v, want the 9 upstream rows all held", again)
	}
}

func TestSourceDryRunRepairsNothingAndLeavesTheRowsMissing(t *testing.T) {
	w := world()
	sum := findingsOf(runSource(t, w, true), SubjectTable)[""]
	if sum.Missing != 4 || sum.Repaired != 0 || sum.Unrepaired() != 4 || len(w.resorted)+len(w.forgot) != 0 {
		t.Fatalf("dry run: %+v, re-sorted %v, forgot %v; want 4 unrepaired and nothing touched", sum, w.resorted, w.forgot)
	}
}

func TestSourceInAPrunedWindowComparesTheRowsTheStoreHoldsByID(t *testing.T) {
	w := world()
	w.pruned = true
	delete(w.ledger, "national") // pruned: the upstream row is no difference there
	sum := findingsOf(runSource(t, w, false), SubjectTable)[""]
	// Kept mode cannot see "lost" (in neither the ledger nor the store); it sees the changed, deleted and gap rows.
	if sum.Missing != 3 || sum.Repaired != 3 || strings.Contains(sum.Detail, classAbsent) || !strings.Contains(sum.Detail, "3 by the rows the store holds") {
		t.Fatalf("pruned window: %+v, want changed, deleted and gap found by id, the pruned row ignored", sum)
	}
}

func TestSourceComparesAKindThatFollowsItsWorkOrderByWuhansFamilies(t *testing.T) {
	w := newSourceWorld()
	w.table = events.Subject
	at := t0.Add(50 * time.Hour)
	w.orders["W1"] = Entry{Key: Key{UpdateTime: at, ID: "W1", Digest: digestOf(90)}, Unit: "420106"}
	w.orders["N1"] = Entry{Key: Key{UpdateTime: at, ID: "N1", Digest: digestOf(91)}}
	family := func(id string, n int, order, unit string) {
		w.row(id, at.Add(time.Duration(n)*time.Minute), n, unit)
		w.orderOf[id] = order
	}
	family("kept", 1, "W1", "420106")
	family("changed", 2, "W1", "420106")
	w.upstream["changed"] = Key{UpdateTime: w.upstream["changed"].UpdateTime, ID: "changed", Digest: digestOf(20)}
	family("missed", 3, "W1", "420106") // capture missed it: in neither the ledger nor the store
	delete(w.ledger, "missed")
	delete(w.store, "missed")
	family("orphan", 4, "U9", "") // its work order is unknown to the ledger: it would wait for it
	delete(w.ledger, "orphan")
	for i := range 3 { // the sorter keeps no entry for a row of a family elsewhere
		family(fmt.Sprintf("national-%d", i), 5+i, "N1", "")
		delete(w.ledger, fmt.Sprintf("national-%d", i))
	}

	sum := findingsOf(runSource(t, w, false), SubjectTable)[""]
	if sum.Missing != 3 || sum.Repaired != 3 || !strings.Contains(sum.Detail, "2 "+classAbsent) || !strings.Contains(sum.Detail, "1 "+classChanged) ||
		!strings.Contains(sum.Detail, "compared by Wuhan's families") {
		t.Fatalf("table summary %+v: want the missed, the orphan and the changed row found and repaired, by Wuhan's families", sum)
	}
	if slices.Sort(w.resorted); !slices.Equal(w.resorted, []string{"changed", "missed", "orphan"}) {
		t.Errorf("re-sorted %v, want changed, missed and orphan, and no row of the family elsewhere", w.resorted)
	}
	if w.store["missed"] != "420106" {
		t.Errorf("the missed row is in unit %q of the store, want 420106", w.store["missed"])
	}
	if again := findingsOf(runSource(t, w, false), SubjectTable)[""]; again.Missing != 0 {
		t.Errorf("second run: %+v, want nothing missing", again)
	}
}

func TestSourceLeavesQuarantinedVersionsAside(t *testing.T) {
	w := world()
	changed := w.upstream["changed"] // its new content is a bad row, set aside before
	w.bad[events.RowVersion{Table: fakeTable, ID: "changed", UpdateTime: changed.UpdateTime, Payload: []byte(changed.Digest)}.EventID()] = true
	sum := findingsOf(runSource(t, w, false), SubjectTable)[""]
	if sum.Missing != 3 || !strings.Contains(sum.Detail, "1 "+classQuarantined) || slices.Contains(w.resorted, "changed") {
		t.Fatalf("%+v, re-sorted %v: want the quarantined version reported, not missing, not re-sorted", sum, w.resorted)
	}
}

func TestSourceReportsARowWhoseUpdateTimeMovedBackwardsUpstreamAsNotRepaired(t *testing.T) {
	w := newSourceWorld()
	w.row("steady", t0.Add(50*time.Hour), 1, "420106")
	// Stamped far in the future once, so the ledger holds that version; the platform has since changed the row
	// with a correct clock and moved it to another unit.
	w.row("future", t0.Add(50*time.Hour), 2, "420106")
	w.ledger["future"] = Entry{Key: Key{UpdateTime: t0.Add(1000 * 24 * time.Hour), ID: "future", Digest: digestOf(3)}, Unit: "420106"}
	w.unitOf["future"] = "420102"
	sum := findingsOf(runSource(t, w, false), SubjectTable)[""]
	if sum.Missing != 1 || sum.Repaired != 0 || sum.Unrepaired() != 1 || !strings.Contains(sum.Detail, "1 "+classAhead) {
		t.Fatalf("table summary %+v: want the row missing, not repaired, and why", sum)
	}
	if len(w.resorted) != 0 {
		t.Errorf("re-sorted %v: the sorter's gate would refuse the older version", w.resorted)
	}
}
