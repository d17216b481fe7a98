package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"golang.org/x/time/rate"

	"hotline-bridge/events"
	"hotline-bridge/handlers/sort"
)

// ErrState says a job is not in a state the request can move it from.
var ErrState = errors.New("replay job is not in a state for that")

// Config tunes how a job runs.
type Config struct {
	BatchSize     int     // rows per step: per transaction of the store, per read of the upstream, per re-sort
	RowsPerSecond float64 // at most this many rows a second (0: no limit): the national platform is shared
}

// Runner runs replay jobs, one at a time across every instance.
type Runner struct {
	cfg     Config
	jobs    Jobs
	store   Republisher
	readers map[string]Reader   // by source: capture, upstream
	sorters map[string]Resorter // by source
	ledger  Ledger
	log     *slog.Logger
	// OnStep, when set, is told the job after each step it makes (a progress display).
	OnStep func(Job)
}

// Sorted is a source that re-sorts: where it reads and the sorter that decides what it read.
type Sorted struct {
	Reader Reader
	Sorter Resorter
}

// NewRunner runs jobs of the store through store, and of capture and upstream through sorted.
func NewRunner(cfg Config, jobs Jobs, store Republisher, sorted map[string]Sorted, ledger Ledger, log *slog.Logger) *Runner {
	r := &Runner{cfg: cfg, jobs: jobs, store: store, readers: map[string]Reader{}, sorters: map[string]Resorter{}, ledger: ledger, log: log}
	r.cfg.BatchSize = max(r.cfg.BatchSize, 1)
	for source, s := range sorted {
		r.readers[source], r.sorters[source] = s.Reader, s.Sorter
	}
	return r
}

// Submit records a new job: handed to the running bridges, or for the caller to run (state running).
func (r *Runner) Submit(ctx context.Context, source string, f Filter, handed bool) (Job, error) {
	if err := r.checkSource(source); err != nil {
		return Job{}, err
	}
	state := StateRunning
	if handed {
		state = StateSubmitted
	}
	return r.jobs.Create(ctx, Job{Source: source, Filter: f.Normalised(), Handed: handed, State: state})
}

// Prepare finds the unfinished job the same command started before, to resume it, or records a new one.
func (r *Runner) Prepare(ctx context.Context, source string, f Filter) (job Job, resumed bool, err error) {
	if err := r.checkSource(source); err != nil {
		return Job{}, false, err
	}
	job, found, err := r.jobs.Open(ctx, source, f.Normalised())
	if err != nil || found {
		return job, found, err
	}
	job, err = r.Submit(ctx, source, f, false)
	return job, false, err
}

func (r *Runner) checkSource(source string) error {
	if _, ok := r.readers[source]; ok || source == SourceStore {
		return nil
	}
	return fmt.Errorf("--from %q: want one of %v", source, Sources)
}

// Resume makes a paused or interrupted job runnable again; handed hands it to the running bridges.
func (r *Runner) Resume(ctx context.Context, id int64, handed bool) (Job, error) {
	to := StateRunning
	if handed {
		to = StateSubmitted
	}
	return r.jobs.SetState(ctx, id, to, StatePaused, StateRunning, StateSubmitted)
}

// Pause asks the job to stop after its current step.
func (r *Runner) Pause(ctx context.Context, id int64) (Job, error) {
	return r.jobs.SetState(ctx, id, StatePaused, StateSubmitted, StateRunning)
}

// Run runs the job now, waiting for a job running elsewhere to end first, and returns it as it ended: done,
// failed, or paused on request. A cancelled ctx leaves it running, to resume from its checkpoint.
func (r *Runner) Run(ctx context.Context, id int64) (job Job, err error) {
	_, lockErr := r.jobs.Exclusive(ctx, true, func(ctx context.Context) error {
		job, err = r.run(ctx, id)
		return nil
	})
	return job, errors.Join(lockErr, err)
}

// RunHanded runs the jobs handed to the bridges, oldest first, until none is left or another instance runs one;
// bridge run calls it every little while.
func (r *Runner) RunHanded(ctx context.Context) error {
	for {
		var ran bool
		_, err := r.jobs.Exclusive(ctx, false, func(ctx context.Context) error {
			job, found, err := r.jobs.NextHanded(ctx)
			if err != nil || !found {
				return err
			}
			ran = true
			r.log.Info("replay job started", "job", job.ID, "source", job.Source)
			job, err = r.run(ctx, job.ID)
			if err == nil {
				r.log.Info("replay job ended", "job", job.ID, "state", job.State, "rows_sent", job.RowsSent)
			}
			return err
		})
		if err != nil || !ran {
			return err
		}
	}
}

func (r *Runner) run(ctx context.Context, id int64) (Job, error) {
	job, err := r.jobs.Get(ctx, id)
	if err != nil || job.State != StateRunning && job.State != StateSubmitted {
		return job, err // finished or paused while this instance waited for the lock
	}
	if job.Checkpoint == nil {
		if job.Total, err = r.total(ctx, job); err != nil {
			return job, r.fail(ctx, job, err)
		}
	}
	if job, err = r.jobs.Start(ctx, id, job.Total); err != nil {
		return job, err
	}
	step, closeStep, err := r.stepper(ctx, job)
	if err != nil {
		return job, r.fail(ctx, job, err)
	}
	defer closeStep()
	return r.loop(ctx, job, step)
}

