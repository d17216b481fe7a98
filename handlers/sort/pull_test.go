package sort_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
	"hotline-bridge/handlers/sort"
)

// lockCounting counts the locks batches take after their first ones went out. Those break the store's one
// global order, so the store waits for them only briefly and, if they are held, decides the whole batch again.
type lockCounting struct {
	sort.Store
	later atomic.Int64
}

func (s *lockCounting) Apply(ctx context.Context, fn func(sort.Tx) error) error {
	return s.Store.Apply(ctx, func(tx sort.Tx) error { return fn(&countingTx{Tx: tx, store: s}) })
}

// countingTx notes locks asked for; the read that sends them (every read and the write send the locks asked for
// before them) counts as later if an earlier one sent some.
type countingTx struct {
	sort.Tx
	store       *lockCounting
	asked, sent bool
}

func (t *countingTx) Lock(ctx context.Context, rows []sort.Ref) error {
	t.asked = t.asked || len(rows) > 0
	return t.Tx.Lock(ctx, rows)
}

func (t *countingTx) Share(ctx context.Context, rows []sort.Ref) error {
	t.asked = t.asked || len(rows) > 0
	return t.Tx.Share(ctx, rows)
}

func (t *countingTx) reading() {
	if !t.asked {
		return
	}
	if t.sent {
		t.store.later.Add(1)
	}
	t.asked, t.sent = false, true
}

func (t *countingTx) Ledger(ctx context.Context, rows []sort.Ref) (map[sort.Ref]sort.Entry, error) {
	t.reading()
	return t.Tx.Ledger(ctx, rows)
}

func (t *countingTx) TreeVersion(ctx context.Context) (int64, error) {
	t.reading()
	return t.Tx.TreeVersion(ctx)
}

func (t *countingTx) Tree(ctx context.Context) (int64, []jurisdiction.Org, error) {
	t.reading()
	return t.Tx.Tree(ctx)
}

func (t *countingTx) Parked(ctx context.Context, waiting []sort.Ref) ([]events.RowVersion, error) {
	t.reading()
	return t.Tx.Parked(ctx, waiting)
}

func (t *countingTx) Write(ctx context.Context, w *sort.Writes) (sort.Written, error) {
	t.reading()
	return t.Tx.Write(ctx, w)
}

// A registration captured before the station it names, and the station before the office above it, as at the start
// of a catch-up: the batch reads the whole chain from upstream before it takes its locks, so they all go out in one
// statement, and decides the office, the station, then the registration, without parking any.
func TestARegistrationPullsItsMissingOrganisationsUpToTheTreeBeforeItsLocks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	counting := &lockCounting{Store: w.store}
	w.sorter = sort.NewSorter(w.sorter.Units(), counting, w.upstream)
	w.change(events.Organization, "ORG-420106-X", 1, orgCols("ORG-420106", ""))
	w.change(events.Organization, "ORG-420106-X-S1", 2, orgCols("ORG-420106-X", ""))
	w.sort(w.change(events.Registration, "R1", 3, registration("ORG-420106-X-S1")))

	w.wantParked(map[string]string{})
	w.wantStored(map[string]string{"organization ORG-420106-X": "420106", "organization ORG-420106-X-S1": "420106", "registration R1": "420106"})
	w.wantOutbox("420106 organization.upserted ORG-420106-X", "420106 organization.upserted ORG-420106-X-S1", "420106 registration.upserted R1")
	if n := counting.later.Load(); n != 0 {
		t.Errorf("%d rounds of locks taken after the first: the chain of parents was not read before the locks", n)
	}
}

// A child whose registration is not captured yet, beside a registration naming a station the tree does not have,
// which the child's registration names too: the station and the child's registration are pulled on the same
// level, and the station is decided first, so nothing parks and no lock is taken late. (Kinds are pulled in map
// order, so the scenario runs a few times over.)
func TestParentsPulledTogetherAreDecidedOrganisationsFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	counting := &lockCounting{Store: w.store}
	w.sorter = sort.NewSorter(w.sorter.Units(), counting, w.upstream)
	for i := range 8 {
		station, r1, r2, ip := fmt.Sprintf("ORG-420106-N%d", i), fmt.Sprintf("R1-%d", i), fmt.Sprintf("R2-%d", i), fmt.Sprintf("IP-%d", i)
		w.change(events.Organization, station, 10*i+1, orgCols("ORG-420106", ""))
		w.change(events.Registration, r1, 10*i+2, registration(station))
		batch := []events.RowVersion{
			w.change(events.InfoProvider, ip, 10*i+3, child(r1)),
			w.change(events.Registration, r2, 10*i+4, registration(station)),
		}
		if rejected, err := w.sorter.SortBatch(context.Background(), batch); err != nil || len(rejected) > 0 {
			t.Fatalf("sort: %v, rejected %v", err, rejected)
		}
		w.wantParked(map[string]string{})
		w.wantStored(map[string]string{"organization " + station: "420106", "registration " + r1: "420106",
			"registration " + r2: "420106", "info_provider " + ip: "420106"})
	}
	if n := counting.later.Load(); n != 0 {
		t.Errorf("%d rounds of locks taken after the first: a parent was decided before the organisation it names", n)
	}
}
