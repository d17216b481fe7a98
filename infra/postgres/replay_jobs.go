package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/handlers/replay"
)

// ReplayJobs is bridge.replay_job, and the lock that lets one replay run at a time across instances.
type ReplayJobs struct{ db *pgxpool.Pool }

var _ replay.Jobs = (*ReplayJobs)(nil)

// NewReplayJobs keeps jobs in db, the bridge's own database.
func NewReplayJobs(db *pgxpool.Pool) *ReplayJobs { return &ReplayJobs{db: db} }

const replayLock = `hashtext('hotline-bridge replay')`

// Exclusive holds the replay lock, a session advisory lock, while fn runs.
func (j *ReplayJobs) Exclusive(ctx context.Context, wait bool, fn func(context.Context) error) (bool, error) {
	return exclusive(ctx, j.db, "replay", replayLock, wait, fn)
}

const jobColumns = `id, source, filter, handed, state, checkpoint, coalesce(total, 0), done, rows_read, rows_sent,
	rejected, counts, coalesce(error, ''), created_at, started_at, updated_at, finished_at`

func scanJob(row pgx.Row) (replay.Job, error) {
	var job replay.Job
	var filter, checkpoint, counts []byte
	err := row.Scan(&job.ID, &job.Source, &filter, &job.Handed, &job.State, &checkpoint, &job.Total, &job.Done,
		&job.RowsRead, &job.RowsSent, &job.Rejected, &counts, &job.Error, &job.CreatedAt, &job.StartedAt, &job.UpdatedAt, &job.FinishedAt)
	if err != nil {
		return job, err
	}
	if checkpoint != nil {
		job.Checkpoint = checkpoint
	}
	return job, errors.Join(json.Unmarshal(filter, &job.Filter), json.Unmarshal(counts, &job.Counts))
}

// Create records a job.
func (j *ReplayJobs) Create(ctx context.Context, job replay.Job) (replay.Job, error) {
	filter, err := json.Marshal(job.Filter)
	if err != nil {
		return job, err
	}
	created, err := scanJob(j.db.QueryRow(ctx, `INSERT INTO bridge.replay_job (source, filter, handed, state)
		VALUES ($1, $2, $3, $4) RETURNING `+jobColumns, job.Source, filter, job.Handed, job.State))
	if err != nil {
		return job, fmt.Errorf("record a replay job: %w", err)
	}
	return created, nil
}

// Open finds the newest unfinished job of this source and filter.
func (j *ReplayJobs) Open(ctx context.Context, source string, f replay.Filter) (replay.Job, bool, error) {
	filter, err := json.Marshal(f)
	if err != nil {
		return replay.Job{}, false, err
	}
	job, err := scanJob(j.db.QueryRow(ctx, `SELECT `+jobColumns+` FROM bridge.replay_job
		WHERE source = $1 AND filter = $2::jsonb AND state IN ('submitted', 'running', 'paused') ORDER BY id DESC LIMIT 1`, source, filter))
	if errors.Is(err, pgx.ErrNoRows) {
		return job, false, nil
	}
	if err != nil {
		return job, false, fmt.Errorf("look for an unfinished replay job: %w", err)
	}
	return job, true, nil
}

