package sort

import (
	"context"
	"errors"
	"slices"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/pace"
)

// Resort decides rows again as the upstream holds them now, for source reconciliation: their content changed
// without a new update_time, or the store or the ledger lost them. They go through the same locks, newer-wins
// gate and writes as captured rows, as re-reads (so under an unchanged update_time their content wins), and each
// is written to the store and its unit again even when the ledger already had that version there. A row that
// cannot be sorted is quarantined, as a carried-along row is.
func (s *Sorter) Resort(ctx context.Context, rows []events.RowVersion) error {
	for part := range slices.Chunk(rows, max(s.store.BatchLimit(), 1)) {
		if _, err := s.decideAll(ctx, part, events.ViaReconciled); err != nil {
			return err
		}
	}
	return nil
}

// Gone is a row the upstream no longer has, as the ledger recorded it when reconciliation found it missing.
type Gone struct {
	Ref
	UpdateTime time.Time
	Digest     string
}

// Forget takes rows the upstream deleted outright out of the bridge, under the rows' sorting locks: the store
// drops a stored one and its unit gets a removed event, a parked one is unparked, and the ledger keeps a
// tombstone (DigestDeletedUpstream, reconciled) so that a late or replayed copy of the deleted version cannot
// bring it back; a newer version, should the row reappear, still wins. A row whose ledger entry is no longer the
// version reconciliation saw (a newer one was decided meanwhile) is left alone. The organisation tree keeps a
// deleted organisation: the rows below it still walk through it.
func (s *Sorter) Forget(ctx context.Context, rows []Gone) error {
	for part := range slices.Chunk(rows, max(s.store.BatchLimit(), 1)) {
		if err := s.forgetAll(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sorter) forgetAll(ctx context.Context, rows []Gone) error {
	for conflicts := 0; ; conflicts++ {
		var b *batch
		err := s.store.Apply(ctx, func(tx Tx) error {
			b = s.newBatch(ctx, tx, nil, len(rows))
			return b.forget(ctx, rows)
		})
		if errors.Is(err, ErrConflict) && conflicts < maxConflicts {
			pace.Sleep(ctx, conflictPause(conflicts+1))
			continue
		}
		if err == nil {
			s.report(b)
		}
		return err
	}
}

func (b *batch) forget(ctx context.Context, rows []Gone) error {
	refs := make([]Ref, len(rows))
	for i, g := range rows {
		refs[i] = g.Ref
	}
	if err := b.tx.Lock(ctx, refs); err != nil {
		return err
	}
	if err := b.fetchLedger(ctx, refs); err != nil {
		return err
	}
	for _, g := range rows {
		if s := b.ledger[g.Ref]; s.known && s.UpdateTime.Equal(g.UpdateTime) && s.Digest == g.Digest {
			b.tombstone(g, s)
		}
	}
	return b.flush(ctx)
}

// tombstone records the deletion of one row the ledger knew as s.
func (b *batch) tombstone(g Gone, s seen) {
	it := &item{v: events.RowVersion{Table: g.Table, ID: g.ID, UpdateTime: g.UpdateTime}, carried: true, via: events.ViaReconciled}
	it.kind, _ = events.KindByTable(g.Table)
	b.out.unpark(g.Ref, farFuture)
	if s.Unit != "" {
		b.out.remove(it.kind, it.v, s.Placement)
		b.trail.captured(it)
		b.trail.removed(it, s.Unit)
	}
	entry := Entry{UpdateTime: g.UpdateTime, Digest: DigestDeletedUpstream, Decided: true, Reconciled: true}
	b.out.record(g.Ref, entry, true)
	b.ledger[g.Ref] = seen{Entry: entry, known: true}
}

// farFuture unparks every parked version of a row.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
