package sort_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// fakeStore is a second, in-memory implementation of the sorting store contract. It mirrors infra/postgres
// (store.go, store_rows.go, store_tree.go) statement by statement, so that the sorter's decisions can be tested
// in microseconds; the pipeline's integration tests hold the real one to the same behaviour.
type fakeStore struct {
	mu  sync.Mutex
	now time.Time // stands in for clock_timestamp(): parking stamps rows with it, tests move it
	st  state     // what is committed
}

var (
	_ sort.Store      = (*fakeStore)(nil)
	_ sort.ParkedRows = (*fakeStore)(nil)
	_ sort.Tx         = (*fakeTx)(nil)
)

// ledgerEntry is bridge.row_state: the newest version seen of a row and the verdict on it.
type ledgerEntry struct {
	UpdateTime time.Time
	Digest     string
	Decided    bool
	sort.Placement
}

// storedRow is a row of the dedicated store (wuhan.<table>) with its unit_code.
type storedRow struct {
	Unit       string
	UpdateTime time.Time
	Payload    string
}

// parkedRow is bridge.parked.
type parkedRow struct {
	Version  events.RowVersion
	Waiting  jurisdiction.Dependency
	ParkedAt time.Time
}

// distribution is one bridge.outbox event, reduced to what the tests compare (Key only where a test asks).
type distribution struct{ Unit, Table, Type, RowID, Key string }

func (d distribution) String() string { return d.Unit + " " + d.Table + "." + d.Type + " " + d.RowID }

// quarantined is bridge.quarantine; (EventID, Reason) is its key.
type quarantined struct{ EventID, Table, ID, Reason string }

// state is everything one transaction can change.
type state struct {
	ledger     map[rowKey]ledgerEntry
	rows       map[rowKey]storedRow
	orgs       map[string]jurisdiction.Org // bridge.org_tree
	parked     map[rowKey]parkedRow
	outbox     []distribution
	quarantine []quarantined
}

func newFakeStore(now time.Time) *fakeStore {
	return &fakeStore{now: now, st: state{
		ledger: map[rowKey]ledgerEntry{}, rows: map[rowKey]storedRow{},
		orgs: map[string]jurisdiction.Org{}, parked: map[rowKey]parkedRow{},
	}}
}

// clone is a copy a transaction can change freely: the values are plain structs, never modified in place.
func (s state) clone() state {
	return state{
		ledger: maps.Clone(s.ledger), rows: maps.Clone(s.rows), orgs: maps.Clone(s.orgs), parked: maps.Clone(s.parked),
		outbox: slices.Clone(s.outbox), quarantine: slices.Clone(s.quarantine),
	}
}

// Apply gives fn a copy of the state and commits it only when fn succeeds: a failed transaction leaves no trace.
func (f *fakeStore) Apply(ctx context.Context, fn func(sort.Tx) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	tx := &fakeTx{st: f.st.clone(), now: f.now}
	if err := fn(tx); err != nil {
		return err
	}
	f.st = tx.st
	return nil
}

// snapshot returns a copy of the committed state, for comparing before and after.
func (f *fakeStore) snapshot() state {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.clone()
}

// Decidable returns parked rows whose parent is known now: a decided registration, or an organisation in the tree.
func (f *fakeStore) Decidable(ctx context.Context, limit int) ([]events.RowVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ready []parkedRow
	for _, p := range f.st.parked {
		reg, regKnown := f.st.ledger[rowKey{events.Registration, p.Waiting.ID}]
		_, orgKnown := f.st.orgs[p.Waiting.ID]
		if (p.Waiting.Table == events.Registration && regKnown && reg.Decided) || (p.Waiting.Table == events.Organization && orgKnown) {
			ready = append(ready, p)
		}
	}
	slices.SortFunc(ready, byParkedAt)
	var out []events.RowVersion
	for _, p := range ready[:min(limit, len(ready))] {
		out = append(out, p.Version)
	}
	return out, nil
}

