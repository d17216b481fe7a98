package sort_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// t0 is when the reference tree was captured; row versions are stamped minutes after it.
var t0 = time.Date(2025, 3, 15, 9, 0, 0, 0, time.UTC)

// world is a sorter over the fake store and the fake upstream, with the reference tree already sorted.
type world struct {
	t        *testing.T
	store    *fakeStore
	upstream *fakeUpstream
	sorter   *sort.Sorter
}

// referenceTree is the part of docs/reference-org-tree.md the tests need: id, parent, division code.
var referenceTree = [][3]string{
	{"ORG-SAMR", "", ""},
	{"ORG-420000", "ORG-SAMR", "420000"},
	{"ORG-420100", "ORG-420000", "420100"},
	{"ORG-420102", "ORG-420100", "420102"},
	{"ORG-420102-S01", "ORG-420102", ""},
	{"ORG-420106", "ORG-420100", "420106"},
	{"ORG-420106-S03", "ORG-420106", ""},
	{"ORG-WH-DHGX", "ORG-420100", ""},
	{"ORG-WH-DHGX-S01", "ORG-WH-DHGX", ""},
	{"ORG-420200", "ORG-420000", "420200"},
}

func newWorld(t *testing.T) *world {
	t.Helper()
	up := &fakeUpstream{rows: map[rowKey]events.RowVersion{}}
	store := newFakeStore(t0)
	w := &world{t: t, store: store, upstream: up, sorter: sort.NewSorter(jurisdiction.DefaultUnits(), store, up)}
	for _, n := range referenceTree {
		w.sort(w.change(events.Organization, n[0], 0, orgCols(n[1], n[2])))
	}
	w.takeOutbox()
	return w
}

// orgCols are an organisation row's columns; "" is NULL.
func orgCols(parent, division string) map[string]any {
	return map[string]any{"parent_id": null(parent), "division_code": null(division), "name": "某市场监督管理局"}
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// version builds a captured row version: the payload carries id, update_time, is_deleted and cols.
func version(table, id string, minute int, cols map[string]any) events.RowVersion {
	at := t0.Add(time.Duration(minute) * time.Minute)
	row := map[string]any{"id": id, "update_time": events.FormatTime(at), "is_deleted": false}
	maps.Copy(row, cols)
	payload, err := json.Marshal(row)
	if err != nil {
		panic(err)
	}
	return events.RowVersion{Table: table, ID: id, UpdateTime: at, Payload: payload}
}

// change writes a new version of a row upstream, as the national platform does, and returns it as capture
// would deliver it. Whether and when it is sorted is up to the test.
func (w *world) change(table, id string, minute int, cols map[string]any) events.RowVersion {
	v := version(table, id, minute, cols)
	w.upstream.set(v)
	return v
}

func (w *world) sort(v events.RowVersion) {
	w.t.Helper()
	if err := w.sorter.Sort(context.Background(), v); err != nil {
		w.t.Fatalf("sort %s %s: %v", v.Table, v.ID, err)
	}
}

// takeOutbox returns the events emitted since the last call, as sorted "unit table.type id" lines.
func (w *world) takeOutbox() []string {
	w.store.mu.Lock()
	defer w.store.mu.Unlock()
	var out []string
	for _, d := range w.store.st.outbox {
		out = append(out, d.String())
	}
	w.store.st.outbox = nil
	slices.Sort(out)
	return out
}

// wantOutbox checks the events emitted since the last take, in any order.
func (w *world) wantOutbox(want ...string) {
	w.t.Helper()
	slices.Sort(want)
	if got := w.takeOutbox(); !slices.Equal(got, want) {
		w.t.Errorf("events emitted:\n  got  %q\n  want %q", got, want)
	}
}

// wantStored checks where rows are in the dedicated store: "table id" → unit, "" for not stored.
func (w *world) wantStored(want map[string]string) {
	w.t.Helper()
	st := w.store.snapshot()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		k := parseKey(name)
		got := st.rows[k].Unit
		if got != want[name] {
			w.t.Errorf("%s stored in unit %q, want %q", name, got, want[name])
		}
	}
}

// payloadOf returns a stored row's column.
func (w *world) payloadOf(name, column string) any {
	w.t.Helper()
	row, ok := w.store.snapshot().rows[parseKey(name)]
	if !ok {
		w.t.Fatalf("%s is not stored", name)
	}
	var cols map[string]any
	if err := json.Unmarshal([]byte(row.Payload), &cols); err != nil {
		w.t.Fatal(err)
	}
	return cols[column]
}

func (w *world) parked() map[string]string {
	out := map[string]string{}
	for k, p := range w.store.snapshot().parked {
		out[k.Table+" "+k.ID] = p.Waiting.Table + " " + p.Waiting.ID
	}
	return out
}

func (w *world) wantParked(want map[string]string) {
	w.t.Helper()
	if got := w.parked(); !maps.Equal(got, want) {
		w.t.Errorf("parked rows (row → waiting for): got %v, want %v", got, want)
	}
}

func parseKey(name string) rowKey {
	table, id, ok := strings.Cut(name, " ")
	if !ok {
		panic("row name is not \"table id\": " + name)
	}
	return rowKey{table, id}
}