// Get reads one job.
func (j *ReplayJobs) Get(ctx context.Context, id int64) (replay.Job, error) {
	job, err := scanJob(j.db.QueryRow(ctx, `SELECT `+jobColumns+` FROM bridge.replay_job WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return job, fmt.Errorf("replay job %d: no such job", id)
	}
	if err != nil {
		return job, fmt.Errorf("read replay job %d: %w", id, err)
	}
	return job, nil
}

// List is the newest jobs first.
func (j *ReplayJobs) List(ctx context.Context, limit int) ([]replay.Job, error) {
	rows, err := j.db.Query(ctx, `SELECT `+jobColumns+` FROM bridge.replay_job ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list replay jobs: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (replay.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("list replay jobs: %w", err)
	}
	return jobs, nil
}

// NextHanded is the oldest handed job that is submitted, or was running when its instance stopped (the caller
// holds the replay lock, so nobody runs it now).
func (j *ReplayJobs) NextHanded(ctx context.Context) (replay.Job, bool, error) {
	job, err := scanJob(j.db.QueryRow(ctx, `SELECT `+jobColumns+` FROM bridge.replay_job
		WHERE handed AND state IN ('submitted', 'running') ORDER BY id LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return job, false, nil
	}
	if err != nil {
		return job, false, fmt.Errorf("look for a submitted replay job: %w", err)
	}
	return job, true, nil
}

// Start marks the job running; a pause that came first wins.
func (j *ReplayJobs) Start(ctx context.Context, id, total int64) (replay.Job, error) {
	job, err := scanJob(j.db.QueryRow(ctx, `UPDATE bridge.replay_job SET
			state = CASE WHEN state = 'paused' THEN state ELSE 'running' END,
			total = coalesce(total, $2), started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
		WHERE id = $1 RETURNING `+jobColumns, id, total))
	if err != nil {
		return job, fmt.Errorf("start replay job %d: %w", id, err)
	}
	return job, nil
}

// Advance records a step of a job that re-sorts.
func (j *ReplayJobs) Advance(ctx context.Context, id int64, s replay.Step) (string, error) {
	return advance(ctx, j.db, id, s)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// advance adds a step's counts to the job and moves its checkpoint; it returns the job's state.
func advance(ctx context.Context, q querier, id int64, s replay.Step) (string, error) {
	counts, err := json.Marshal(s.Counts)
	if err != nil {
		return "", err
	}
	var state string
	err = q.QueryRow(ctx, `UPDATE bridge.replay_job j SET checkpoint = $2, done = done + $3, rows_read = rows_read + $4,
			rows_sent = rows_sent + $5, rejected = rejected + $6, updated_at = clock_timestamp(),
			counts = (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM (
				SELECT k, sum(v::bigint) AS v FROM (
					SELECT key AS k, value::text AS v FROM jsonb_each(j.counts)
					UNION ALL SELECT key, value::text FROM jsonb_each(coalesce($7::jsonb, '{}'))) c GROUP BY k) s)
		WHERE id = $1 RETURNING state`, id, []byte(s.Checkpoint), s.Done, s.Read, s.Sent, s.Rejected, counts).Scan(&state)
	if err != nil {
		return "", fmt.Errorf("record the checkpoint of replay job %d: %w", id, err)
	}
	return state, nil
}

// Finish records the job done, or failed with its error.
func (j *ReplayJobs) Finish(ctx context.Context, id int64, failure error) error {
	state, errText := replay.StateDone, (*string)(nil)
	if failure != nil {
		state, errText = replay.StateFailed, new(failure.Error())
	}
	_, err := j.db.Exec(ctx, `UPDATE bridge.replay_job SET state = $2, error = $3, finished_at = clock_timestamp(),
		updated_at = clock_timestamp() WHERE id = $1`, id, state, errText)
	if err != nil {
		return fmt.Errorf("record the end of replay job %d: %w", id, err)
	}
	return nil
}

// SetState moves a job from one of the states from to state to.
func (j *ReplayJobs) SetState(ctx context.Context, id int64, to string, from ...string) (replay.Job, error) {
	job, err := scanJob(j.db.QueryRow(ctx, `UPDATE bridge.replay_job SET state = $2, updated_at = clock_timestamp()
		WHERE id = $1 AND state = ANY($3) RETURNING `+jobColumns, id, to, from))
	if !errors.Is(err, pgx.ErrNoRows) {
		return job, wrapNonNil(fmt.Sprintf("set replay job %d %s", id, to), err)
	}
	if job, err = j.Get(ctx, id); err != nil {
		return job, err
	}
	return job, fmt.Errorf("%w: job %d is %s, not %v", replay.ErrState, id, job.State, from)
}