// ExpireOrphans moves rows parked longer than maxWait to quarantine, saying what they waited for.
func (f *fakeStore) ExpireOrphans(ctx context.Context, maxWait time.Duration) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, p := range f.st.parked {
		if !p.ParkedAt.Before(f.now.Add(-maxWait)) {
			continue
		}
		delete(f.st.parked, k)
		reason := fmt.Sprintf("orphan: %s %s never arrived (parked since %s)", p.Waiting.Table, p.Waiting.ID, p.ParkedAt)
		f.st.quarantine = append(f.st.quarantine, quarantined{"orphan:" + p.Version.EventID(), k.Table, k.ID, reason})
		n++
	}
	return n, nil
}

func byParkedAt(a, b parkedRow) int {
	return cmp.Or(a.ParkedAt.Compare(b.ParkedAt), cmp.Compare(a.Version.Table, b.Version.Table), cmp.Compare(a.Version.ID, b.Version.ID))
}

// fakeTx works on its own copy of the state; reads see the transaction's earlier writes.
type fakeTx struct {
	st  state
	now time.Time
}

// Lock and Share have nothing to do: the fake runs one transaction at a time.
func (t *fakeTx) Lock(ctx context.Context, rows ...jurisdiction.Dependency) error  { return nil }
func (t *fakeTx) Share(ctx context.Context, rows ...jurisdiction.Dependency) error { return nil }

// Claim is the newer-wins gate: a later update_time wins, and on a tie the greater event id digest does.
func (t *fakeTx) Claim(ctx context.Context, v events.RowVersion, again bool) (sort.Previous, bool, error) {
	k, digest := rowKey{v.Table, v.ID}, v.EventID()
	old, found := t.st.ledger[k]
	if !found {
		return sort.Previous{}, true, nil
	}
	prev := sort.Previous{Known: true, Decided: old.Decided, Placement: old.Placement}
	prev.SameVersion = old.UpdateTime.Equal(v.UpdateTime) && old.Digest == digest
	if prev.SameVersion {
		return prev, again, nil
	}
	newer := v.UpdateTime.After(old.UpdateTime) || (v.UpdateTime.Equal(old.UpdateTime) && (digest > old.Digest || again))
	return prev, newer, nil
}

// Stored mirrors the ledger read: the placement recorded with the row, zero for an unknown row.
func (t *fakeTx) Stored(ctx context.Context, table, id string) (sort.Placement, error) {
	return t.st.ledger[rowKey{table, id}].Placement, nil
}

// Decided upserts the row's version and verdict, like the INSERT … ON CONFLICT it mirrors.
func (t *fakeTx) Decided(ctx context.Context, v events.RowVersion, decided bool, at sort.Placement) error {
	t.st.ledger[rowKey{v.Table, v.ID}] = ledgerEntry{UpdateTime: v.UpdateTime, Digest: v.EventID(), Decided: decided, Placement: at}
	return nil
}

// SaveOrg upserts the tree node; moved is true only for a known node whose parent or division changed.
func (t *fakeTx) SaveOrg(ctx context.Context, org jurisdiction.Org) (bool, error) {
	old, known := t.st.orgs[org.ID]
	t.st.orgs[org.ID] = org
	return known && (old.ParentID != org.ParentID || old.DivisionCode != org.DivisionCode), nil
}

// maxTreeDepth is the recursive queries' guard against cycles.
const maxTreeDepth = 64

func (t *fakeTx) Ancestors(ctx context.Context, id string) (map[string]jurisdiction.Org, error) {
	out := map[string]jurisdiction.Org{}
	for depth := 0; id != "" && depth < maxTreeDepth; depth++ {
		org, ok := t.st.orgs[id]
		if !ok {
			break
		}
		out[id] = org
		id = org.ParentID
	}
	return out, nil
}