func (r *Runner) total(ctx context.Context, job Job) (int64, error) {
	if job.Source == SourceStore {
		return r.store.Total(ctx, job.Filter)
	}
	return r.readers[job.Source].Total(ctx, job.Filter)
}

func (r *Runner) loop(ctx context.Context, job Job, step func(context.Context, Job) (Step, string, error)) (Job, error) {
	limiter := rate.NewLimiter(rate.Inf, r.cfg.BatchSize)
	if r.cfg.RowsPerSecond > 0 {
		limiter = rate.NewLimiter(rate.Limit(r.cfg.RowsPerSecond), r.cfg.BatchSize)
	}
	for {
		s, state, err := step(ctx, job)
		if ctx.Err() != nil {
			return job, ctx.Err() // left running: the checkpoint says where it resumes
		}
		if err != nil {
			return job, r.fail(ctx, job, err)
		}
		job.add(s)
		job.State = state
		if r.OnStep != nil {
			r.OnStep(job)
		}
		if state != StateRunning && state != StateSubmitted {
			return job, nil // paused (or changed by hand) meanwhile
		}
		if s.Last {
			job.State = StateDone
			return job, r.jobs.Finish(ctx, job.ID, nil)
		}
		if err := limiter.WaitN(ctx, int(min(s.Read, int64(r.cfg.BatchSize)))); err != nil && ctx.Err() != nil {
			return job, ctx.Err()
		}
	}
}

// fail records the job as failed with its error, and returns the error.
func (r *Runner) fail(ctx context.Context, job Job, err error) error {
	err = fmt.Errorf("replay job %d: %w", job.ID, err)
	return errors.Join(err, r.jobs.Finish(context.WithoutCancel(ctx), job.ID, err))
}

// stepper returns what does one step of the job.
func (r *Runner) stepper(ctx context.Context, job Job) (func(context.Context, Job) (Step, string, error), func(), error) {
	if job.Source == SourceStore {
		return func(ctx context.Context, job Job) (Step, string, error) {
			return r.store.Republish(ctx, job, r.cfg.BatchSize)
		}, func() {}, nil
	}
	cursor, err := r.readers[job.Source].Open(ctx, job.Filter, job.Checkpoint)
	if err != nil {
		return nil, nil, err
	}
	from := map[string]string{SourceCapture: events.ViaReplayCapture, SourceUpstream: events.ViaReplayUpstream}[job.Source]
	return func(ctx context.Context, job Job) (Step, string, error) {
		s, err := r.resort(ctx, job, cursor, from)
		if err != nil {
			return s, "", err
		}
		state, err := r.jobs.Advance(ctx, job.ID, s)
		return s, state, err
	}, cursor.Close, nil
}

// resort reads the next batch and decides it again.
func (r *Runner) resort(ctx context.Context, job Job, cursor Cursor, from string) (Step, error) {
	b, err := cursor.Next(ctx, r.cfg.BatchSize)
	if err != nil {
		return Step{}, err
	}
	rows, _, err := r.inUnits(ctx, job.Filter, b.Rows)
	if err != nil {
		return Step{}, err
	}
	s := Step{Checkpoint: b.Checkpoint, Done: b.Done, Read: int64(len(rows)), Last: b.Last, Counts: map[string]int64{}}
	if len(rows) == 0 {
		return s, nil
	}
	rejected, err := r.sorters[job.Source].Replay(ctx, rows, from)
	if err != nil {
		return Step{}, err
	}
	s.Sent, s.Rejected = int64(len(rows)-len(rejected)), int64(len(rejected))
	for _, v := range rows {
		s.Counts[v.Table]++
	}
	return s, nil
}

// inUnits keeps the rows the ledger places in one of the filter's units (all of them without --unit), and says
// where each is.
func (r *Runner) inUnits(ctx context.Context, f Filter, rows []events.RowVersion) ([]events.RowVersion, map[sort.Ref]string, error) {
	if len(rows) == 0 {
		return rows, nil, nil
	}
	refs := make([]sort.Ref, len(rows))
	for i, v := range rows {
		refs[i] = sort.Ref{Table: v.Table, ID: v.ID}
	}
	units, err := r.ledger.Units(ctx, refs)
	if err != nil || len(f.Units) == 0 {
		return rows, units, err
	}
	kept := rows[:0:0]
	for _, v := range rows {
		if slices.Contains(f.Units, units[sort.Ref{Table: v.Table, ID: v.ID}]) {
			kept = append(kept, v)
		}
	}
	return kept, units, nil
}

// DryRun counts what a job would send: by unit and table the rows the store holds, or the row versions the
// capture log or the upstream would re-sort, by the unit the ledger places them in now ("-": none).
func (r *Runner) DryRun(ctx context.Context, source string, f Filter) (map[string]int64, error) {
	if err := r.checkSource(source); err != nil {
		return nil, err
	}
	f = f.Normalised()
	if source == SourceStore {
		return r.store.Counts(ctx, f)
	}
	cursor, err := r.readers[source].Open(ctx, f, nil)
	if err != nil {
		return nil, err
	}
	defer cursor.Close()
	counts := map[string]int64{}
	for {
		b, err := cursor.Next(ctx, r.cfg.BatchSize)
		if err != nil {
			return nil, err
		}
		rows, units, err := r.inUnits(ctx, f, b.Rows)
		if err != nil {
			return nil, err
		}
		for _, v := range rows {
			counts[CountKey(units[sort.Ref{Table: v.Table, ID: v.ID}], v.Table)]++
		}
		if b.Last {
			return counts, nil
		}
	}
}
