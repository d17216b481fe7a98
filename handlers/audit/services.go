package audit

import (
	"context"
	"errors"
	"fmt"

	"hotline-bridge/events"
)

// Outbox holds the hops waiting for the audit topic. Apply runs fn in one transaction: what Done clears stays
// cleared only if fn succeeds.
type Outbox interface {
	Apply(ctx context.Context, fn func(OutboxTx) error) error
}

// OutboxTx is what relaying does inside one audit outbox transaction.
type OutboxTx interface {
	// Pending claims up to limit rows that no other relay holds.
	Pending(ctx context.Context, limit int) ([]Pending, error)
	// Done clears relayed rows.
	Done(ctx context.Context, seqs []int64) error
}

// Pending is one audit outbox row: the hops one transaction recorded, not yet named, as the JSON array the
// outbox holds. The relay passes them on without decoding them.
type Pending struct {
	Seq  int64
	Hops []byte
}

// Trail is the audit trail itself.
type Trail interface {
	// Record appends a record's hops; a hop already recorded (by its id) is kept once.
	Record(ctx context.Context, record events.HopRecord) error
}

// Query names what a journey is asked for: a registration by its number, with its whole family, or one row.
type Query struct {
	RegNo     string
	Table, ID string
}

// Validate asks for exactly one of a registration number or a table and id, of a known table.
func (q Query) Validate() error {
	switch {
	case q.RegNo != "" && (q.Table != "" || q.ID != ""):
		return errors.New("give either --reg-no or --table with --id, not both")
	case q.RegNo != "":
		return nil
	case q.Table == "" || q.ID == "":
		return errors.New("give --reg-no, or --table with --id")
	}
	if _, ok := events.KindByTable(q.Table); !ok {
		return fmt.Errorf("unknown table %q: one of the twelve record kinds, e.g. %s", q.Table, events.Registration)
	}
	return nil
}

func (q Query) String() string {
	if q.RegNo != "" {
		return "registration number " + q.RegNo + " and its family"
	}
	return q.Table + " " + q.ID
}
