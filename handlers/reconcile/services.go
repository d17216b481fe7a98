package reconcile

import (
	"context"
	"time"
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
