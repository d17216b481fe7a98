package replay

import (
	"encoding/json"
	"time"
)

// Job states: wire names, kept in bridge.replay_job.
const (
	StateSubmitted = "submitted" // handed to the running bridges, not picked up yet
	StateRunning   = "running"   // being run, or its process died while running it: it resumes from its checkpoint
	StatePaused    = "paused"    // stopped on request after a step; --resume runs it on
	StateDone      = "done"
	StateFailed    = "failed"
)

// Finished tells whether a job in this state is over.
func Finished(state string) bool { return state == StateDone || state == StateFailed }

// Job is one replay: what it selects, from where, and how far it got.
type Job struct {
	ID         int64
	Source     string
	Filter     Filter
	Handed     bool // run by a bridge instance (bridge replay --submit), not by the command
	State      string
	Checkpoint json.RawMessage // nil before its first step
	Total      int64           // how much the source held for the filter at the start (0: not known yet)
	Done       int64           // how much of Total the job went through
	RowsRead   int64
	RowsSent   int64
	Rejected   int64
	Counts     map[string]int64
	Error      string
	CreatedAt  time.Time
	StartedAt  *time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Step is what one step of a job did, and where the job resumes after it.
type Step struct {
	Checkpoint json.RawMessage
	Done       int64 // progress, in the unit Total counts (rows; records of the capture log)
	Read       int64 // row versions selected
	Sent       int64 // re-sent (store) or re-sorted (capture, upstream)
	Rejected   int64
	Counts     map[string]int64
	Last       bool // the job has nothing left
}

func (j *Job) add(s Step) {
	j.Checkpoint = s.Checkpoint
	j.Done, j.RowsRead, j.RowsSent, j.Rejected = j.Done+s.Done, j.RowsRead+s.Read, j.RowsSent+s.Sent, j.Rejected+s.Rejected
	if j.Counts == nil {
		j.Counts = map[string]int64{}
	}
	for k, n := range s.Counts {
		j.Counts[k] += n
	}
}

// CountKey names a count by unit and table; unit is "-" where a row is in no unit.
func CountKey(unit, table string) string {
	if unit == "" {
		unit = "-"
	}
	return unit + " " + table
}
