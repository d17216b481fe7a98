package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/time/rate"

	"hotline-bridge/events"
	"hotline-bridge/handlers/distribute"
	"hotline-bridge/handlers/reconcile"
	"hotline-bridge/handlers/sort"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// ReconcileOptions are bridge reconcile's flags.
type ReconcileOptions struct {
	Once, DryRun, JSON bool
	Only               []string // check names; empty = all
}

// ErrUnrepaired says a run left something missing; the command exits 1 with what and why.
var ErrUnrepaired = errors.New("reconciliation could not repair everything")

// sourceSide is what the source check needs beyond the store: the upstream and the sorter that heals. A command
// that runs only the delivery check has neither.
type sourceSide struct {
	upstream *pgxpool.Pool
	sorter   *sort.Sorter
}

// newReconciler wires the checks: the source check of every upstream table (when src has an upstream), then
// delivery of every unit topic and broadcast, so that what the source check re-captures is checked on its way.
func newReconciler(cfg Config, db *pgxpool.Pool, broker reconcile.Broker, src sourceSide, log *slog.Logger) (*reconcile.Reconciler, error) {
	units, err := cfg.units()
	if err != nil {
		return nil, err
	}
	var checks []reconcile.Check
	if src.upstream != nil {
		checks = append(checks, newSourceCheck(cfg, db, src))
	}
	checks = append(checks, reconcile.NewDelivery(append(units.Codes(), events.BroadcastUnit), cfg.ConsumerGroups, cfg.TopicPrefix,
		postgres.NewDeliveryOutbox(db), broker))
	return reconcile.NewReconciler(postgres.NewReconcileRuns(db), log, checks...), nil
}

// newSourceCheck reads the upstream in batches of at most batch_size rows, no faster than reconcile_rows_per_s.
func newSourceCheck(cfg Config, db *pgxpool.Pool, src sourceSide) *reconcile.Source {
	tables := make([]string, len(events.Catalogue))
	for i, k := range events.Catalogue {
		tables[i] = k.Table
	}
	batch := min(cfg.BatchSize, cfg.ReconcileRowsPerS)
	pace := rate.NewLimiter(rate.Limit(cfg.ReconcileRowsPerS), batch)
	return reconcile.NewSource(reconcile.SourceConfig{Tables: tables, Window: cfg.ReconcileWindow, Depth: cfg.ReconcileDepth, Batch: batch},
		postgres.NewUpstreamCensus(src.upstream), postgres.NewSourceLedger(db, cfg.StoreSchema), sorterHealer{src.sorter}, pace)
}

// sorterHealer heals through the sorter: its locks, newer-wins gate and writes.
type sorterHealer struct{ *sort.Sorter }

// Forget takes the rows out as the ledger held them when the check found them deleted upstream.
func (h sorterHealer) Forget(ctx context.Context, table string, rows []reconcile.Entry) error {
	gone := make([]sort.Gone, len(rows))
	for i, e := range rows {
		gone[i] = sort.Gone{Ref: sort.Ref{Table: table, ID: e.ID}, UpdateTime: e.UpdateTime, Digest: e.Digest}
	}
	return h.Sorter.Forget(ctx, gone)
}

// ReconcileNeeds are the connections bridge reconcile needs for the checks only names (all when empty).
func ReconcileNeeds(only []string) Needs {
	return Needs{Upstream: len(only) == 0 || slices.Contains(only, reconcile.CheckSource), Store: true, Kafka: true}
}

