package reconcile

import (
	"context"
	"time"

	"hotline-bridge/events"
)

// Check is one kind of reconciliation. Run reports every finding through report, repairing what it can unless
// opts.DryRun; an error means the check could not look at everything (what it found so far is still reported).
type Check interface {
	Name() string
	Run(ctx context.Context, opts Options, report func(Finding)) error
}

// Options are what a run asks of its checks.
type Options struct {
	Run    int64 // the run's id, which names the fresh events a repair writes
	DryRun bool
}

// Runs is where runs are serialised and recorded (bridge.reconcile_run and bridge.reconcile_finding).
type Runs interface {
	// Exclusive runs fn holding the reconciliation lock, which one instance at a time holds. With wait false it
	// returns false at once when another instance holds it.
	Exclusive(ctx context.Context, wait bool, fn func(context.Context) error) (ran bool, err error)
	// LastRepairing is when the last run that could repair (not a dry run) started; zero if none did.
	LastRepairing(ctx context.Context) (time.Time, error)
	Begin(ctx context.Context, r Run) (id int64, err error)
	// Finish records the run's findings and outcome; failure is the error that stopped it, if any.
	Finish(ctx context.Context, id int64, report Report, failure error) error
}

// Run is a run as it starts.
type Run struct {
	Trigger string // TriggerSchedule or TriggerCommand
	Checks  []string
	DryRun  bool
}

// Triggers of a run.
const (
	TriggerSchedule = "schedule"
	TriggerCommand  = "command"
)

// Outbox is the distribution outbox as the delivery check reads and repairs it.
type Outbox interface {
	// Latest calls fn with the latest event of every row the unit's topic ever carried.
	Latest(ctx context.Context, unit string, fn func(Event) error) error
	// Rewinds are the unit's published events recorded at an offset no higher than the event published just
	// before them on their partition, by partition.
	Rewinds(ctx context.Context, unit string) (map[int32][]Rewind, error)
	// Resend writes a fresh event (a new seq, so a new ce_id) with the content of each of these events, in their
	// order, holding each row's sorting lock so that no newer version can be overtaken; an event that is no
	// longer its row's latest in its unit is skipped (the newer one is on its way). It returns how many it wrote.
	Resend(ctx context.Context, run int64, seqs []int64) (int, error)
}

// Broker is the unit topics and the district consumer groups as the broker has them now.
type Broker interface {
	// Partitions is each partition's span; exists is false when the topic is missing.
	Partitions(ctx context.Context, topic string) (spans map[int32]Span, exists bool, err error)
	// Committed is the group's committed offset on each of these partitions; a partition it never committed on
	// is absent.
	Committed(ctx context.Context, group, topic string, partitions []int32) (map[int32]int64, error)
	// CreateTopic creates a missing topic as the bridge creates its topics at start.
	CreateTopic(ctx context.Context, topic string) error
}

// Upstream is the national platform as the source check reads it: keyset batches over the (update_time, id)
// index, each row named by its digest (the event id capture gives its version), never its content, except for
// the rows to re-sort.
type Upstream interface {
	// Summarize counts at most limit rows of the window after after, in (update_time, id) order, and sums their
	// digests; last is the last row counted.
	Summarize(ctx context.Context, table string, w Window, after Key, limit int) (s Summary, last Key, err error)
	// Keys are at most limit rows of the window after after, in (update_time, id) order.
	Keys(ctx context.Context, table string, w Window, after Key, limit int) ([]Key, error)
	// Families are at most limit rows of the window after after, in (update_time, id) order, each with the work
	// order it names: for kinds that follow their work order (events.Kind.FollowsWorkOrder).
	Families(ctx context.Context, table string, w Window, after Key, limit int) ([]Member, error)
	// Digests are the current versions of these rows, by id; a row the upstream no longer has is absent.
	Digests(ctx context.Context, table string, ids []string) (map[string]Key, error)
	// Current are these rows as the upstream holds them now; a row it no longer has is absent.
	Current(ctx context.Context, table string, ids []string) ([]events.RowVersion, error)
}

// Ledger is what the bridge knows of the national rows: the sorter's ledger (the newest version seen of every
// row, and where the store holds it) and the dedicated store.
type Ledger interface {
	// Watermark is how far capture has durably read the table; ok is false before its first page.
	Watermark(ctx context.Context, table string) (at time.Time, ok bool, err error)
	// Pruned says the ledger pruning took entries of the table from the window: the ledger no longer knows
	// every national row there.
	Pruned(ctx context.Context, table string, w Window) (bool, error)
	Summarize(ctx context.Context, table string, w Window) (Summary, error)
	// Keys are at most limit entries of the window after after, in (update_time, id) order; with kept, only
	// those pruning never takes (rows the store holds, rows waiting for their parent).
	Keys(ctx context.Context, table string, w Window, after Key, limit int, kept bool) ([]Entry, error)
	// StoreGaps are the entries of the window, at most limit after the id after, where the ledger and the store
	// disagree: a row the ledger places in a unit that the store does not hold there at that version, or a row
	// the store holds that the ledger does not place there.
	StoreGaps(ctx context.Context, table string, w Window, after string, limit int) ([]Entry, error)
	// Units counts the window's rows the store holds, by unit.
	Units(ctx context.Context, table string, w Window) (map[string]int64, error)
	// Placements are the units the ledger places these rows in; rows it places nowhere are absent.
	Placements(ctx context.Context, table string, ids []string) (map[string]string, error)
	// Versions are the ledger's entries of these rows, by id, wherever their update_time; rows it does not know
	// are absent.
	Versions(ctx context.Context, table string, ids []string) (map[string]Entry, error)
	// Quarantined says which of these row versions (by event id) are set aside as bad.
	Quarantined(ctx context.Context, eventIDs []string) (map[string]bool, error)
}

// Healer re-captures what the source check found different, through the sorter's locks, gate and writes.
type Healer interface {
	// Resort decides these rows again as the upstream holds them now; their content wins under an unchanged
	// update_time, and they are written to the store and their unit even when the ledger had that version.
	Resort(ctx context.Context, rows []events.RowVersion) error
	// Forget takes rows the upstream deleted out of the store (their units get removed events) and the ledger,
	// each only while the ledger still holds the version given.
	Forget(ctx context.Context, table string, rows []Entry) error
}

// Pace bounds how fast the source check reads the upstream: the national platform is shared.
// golang.org/x/time/rate's Limiter is one.
type Pace interface {
	WaitN(ctx context.Context, n int) error
}
