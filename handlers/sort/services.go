package sort

import (
	"context"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// Store is the dedicated store plus the bridge's sorting state. Apply runs fn in one transaction: the decision,
// the store write, the ledger and the distribution events commit together or not at all.
type Store interface {
	Apply(ctx context.Context, fn func(Tx) error) error
}

// Tx is what sorting does inside one store transaction.
type Tx interface {
	// Lock serialises decisions about these rows, whether or not they exist yet, until the transaction ends.
	// Each row is locked after its registration, so two single-row decisions never deadlock; transactions that
	// decide many rows (family moves, sweeps) can, and PostgreSQL then aborts one, which is retried.
	Lock(ctx context.Context, rows ...jurisdiction.Dependency) error
	// Share takes shared locks on rows another decision may lock exclusively: the organisations on the path a
	// decision walks, so that an organisation being moved is waited for instead of read half-way.
	Share(ctx context.Context, rows ...jurisdiction.Dependency) error
	// Claim reports whether to process v: false for an older version or,
	// unless again is set, the same one (a duplicate delivery). It returns what the ledger knew.
	Claim(ctx context.Context, v events.RowVersion, again bool) (Previous, bool, error)
	// Stored is where the dedicated store holds the row; the zero Placement when it does not hold it.
	Stored(ctx context.Context, table, id string) (Placement, error)
	// Decided records v as the row's newest version in the ledger, with its verdict and the unit the store holds
	// the row under (a parked version leaves the row where its previous version is).
	Decided(ctx context.Context, v events.RowVersion, decided bool, at Placement) error

	SaveOrg(ctx context.Context, org jurisdiction.Org) (moved bool, err error)
	// Ancestors returns the known organisations on the path from id to the root.
	Ancestors(ctx context.Context, id string) (map[string]jurisdiction.Org, error)
	// Descendants returns the ids of every organisation below id.
	Descendants(ctx context.Context, id string) ([]string, error)
	// RegistrationUnit is the unit a registration was decided into; known is false until it is decided.
	RegistrationUnit(ctx context.Context, id string) (unit string, known bool, err error)

	// Put stores a Wuhan row version at to (newer wins) and emits its distribution events; a row that was
	// stored in another unit (from) leaves it with a removed event.
	Put(ctx context.Context, kind events.Kind, v events.RowVersion, row map[string]any, to, from Placement) error
	// Remove takes a row that is no longer Wuhan's out of the store, recording the removal and its event.
	Remove(ctx context.Context, kind events.Kind, v events.RowVersion, from Placement) error

	Park(ctx context.Context, v events.RowVersion, waiting jurisdiction.Dependency) error
	Unpark(ctx context.Context, table, id string, upTo time.Time) error
	// Parked returns the row versions waiting for a parent.
	Parked(ctx context.Context, waiting jurisdiction.Dependency) ([]events.RowVersion, error)
	Quarantine(ctx context.Context, v events.RowVersion, reason string) error
}

// Upstream re-reads current rows from the national platform, to bring in a family that moved into a unit.
type Upstream interface {
	// Referencing returns the current rows of table whose column holds one of ids.
	Referencing(ctx context.Context, table, column string, ids []string) ([]events.RowVersion, error)
}

// Placement is where a stored row is: its unit, and the Kafka key its events in that unit carry. The key stays
// the same as long as the row stays in the unit, so all of a row's events there share one partition and order.
type Placement struct {
	Unit string
	Key  string
}
