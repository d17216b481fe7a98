package sort

import (
	"context"
	"fmt"
	"slices"
	"time"

	"hotline-bridge/events"
)

// ParkedRows is the parking lot seen from outside a sorting transaction.
type ParkedRows interface {
	// Decidable returns parked rows whose parent has arrived: normally they are decided when it does, but a
	// parent committed concurrently with its child, or a crash, can leave them behind.
	Decidable(ctx context.Context, limit int) ([]events.RowVersion, error)
	// ExpireOrphans quarantines rows parked longer than maxWait, with the reason, and returns how many.
	ExpireOrphans(ctx context.Context, maxWait time.Duration) (int, error)
}

// Sweep decides what parking can release and quarantines orphans past maxWait. It reports how many rows it
// released, so that a caller waiting for idle knows whether more work appeared.
func (s *Sorter) Sweep(ctx context.Context, parked ParkedRows, maxWait time.Duration) (released, expired int, err error) {
	rows, err := parked.Decidable(ctx, 1000)
	if err != nil {
		return 0, 0, fmt.Errorf("find decidable parked rows: %w", err)
	}
	for chunk := range slices.Chunk(rows, min(resortChunk, max(s.store.BatchLimit(), 1))) {
		// Released rows are versions seen before, decided again; a bad one is quarantined in the batch.
		if _, err := s.decideAll(ctx, chunk, events.ViaParking); err != nil {
			return released, 0, err
		}
		released += len(chunk)
	}
	expired, err = parked.ExpireOrphans(ctx, maxWait)
	return released, expired, err
}

// resortChunk bounds one transaction of released rows.
const resortChunk = 200