// Reconcile runs the checks once, now (waiting for a run of a bridge instance to end first), publishes what it
// re-sent, and prints a summary per unit.
func Reconcile(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts ReconcileOptions) error {
	if !opts.Once {
		return errors.New("bridge reconcile runs with --once; bridge run reconciles every reconcile_interval on its own")
	}
	if err := reconcile.CheckOnly(opts.Only, reconcile.CheckSource, reconcile.CheckDelivery); err != nil {
		return err
	}
	db, err := openDatabase(ctx, log, "store database", cfg.StoreURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	src, err := openSourceSide(ctx, cfg, db, log, ReconcileNeeds(opts.Only).Upstream)
	if err != nil {
		return err
	}
	if src.upstream != nil {
		defer src.upstream.Close()
	}
	broker := kafka.NewOffsets(cfg.kafka())
	defer broker.Close()
	rec, err := newReconciler(cfg, db, broker, src, log)
	if err != nil {
		return err
	}
	report, err := rec.RunOnce(ctx, reconcile.Request{Only: opts.Only, DryRun: opts.DryRun, Trigger: reconcile.TriggerCommand})
	if err == nil && report.Outcome() != reconcile.OutcomeConsistent && !opts.DryRun {
		err = publishRepairs(ctx, cfg, db, log)
	}
	if report.Run != 0 {
		if perr := printReport(out, report, opts.JSON); perr != nil {
			return errors.Join(err, perr)
		}
	}
	if err != nil {
		return err
	}
	return unrepaired(report)
}

// openSourceSide connects to the upstream and builds a sorter of its own over the store, when wanted.
func openSourceSide(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger, wanted bool) (sourceSide, error) {
	if !wanted {
		return sourceSide{}, nil
	}
	units, err := cfg.units()
	if err != nil {
		return sourceSide{}, err
	}
	if err := postgres.EnsureStore(ctx, db, cfg.StoreSchema); err != nil {
		return sourceSide{}, err
	}
	store, _, err := openDedicated(ctx, cfg, db, log)
	if err != nil {
		return sourceSide{}, err
	}
	upstream, err := openDatabase(ctx, log, "upstream database", cfg.UpstreamURL)
	if err != nil {
		return sourceSide{}, err
	}
	return sourceSide{upstream: upstream, sorter: sort.NewSorter(units, store, postgres.NewUpstreamSource(upstream))}, nil
}

// publishRepairs drains the outbox, so that what the run re-sent is on the topics when the command ends; a
// running bridge's forwarder takes turns with it under the forwarding lock.
func publishRepairs(ctx context.Context, cfg Config, db *pgxpool.Pool, log *slog.Logger) error {
	sender, err := kafka.NewSender(cfg.kafka(), cfg.TopicPrefix)
	if err != nil {
		return err
	}
	defer sender.Close()
	keys, err := cfg.Encryption.keyring()
	if err != nil {
		return err
	}
	forwarder, err := newForwarder(ctx, cfg, db, sender, log, distribute.Config{Payloads: keys})
	if err != nil {
		return err
	}
	_, err = forwarder.Drain(ctx)
	return err
}

func unrepaired(report reconcile.Report) error {
	left := report.Unrepaired()
	if len(left) == 0 {
		return nil
	}
	lines := make([]string, len(left))
	for i, f := range left {
		lines[i] = fmt.Sprintf("%s %s: %d missing, %d repaired", f.Check, findingPlace(f), f.Missing, f.Repaired)
		if report.DryRun {
			lines[i] += " (dry run)"
		}
		if f.Detail != "" {
			lines[i] += ": " + f.Detail
		}
	}
	return fmt.Errorf("%w in run %d:\n  %s", ErrUnrepaired, report.Run, strings.Join(lines, "\n  "))
}

// findingPlace names where a finding is: its unit, partition or group, or its table and window.
func findingPlace(f reconcile.Finding) string {
	if f.Subject == reconcile.SubjectTable {
		return "table " + f.Table
	}
	place := "unit " + f.Unit
	if f.Table != "" {
		place += " table " + f.Table
	}
	if !f.Window.From.IsZero() {
		place += fmt.Sprintf(" window %s–%s", f.Window.From.UTC().Format(time.RFC3339), f.Window.To.UTC().Format(time.RFC3339))
	}
	if f.Group != "" {
		place += " group " + f.Group
	}
	if f.Partition != nil {
		place += fmt.Sprintf(" partition %d", *f.Partition)
	}
	return place
}

// scheduleReconciliation reconciles every interval inside bridge run, looking at most once a minute whether a
// run is due (any instance's run counts).
func scheduleReconciliation(ctx context.Context, rec *reconcile.Reconciler, interval time.Duration) {
	rec.RunScheduled(ctx, interval, min(interval, time.Minute))
}

// unitLine is a unit's summary as --json prints it, one object per unit, with its partitions' and consumer
// group's findings.
type unitLine struct {
	Run        int64        `json:"run"`
	Check      string       `json:"check"`
	Unit       string       `json:"unit"`
	Table      *string      `json:"table"`
	Topic      string       `json:"topic"`
	Expected   int64        `json:"expected"`
	Found      int64        `json:"found"`
	Pending    int64        `json:"pending"`
	Missing    int64        `json:"missing"`
	Repaired   int64        `json:"repaired"`
	Unrepaired int64        `json:"unrepaired"`
	DryRun     bool         `json:"dry_run"`
	Detail     *string      `json:"detail"`
	Partitions []detailLine `json:"partitions"`
	Groups     []detailLine `json:"consumer_groups"`
	// The window of update_time of a source finding per unit, table and window; null otherwise.
	WindowStart *time.Time `json:"window_start"`
	WindowEnd   *time.Time `json:"window_end"`
}

type detailLine struct {
	Group     *string `json:"group,omitempty"`
	Partition *int32  `json:"partition"`
	Expected  int64   `json:"expected"`
	Found     int64   `json:"found"`
	Missing   int64   `json:"missing"`
	Repaired  int64   `json:"repaired"`
	Detail    *string `json:"detail"`
}

// byUnit groups the delivery findings under each unit's summary, in the order reported; the source check's
// findings per table, and per unit, table and window, are lines of their own.
func byUnit(report reconcile.Report) []unitLine {
	var out []unitLine
	for _, f := range report.Findings {
		switch f.Subject {
		case reconcile.SubjectUnit, reconcile.SubjectTable, reconcile.SubjectWindow:
			out = append(out, unitLine{Run: report.Run, Check: f.Check, Unit: f.Unit, Table: orNull(f.Table), Topic: f.Topic,
				Expected: f.Expected, Found: f.Found, Pending: f.Pending, Missing: f.Missing, Repaired: f.Repaired,
				Unrepaired: f.Unrepaired(), DryRun: report.DryRun, Detail: orNull(f.Detail),
				Partitions: []detailLine{}, Groups: []detailLine{}, WindowStart: timeOrNil(f.Window.From), WindowEnd: timeOrNil(f.Window.To)})
			continue
		}
		if len(out) == 0 {
			continue
		}
		last := &out[len(out)-1]
		d := detailLine{Partition: f.Partition, Expected: f.Expected, Found: f.Found, Missing: f.Missing, Repaired: f.Repaired, Detail: orNull(f.Detail)}
		if f.Subject == reconcile.SubjectGroup {
			d.Group = &f.Group
			last.Groups = append(last.Groups, d)
		} else {
			last.Partitions = append(last.Partitions, d)
		}
	}
	return out
}

func printReport(out io.Writer, report reconcile.Report, asJSON bool) error {
	units := byUnit(report)
	if asJSON {
		enc := json.NewEncoder(out)
		for _, u := range units {
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CHECK\tUNIT\tTOPIC / TABLE\tEXPECTED\tFOUND\tPENDING\tMISSING\tREPAIRED\tDETAIL")
	for _, u := range units {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", u.Check, cmp.Or(u.Unit, "-"), u.place(), u.Expected, u.Found, u.Pending,
			u.Missing, u.Repaired, orDash(u.Detail))
		for _, d := range append(u.Partitions, u.Groups...) {
			fmt.Fprintf(w, "\t  %s\t\t%d\t%d\t\t%d\t%d\t%s\n", detailPlace(d), d.Expected, d.Found, d.Missing, d.Repaired, orDash(d.Detail))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	verb := report.Outcome()
	if report.DryRun {
		verb += " (dry run: nothing repaired)"
	}
	_, err := fmt.Fprintf(out, "run %d: %s\n", report.Run, verb)
	return err
}

// place is a line's topic (delivery), or its table and window (source).
func (u unitLine) place() string {
	if u.Table == nil {
		return u.Topic
	}
	if u.WindowStart == nil {
		return *u.Table
	}
	const at = "2006-01-02T15:04Z"
	return fmt.Sprintf("%s %s–%s", *u.Table, u.WindowStart.UTC().Format(at), u.WindowEnd.UTC().Format(at))
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func detailPlace(d detailLine) string {
	place := ""
	if d.Group != nil {
		place = "group " + *d.Group + " "
	}
	if d.Partition != nil {
		place += fmt.Sprintf("partition %d", *d.Partition)
	}
	return strings.TrimSpace(place)
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