func (t *fakeTx) Descendants(ctx context.Context, id string) ([]string, error) {
	seen := map[string]bool{}
	level := []string{id}
	for depth := 0; len(level) > 0 && depth < maxTreeDepth; depth++ {
		var next []string
		for _, org := range t.st.orgs {
			if slices.Contains(level, org.ParentID) && !seen[org.ID] {
				seen[org.ID] = true
				next = append(next, org.ID)
			}
		}
		level = next
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// RegistrationUnit answers from the ledger: known once decided, and "" when decided not Wuhan's.
func (t *fakeTx) RegistrationUnit(ctx context.Context, id string) (string, bool, error) {
	e := t.st.ledger[rowKey{events.Registration, id}]
	return e.Unit, e.Decided, nil
}

// Put upserts the row under unit unless the store holds a newer version, then emits, whatever the upsert did:
// "removed" to a different previous unit, and "upserted" (or "deleted" for a soft-deleted row) to unit.
func (t *fakeTx) Put(ctx context.Context, kind events.Kind, v events.RowVersion, row map[string]any, to, from sort.Placement) error {
	k := rowKey{kind.Table, v.ID}
	if old, ok := t.st.rows[k]; !ok || !old.UpdateTime.After(v.UpdateTime) {
		t.st.rows[k] = storedRow{Unit: to.Unit, UpdateTime: v.UpdateTime, Payload: string(v.Payload)}
	}
	if from.Unit != "" && from.Unit != to.Unit {
		t.emit(from, kind, v, events.EventRemoved)
	}
	eventType := events.EventUpserted
	if deleted, _ := row["is_deleted"].(bool); deleted {
		eventType = events.EventDeleted
	}
	t.emit(to, kind, v, eventType)
	return nil
}

// Remove deletes the row from the store and tells its previous unit.
func (t *fakeTx) Remove(ctx context.Context, kind events.Kind, v events.RowVersion, from sort.Placement) error {
	delete(t.st.rows, rowKey{kind.Table, v.ID})
	t.emit(from, kind, v, events.EventRemoved)
	return nil
}

func (t *fakeTx) emit(at sort.Placement, kind events.Kind, v events.RowVersion, eventType string) {
	t.st.outbox = append(t.st.outbox, distribution{Unit: at.Unit, Table: kind.Table, Type: eventType, RowID: v.ID, Key: at.Key})
}

// Park keeps the newest parked version of a row; parked_at is set once, when the row is first parked.
func (t *fakeTx) Park(ctx context.Context, v events.RowVersion, waiting jurisdiction.Dependency) error {
	k := rowKey{v.Table, v.ID}
	old, ok := t.st.parked[k]
	switch {
	case !ok:
		t.st.parked[k] = parkedRow{Version: v, Waiting: waiting, ParkedAt: t.now}
	case !old.Version.UpdateTime.After(v.UpdateTime):
		t.st.parked[k] = parkedRow{Version: v, Waiting: waiting, ParkedAt: old.ParkedAt}
	}
	return nil
}

// Unpark forgets a parked row once a version at least as new is decided.
func (t *fakeTx) Unpark(ctx context.Context, table, id string, upTo time.Time) error {
	k := rowKey{table, id}
	if p, ok := t.st.parked[k]; ok && !p.Version.UpdateTime.After(upTo) {
		delete(t.st.parked, k)
	}
	return nil
}

func (t *fakeTx) Parked(ctx context.Context, waiting jurisdiction.Dependency) ([]events.RowVersion, error) {
	var out []parkedRow
	for _, p := range t.st.parked {
		if p.Waiting == waiting {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, byParkedAt)
	var versions []events.RowVersion
	for _, p := range out {
		versions = append(versions, p.Version)
	}
	return versions, nil
}

// Quarantine records a bad row once per (event, reason), inside the transaction.
func (t *fakeTx) Quarantine(ctx context.Context, v events.RowVersion, reason string) error {
	q := quarantined{EventID: v.EventID(), Table: v.Table, ID: v.ID, Reason: reason}
	if !slices.Contains(t.st.quarantine, q) {
		t.st.quarantine = append(t.st.quarantine, q)
	}
	return nil
}
