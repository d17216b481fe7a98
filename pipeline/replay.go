package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/replay"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/pipeline/progress"
)

// ReplayOptions are bridge replay's flags.
type ReplayOptions struct {
	From   string
	Filter replay.Filter
	DryRun bool
	Submit bool // hand the job to the running bridges instead of running it here
	List   bool
	Pause  int64
	Resume int64
	// Progress is where the running job shows how far it is (bars on a terminal, plain lines elsewhere).
	Progress io.Writer
}

// ErrReplayFailed says the job ended failed; the command exits 1 with why.
var ErrReplayFailed = errors.New("replay job failed")

// newReplayRunner wires the sources: the store's outbox, the capture log re-sorted and the upstream re-sorted.
// upstream may be nil: then there is no --from upstream, and a re-sort from the capture log carries nothing
// along from the national platform.
func newReplayRunner(cfg Config, db *pgxpool.Pool, dedicated *postgres.Store, upstream *pgxpool.Pool, log *slog.Logger) (*replay.Runner, error) {
	units, err := cfg.units()
	if err != nil {
		return nil, err
	}
	// A re-sort from the capture log reads the upstream only for what a decision carries along (the family of a
	// work order that moved), as the live flow does.
	var carried sort.Upstream = noUpstream{}
	sorted := map[string]replay.Sorted{}
	if upstream != nil {
		source := postgres.NewUpstreamSource(upstream)
		carried = source
		sorted[replay.SourceUpstream] = replay.Sorted{Reader: postgres.NewUpstreamReplay(upstream), Sorter: sort.NewSorter(units, dedicated, source)}
	}
	sorted[replay.SourceCapture] = replay.Sorted{Reader: kafka.NewCaptureLog(cfg.KafkaBrokers, cfg.TopicPrefix), Sorter: sort.NewSorter(units, dedicated, carried)}
	rc := replay.Config{BatchSize: min(cfg.BatchSize, dedicated.BatchLimit()), RowsPerSecond: cfg.ReplayRowsPerS}
	return replay.NewRunner(rc, postgres.NewReplayJobs(db), postgres.NewStoreReplay(db, cfg.StoreSchema), sorted,
		postgres.NewLedgerUnits(db), log), nil
}

// noUpstream is the national platform when none is configured: it has nothing to carry along.
type noUpstream struct{}

func (noUpstream) Referencing(context.Context, string, string, []string) ([]events.RowVersion, error) {
	return nil, nil
}

