package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/inspect"
	"hotline-bridge/infra/kafka"
	"hotline-bridge/infra/postgres"
)

// InspectOptions are bridge inspect's flags.
type InspectOptions struct {
	JSON bool   // print the report as JSON instead of tables
	HTML string // also write the report as a self-contained HTML page to this file
}

// ExitError ends a command with Code after its output has said everything; main prints Err and exits with it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is what the process exits with.
func (e *ExitError) ExitCode() int { return e.Code }

// probeTimeout bounds each dependency's answer: inspect reports what does not answer, it does not wait for it.
const probeTimeout = 5 * time.Second

// inspection is an inspector with the small pools it reads through.
type inspection struct {
	*inspect.Inspector
	state           *postgres.Inspection
	store, upstream *pgxpool.Pool
	offsets         *kafka.Offsets
}

// newInspection opens pools of its own (two connections each), so that it answers while the routers hold every
// connection of the main pools, and never waits for a database that is down: that is a finding.
func newInspection(ctx context.Context, cfg Config) (*inspection, error) {
	store, err := postgres.OpenSized(ctx, cfg.StoreURL, 2)
	if err != nil {
		return nil, err
	}
	upstream, err := postgres.OpenSized(ctx, cfg.UpstreamURL, 2)
	if err != nil {
		store.Close()
		return nil, err
	}
	in := &inspection{store: store, upstream: upstream, offsets: kafka.NewOffsets(cfg.kafka()),
		state: postgres.NewInspection(store, upstream, cfg.MaxCommitDelay)}
	in.Inspector = &inspect.Inspector{
		Probes: []inspect.Probe{
			databaseProbe("upstream", cfg.UpstreamURL, upstream, false),
			databaseProbe("store", cfg.StoreURL, store, true),
			{Name: "broker", Address: fmt.Sprint(cfg.KafkaBrokers), Ask: func(ctx context.Context) (string, string, error) {
				ctx, cancel := context.WithTimeout(ctx, probeTimeout)
				defer cancel()
				return kafka.Describe(ctx, cfg.kafka())
			}},
		},
		Store: in.state, Groups: in.offsets, GroupIDs: cfg.ConsumerGroups,
		Topic:      func(unit string) string { return events.UnitTopic(cfg.TopicPrefix, unit) },
		Thresholds: cfg.InspectConfig.thresholds(), Build: Version(),
	}
	return in, nil
}

func (in *inspection) close() {
	_ = in.offsets.Close()
	in.store.Close()
	in.upstream.Close()
}

// databaseProbe asks a database for its version; the store also says which bridge schema migration it is at.
func databaseProbe(name, url string, db *pgxpool.Pool, store bool) inspect.Probe {
	return inspect.Probe{Name: name, Address: postgres.Redact(url), Ask: func(ctx context.Context) (string, string, error) {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		version, err := postgres.ServerVersion(ctx, db)
		if err != nil || !store {
			return version, "", err
		}
		migration, err := postgres.SchemaVersion(ctx, db)
		if err != nil {
			return version, "bridge schema: " + err.Error(), nil
		}
		return version, fmt.Sprintf("bridge schema migration %d", migration), nil
	}}
}

// Inspect looks at everything once, prints the report and keeps it in bridge.inspection (when the store takes
// it). It ends with an *ExitError of code 1 on a warning and 2 on a critical finding.
func Inspect(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, opts InspectOptions) error {
	in, err := newInspection(ctx, cfg)
	if err != nil {
		return err
	}
	defer in.close()
	report := in.Run(ctx, inspect.TriggerCommand)
	if err := in.state.Save(ctx, report, cfg.InspectRetention); err != nil {
		log.Warn("the inspection report could not be kept in the store", "error", err)
	}
	if opts.HTML != "" {
		if err := writeInspectionHTML(opts.HTML, report); err != nil {
			return err
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = printInspection(out, report)
	}
	if err != nil {
		return fmt.Errorf("print the inspection: %w", err)
	}
	if code := report.Status.ExitCode(); code != 0 {
		return &ExitError{Code: code, Err: fmt.Errorf("inspection: %s, %d findings", report.Status, len(report.Findings))}
	}
	return nil
}

func writeInspectionHTML(path string, r inspect.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the inspection page: %w", err)
	}
	err = renderInspectionHTML(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the inspection page %s: %w", path, err)
	}
	return nil
}

// scheduleInspection inspects inside bridge run every interval and keeps the report for the status page. The
// schedule is read from bridge.inspection, so instances and restarts share it; two instances due at the same
// moment both inspect, which costs a few queries and one more row.
func scheduleInspection(ctx context.Context, log *slog.Logger, cfg Config) {
	in, err := newInspection(ctx, cfg)
	if err != nil {
		log.Error("scheduled inspection cannot start", "error", err)
		return
	}
	defer in.close()
	for {
		wait := cfg.InspectInterval
		last, err := postgres.LastInspected(ctx, in.store)
		if err == nil {
			wait = time.Until(last.Add(cfg.InspectInterval))
		}
		if wait <= 0 {
			report := in.Run(ctx, inspect.TriggerSchedule)
			if err := in.state.Save(ctx, report, cfg.InspectRetention); err != nil && ctx.Err() == nil {
				log.Warn("the scheduled inspection could not be kept; retrying at the next interval", "error", err)
			} else if report.Status != inspect.OK {
				log.Warn("inspection found problems; bridge inspect shows them", "status", report.Status, "checks", findingChecks(report))
			}
			wait = cfg.InspectInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// findingChecks names the checks that found something, once each, for a log line (the messages stay in the
// report: they name row ids).
func findingChecks(r inspect.Report) []string {
	var checks []string
	for _, f := range r.Findings {
		if !slices.Contains(checks, f.Check) {
			checks = append(checks, f.Check)
		}
	}
	return checks
}
