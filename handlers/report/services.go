package report

import (
	"context"
	"time"
)

// Store is what the report reads from the dedicated store and the bridge's own state, for [from, to).
type Store interface {
	// Capture sums the download log per table.
	Capture(ctx context.Context, from, to time.Time) ([]CaptureLine, error)
	// Flow counts the outbox per unit and table (Stored, Removed, Published) and the rows held now (Held).
	Flow(ctx context.Context, from, to time.Time) ([]FlowLine, error)
	// Acknowledged counts per table the unit's events published in the period at offsets below committed.
	Acknowledged(ctx context.Context, unit string, committed map[int32]int64, from, to time.Time) (map[string]int64, error)
	// WorkOrders counts the registrations registered in the period, with the dictionary's labels.
	WorkOrders(ctx context.Context, from, to time.Time) ([]WorkOrderLine, error)
	// Clocks returns every time limit whose clock started in [since, to).
	Clocks(ctx context.Context, since, to time.Time) ([]Clock, error)
	// Findings runs the column checks over the rows stored in the period, and reads parking and quarantine.
	Findings(ctx context.Context, checks []Check, from, to, now time.Time) ([]Finding, error)
	// Reconciliation reads the runs started in the period and sums their findings that were not clean.
	Reconciliation(ctx context.Context, from, to time.Time) ([]ReconcileRun, []ReconcileResult, error)
}

// Groups reads a consumer group's committed offsets on a topic, by partition; a partition never committed is
// left out.
type Groups interface {
	Committed(ctx context.Context, group, topic string) (map[int32]int64, error)
}
