package sort

import (
	"context"
	"errors"
	"strconv"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/handlers/jurisdiction"
)

// Store is the dedicated store plus the bridge's sorting state. Apply runs fn in one transaction: the decisions
// of a batch, the store writes, the ledger and the distribution events commit together or not at all.
type Store interface {
	Apply(ctx context.Context, fn func(Tx) error) error
	// BatchLimit is how many rows one transaction may decide; larger batches are decided in parts.
	BatchLimit() int
}

// Tx is what sorting a batch does inside one store transaction: a few reads for the whole batch, then one Write.
type Tx interface {
	// Lock serialises decisions about these rows, whether or not they exist yet, until the transaction ends;
	// Share takes shared locks on rows another decision may lock exclusively (the organisations on the paths a
	// batch walks, so that an organisation being moved is waited for instead of read half-way). The locks asked
	// for before a read are taken together in one fixed global order, so two batches locking at once never
	// deadlock; locks a batch takes later (rows it carries along) can, so the store waits for those only briefly
	// and fails the transaction with ErrConflict, and the batch is decided again.
	Lock(ctx context.Context, rows []Ref) error
	Share(ctx context.Context, rows []Ref) error
	// LockTree serialises the batches that decide organisations: they change the tree every other batch walks.
	LockTree(ctx context.Context) error

	// Ledger returns what the ledger knows of these rows; a row it has never recorded is absent.
	Ledger(ctx context.Context, rows []Ref) (map[Ref]Entry, error)
	// TreeVersion is the version of the committed organisation tree; Tree reads the whole tree and its version.
	TreeVersion(ctx context.Context) (int64, error)
	Tree(ctx context.Context) (int64, []jurisdiction.Org, error)
	// Parked returns the row versions waiting for these parents.
	Parked(ctx context.Context, waiting []Ref) ([]events.RowVersion, error)

	// Write applies everything the batch decided, in a few multi-row statements. A value the store's column
	// types refuse fails it with *UnstorableError naming every row at fault; the transaction is then unusable
	// and the batch is decided again without them.
	Write(ctx context.Context, w *Writes) (Written, error)
}

// Written is what the store made of a batch's Writes.
type Written struct {
	TreeVersion int64          // the tree's new version, when Writes changed it
	Quarantined map[string]int // rows newly set aside, by table: one set aside before is not counted again
}

// Upstream re-reads current rows from the national platform, to bring in a family that moved into a unit.
type Upstream interface {
	// Referencing returns the current rows of table whose column holds one of ids.
	Referencing(ctx context.Context, table, column string, ids []string) ([]events.RowVersion, error)
}

// Ref names one row of one kind; a parked row's Ref names what it waits for.
type Ref = jurisdiction.Dependency

// Placement is where a stored row is: its unit, and the Kafka key its events in that unit carry. The key stays
// the same as long as the row stays in the unit, so all of a row's events there share one partition and order.
type Placement struct {
	Unit string
	Key  string
}

// Entry is the ledger's record of a row: its newest version seen and the verdict on it.
type Entry struct {
	UpdateTime time.Time
	Digest     string // the version's event id: two contents under one update_time differ in it
	Decided    bool   // false while the version is parked
	Placement         // where the store holds the row; the zero Placement when it does not
	// Reconciled marks a version source reconciliation found current upstream (or a row it found deleted
	// there): under the same update_time only another re-read replaces it, so a replayed older content whose
	// digest happens to be greater cannot win back.
	Reconciled bool
}

// DigestDeletedUpstream is the digest of a ledger entry for a row the upstream deleted outright: no content has
// it, and the entry keeps a late or replayed copy of the deleted version from coming back.
const DigestDeletedUpstream = "deleted upstream"

// Writes is everything one batch decided, collapsed to one change per row where the tables hold one state per
// row; events, removals and quarantine records keep every occurrence, in order.
type Writes struct {
	Ledger     []LedgerRow
	Rows       []StoreRow // upserts and deletes of the dedicated store
	Events     []Event    // distribution events, in outbox order
	Removals   []Removal
	Park       []ParkRow
	Unpark     []UnparkRow
	Quarantine []QuarantineRow
	Orgs       []jurisdiction.Org // organisations new or changed in the tree
	Hops       []events.Hop       // the audit trail's hops of the batch, in order, for the audit outbox
}

// LedgerRow is a ledger entry to write.
type LedgerRow struct {
	Ref
	Entry
}

// StoreRow is the final state of a row of the dedicated store: Payload stored under Unit, or Delete.
type StoreRow struct {
	Ref
	EventID    string // of the version stored, to name it when the store refuses it
	Delete     bool
	Unit       string
	UpdateTime time.Time
	Payload    []byte
}

// Event is a distribution event for the outbox. Scope names the change; the outbox sequence number completes it
// into the ce_id.
type Event struct {
	Scope   string
	Unit    string
	Type    string // "<table>.<event type>"
	Table   string
	RowID   string
	Key     string
	RowTime time.Time
	Payload []byte
	// TraceParent is the W3C trace context of the store transaction that created the event, kept with it in the
	// outbox so that its publish continues the row version's trace; empty when tracing is off.
	TraceParent string
}

// Removal records that a row left a unit.
type Removal struct {
	Ref
	Unit       string
	UpdateTime time.Time
}

// ParkRow keeps the newest version of a row whose parent has not arrived; UnparkRow forgets parked versions up
// to UpTo once a version at least as new is decided.
type ParkRow struct {
	Version events.RowVersion
	Waiting Ref
}

// UnparkRow is a parked row to forget.
type UnparkRow struct {
	Ref
	UpTo time.Time
}

// QuarantineRow sets a row version aside with its reason.
type QuarantineRow struct {
	Version events.RowVersion
	Reason  string
}

// ErrConflict marks a transaction the store aborted to resolve a conflict with another one (a deadlock between
// batches that lock rows they carry along): deciding the batch again succeeds, so it is not a failure to report.
var ErrConflict = errors.New("transaction aborted by a conflict with another")

// UnstorableError names the rows of a batch whose values the store refuses, with each reason.
type UnstorableError struct {
	Reasons map[string]string // by event id of the row version
}

func (e *UnstorableError) Error() string {
	return "values the store's column types refuse in " + strconv.Itoa(len(e.Reasons)) + " rows"
}
