package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// ErrNotAvailable marks a check that is named but not built yet.
var ErrNotAvailable = errors.New("not available yet")

// Reconciler runs checks, one run at a time across every bridge instance, and records every run.
type Reconciler struct {
	checks []Check
	runs   Runs
	log    *slog.Logger
}

// NewReconciler runs checks in the order given.
func NewReconciler(runs Runs, log *slog.Logger, checks ...Check) *Reconciler {
	return &Reconciler{checks: checks, runs: runs, log: log}
}

// Request is what one run is asked to do.
type Request struct {
	Only    []string // check names; empty = every check
	DryRun  bool
	Trigger string
}

// Select returns the checks only names (all of them when only is empty), refusing a name no check has.
func (r *Reconciler) Select(only []string) ([]Check, error) {
	if len(only) == 0 {
		return r.checks, nil
	}
	names := make([]string, len(r.checks))
	for i, c := range r.checks {
		names[i] = c.Name()
	}
	if err := CheckOnly(only, names...); err != nil {
		return nil, err
	}
	var out []Check
	for _, name := range only {
		out = append(out, r.checks[slices.Index(names, name)])
	}
	return out, nil
}

// CheckOnly refuses a check name that is not among the available ones, saying so plainly for the checks that are
// planned but not built yet.
func CheckOnly(only []string, available ...string) error {
	var errs []error
	for _, name := range only {
		switch {
		case slices.Contains(available, name):
		case name == CheckSource:
			errs = append(errs, fmt.Errorf("--only %s: source reconciliation is %w (available: %s)", name, ErrNotAvailable, strings.Join(available, ", ")))
		default:
			errs = append(errs, fmt.Errorf("--only %s: no such check (available: %s)", name, strings.Join(available, ", ")))
		}
	}
	return errors.Join(errs...)
}

// RunOnce runs now, waiting for a run of another instance to end first.
func (r *Reconciler) RunOnce(ctx context.Context, req Request) (Report, error) {
	checks, err := r.Select(req.Only)
	if err != nil {
		return Report{}, err
	}
	var report Report
	_, err = r.runs.Exclusive(ctx, true, func(ctx context.Context) (err error) {
		report, err = r.run(ctx, req, checks)
		return err
	})
	return report, err
}

// RunScheduled runs every check whenever no repairing run started within interval, looking every tick, until ctx
// ends. The schedule lives in bridge.reconcile_run, so it holds across instances and restarts.
func (r *Reconciler) RunScheduled(ctx context.Context, interval, tick time.Duration) {
	for {
		select { // a tick first: a bridge that is starting has more urgent work
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
		if err := r.runIfDue(ctx, interval); err != nil && ctx.Err() == nil {
			r.log.Warn("scheduled reconciliation failed; it runs again at the next interval", "error", err)
		}
	}
}

func (r *Reconciler) runIfDue(ctx context.Context, interval time.Duration) error {
	_, err := r.runs.Exclusive(ctx, false, func(ctx context.Context) error {
		last, err := r.runs.LastRepairing(ctx)
		if err != nil || time.Since(last) < interval {
			return err
		}
		report, err := r.run(ctx, Request{Trigger: TriggerSchedule}, r.checks)
		if err == nil {
			r.logReport(report)
		}
		return err
	})
	return err
}

func (r *Reconciler) logReport(report Report) {
	unrepaired := report.Unrepaired()
	if len(unrepaired) == 0 {
		r.log.Info("reconciliation done", "run", report.Run, "outcome", report.Outcome(), "findings", len(report.Findings))
		return
	}
	for _, f := range unrepaired {
		r.log.Warn("reconciliation could not repair", "run", report.Run, "check", f.Check, "unit", f.Unit, "topic", f.Topic,
			"missing", f.Missing, "repaired", f.Repaired, "detail", f.Detail)
	}
}

// run runs checks under the lock and records the run; a check that fails does not keep the next from running.
func (r *Reconciler) run(ctx context.Context, req Request, checks []Check) (Report, error) {
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = c.Name()
	}
	id, err := r.runs.Begin(ctx, Run{Trigger: req.Trigger, Checks: names, DryRun: req.DryRun})
	if err != nil {
		return Report{}, err
	}
	report := Report{Run: id, DryRun: req.DryRun}
	var errs []error
	for _, c := range checks {
		err := c.Run(ctx, Options{Run: id, DryRun: req.DryRun}, func(f Finding) { report.Findings = append(report.Findings, f) })
		if err != nil {
			errs = append(errs, fmt.Errorf("%s check: %w", c.Name(), err))
		}
	}
	failure := errors.Join(errs...)
	if err := r.runs.Finish(context.WithoutCancel(ctx), id, report, failure); err != nil {
		return report, errors.Join(failure, err)
	}
	return report, failure
}