// runHandedReplays runs the jobs handed to the bridges (bridge replay --submit), beside the live flow, looking
// every interval; one instance at a time runs one job at a time.
func runHandedReplays(ctx context.Context, log *slog.Logger, runner *replay.Runner, interval time.Duration) {
	for {
		if err := runner.RunHanded(ctx); err != nil && ctx.Err() == nil {
			log.Warn("replay job stopped; it resumes from its checkpoint when submitted again", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Replay is bridge replay: list, pause, resume, submit, count (--dry-run) or run a job here, with its progress.
func Replay(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts ReplayOptions) error {
	db, err := openDatabase(ctx, log, "store database", cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	jobs := postgres.NewReplayJobs(db)
	switch {
	case opts.List:
		return listReplays(ctx, jobs, out)
	case opts.Pause != 0:
		job, err := jobs.SetState(ctx, opts.Pause, replay.StatePaused, replay.StateSubmitted, replay.StateRunning)
		return printJobLine(out, job, err, "paused: it stops after its current step")
	}
	runner, closeRunner, err := openReplayRunner(ctx, cfg, db, log, opts.From)
	if err != nil {
		return err
	}
	defer closeRunner()
	if err := opts.Filter.Validate(replayUnits(cfg)); err != nil {
		return err
	}
	switch {
	case opts.DryRun:
		counts, err := runner.DryRun(ctx, opts.From, opts.Filter)
		if err != nil {
			return err
		}
		return printCounts(out, counts, "would send (dry run: nothing sent)")
	case opts.Submit && opts.Resume == 0:
		job, err := runner.Submit(ctx, opts.From, opts.Filter, true)
		return printJobLine(out, job, err, "submitted: a running bridge picks it up")
	case opts.Resume != 0:
		job, err := runner.Resume(ctx, opts.Resume, opts.Submit)
		if err != nil || opts.Submit {
			return printJobLine(out, job, err, "submitted again: a running bridge resumes it")
		}
		return runReplay(ctx, cfg, db, log, out, runner, job, opts.Progress)
	}
	job, resumed, err := runner.Prepare(ctx, opts.From, opts.Filter)
	if err != nil {
		return err
	}
	if resumed {
		fmt.Fprintf(out, "replay job %d: resuming from its checkpoint (%d of %d done)\n", job.ID, job.Done, job.Total)
	}
	return runReplay(ctx, cfg, db, log, out, runner, job, opts.Progress)
}

// openReplayRunner opens what the job's source needs: the dedicated store always, the upstream when configured.
func openReplayRunner(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger, from string) (*replay.Runner, func(), error) {
	if err := postgres.EnsureStore(ctx, db, cfg.StoreSchema); err != nil {
		return nil, nil, err
	}
	dedicated, _, err := openDedicated(ctx, cfg, db, log)
	if err != nil {
		return nil, nil, err
	}
	var upstream *pgxpool.Pool
	if cfg.UpstreamURL != "" {
		if upstream, err = openDatabase(ctx, log, "upstream database", cfg.UpstreamURL); err != nil {
			return nil, nil, err
		}
	} else if from == replay.SourceUpstream {
		return nil, nil, errors.New("--from upstream needs upstream_url (BRIDGE_UPSTREAM_URL)")
	}
	runner, err := newReplayRunner(cfg, db, dedicated, upstream, log)
	closeAll := func() {
		if upstream != nil {
			upstream.Close()
		}
	}
	if err != nil {
		closeAll()
	}
	return runner, closeAll, err
}

func replayUnits(cfg Config) []string {
	units, err := cfg.units()
	if err != nil {
		return nil
	}
	return append(units.Codes(), events.BroadcastUnit)
}

// runReplay runs the job here with a progress display, publishes what it wrote to the outbox (taking turns with a
// running bridge's forwarder), and prints how it ended.
func runReplay(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger, out io.Writer, runner *replay.Runner, job replay.Job, w io.Writer) error {
	var done, total atomic.Int64
	done.Store(job.Done)
	total.Store(job.Total)
	stage := progress.Stage{Name: "replayed " + unitOfProgress(job.Source), Done: done.Load, Total: total.Load}
	shown := progress.Show(ctx, w, []progress.Stage{stage}, progress.Options{})
	runner.OnStep = func(j replay.Job) {
		done.Store(j.Done)
		total.Store(max(j.Total, j.Done))
	}
	job, err := runner.Run(ctx, job.ID)
	shown.Stop()
	if err != nil {
		return err
	}
	if job.RowsSent > 0 {
		if err := publishRepairs(ctx, cfg, db, log); err != nil {
			return err
		}
	}
	if err := printJobLine(out, job, nil, ""); err != nil {
		return err
	}
	if err := printCounts(out, job.Counts, countsTitle(job.Source)); err != nil {
		return err
	}
	if job.State == replay.StateFailed {
		return fmt.Errorf("%w: job %d: %s", ErrReplayFailed, job.ID, job.Error)
	}
	return nil
}

func unitOfProgress(source string) string {
	if source == replay.SourceCapture {
		return "records"
	}
	return "rows"
}

func countsTitle(source string) string {
	if source == replay.SourceStore {
		return "sent"
	}
	return "re-sorted"
}

func printJobLine(out io.Writer, job replay.Job, err error, note string) error {
	if err != nil {
		return err
	}
	line := fmt.Sprintf("replay job %d (%s, %s): %s; %d of %d done, %d rows read, %d sent, %d rejected",
		job.ID, job.Source, describeFilter(job.Filter), job.State, job.Done, job.Total, job.RowsRead, job.RowsSent, job.Rejected)
	if job.Error != "" {
		line += "; error: " + job.Error
	}
	if note != "" {
		line += "; " + note
	}
	_, err = fmt.Fprintln(out, line)
	return err
}

// printCounts prints the counts by unit and table, then their sum.
func printCounts(out io.Writer, counts map[string]int64, title string) error {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "UNIT\tTABLE\t%s\n", strings.ToUpper(title))
	var sum int64
	for _, key := range slices.Sorted(maps.Keys(counts)) {
		unit, table, ok := strings.Cut(key, " ")
		if !ok {
			unit, table = "-", key
		}
		fmt.Fprintf(w, "%s\t%s\t%d\n", unit, table, counts[key])
		sum += counts[key]
	}
	fmt.Fprintf(w, "total\t\t%d\n", sum)
	return w.Flush()
}

func listReplays(ctx context.Context, jobs *postgres.ReplayJobs, out io.Writer) error {
	list, err := jobs.List(ctx, 50)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSOURCE\tSTATE\tHANDED\tDONE\tTOTAL\tREAD\tSENT\tREJECTED\tFILTER\tUPDATED")
	for _, j := range list {
		fmt.Fprintf(w, "%d\t%s\t%s\t%t\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", j.ID, j.Source, j.State, j.Handed, j.Done, j.Total,
			j.RowsRead, j.RowsSent, j.Rejected, describeFilter(j.Filter), j.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

// describeFilter is the filter as flags; codes, tables, times, ids and registration numbers only.
func describeFilter(f replay.Filter) string {
	var parts []string
	add := func(flag string, values []string) {
		if len(values) > 0 {
			parts = append(parts, flag+" "+strings.Join(values, ","))
		}
	}
	add("--unit", f.Units)
	add("--table", f.Tables)
	if f.Since != nil {
		parts = append(parts, "--since "+f.Since.Format(time.RFC3339))
	}
	if f.Until != nil {
		parts = append(parts, "--until "+f.Until.Format(time.RFC3339))
	}
	add("--ids", f.IDs)
	add("--reg-no", f.RegNos)
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, " ")
}
