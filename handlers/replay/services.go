package replay

import (
	"context"
	"encoding/json"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// Jobs is bridge.replay_job. Exclusive runs fn holding the one replay lock across every instance: one job at a
// time runs anywhere, and a job in state running whose holder died is free to resume.
type Jobs interface {
	Exclusive(ctx context.Context, wait bool, fn func(context.Context) error) (ran bool, err error)
	Create(ctx context.Context, j Job) (Job, error)
	// Open finds the unfinished job a command with this source and filter started before, if any.
	Open(ctx context.Context, source string, f Filter) (Job, bool, error)
	Get(ctx context.Context, id int64) (Job, error)
	List(ctx context.Context, limit int) ([]Job, error)
	// NextHanded is the oldest job handed to the bridges that is submitted or was running.
	NextHanded(ctx context.Context) (Job, bool, error)
	// Start marks the job running, recording total unless it has one.
	Start(ctx context.Context, id, total int64) (Job, error)
	// Advance records a step: its checkpoint and counts. It returns the job's state, which a --pause may have
	// changed meanwhile.
	Advance(ctx context.Context, id int64, s Step) (state string, err error)
	Finish(ctx context.Context, id int64, failure error) error
	// SetState moves a job in one of the states from to state to, and returns it; ErrState if it is not in one.
	SetState(ctx context.Context, id int64, to string, from ...string) (Job, error)
}

// Republisher re-sends what the dedicated store holds. Republish does one step of a job: the next rows after its
// checkpoint, their latest events copied as fresh ones under the sorter's row locks, and the job advanced, all in
// one transaction — so a job resumed after a crash re-sends no row twice.
type Republisher interface {
	Total(ctx context.Context, f Filter) (int64, error)
	Counts(ctx context.Context, f Filter) (map[string]int64, error)
	Republish(ctx context.Context, job Job, limit int) (Step, string, error)
}

// Reader is a source of row versions to re-sort: the capture log, or the upstream.
type Reader interface {
	// Total is how much there is to go through, in the unit Batch.Done counts.
	Total(ctx context.Context, f Filter) (int64, error)
	Open(ctx context.Context, f Filter, checkpoint json.RawMessage) (Cursor, error)
}

// Cursor walks a Reader from a checkpoint.
type Cursor interface {
	// Next reads up to about limit row versions the filter selects (the unit aside).
	Next(ctx context.Context, limit int) (Batch, error)
	Close()
}

// Batch is what a cursor read, and the checkpoint after it.
type Batch struct {
	Rows       []events.RowVersion
	Checkpoint json.RawMessage
	Done       int64
	Last       bool
}

// Resorter is the sorter deciding versions again (sort.Sorter.Replay).
type Resorter interface {
	Replay(ctx context.Context, rows []events.RowVersion, from string) ([]sort.Rejected, error)
}

// Ledger says which unit the sorter's ledger places rows in now ("" when none), for --unit.
type Ledger interface {
	Units(ctx context.Context, rows []sort.Ref) (map[sort.Ref]string, error)
}
