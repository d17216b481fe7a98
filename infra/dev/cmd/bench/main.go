// Command bench measures the bridge against the simplest pipe that moves the same rows, in one run on one
// machine (`go tool task bench`):
//
//   - it starts the PostgreSQL and Kafka of the test harness (or uses BRIDGE_TEST_PG_URL and
//     BRIDGE_TEST_KAFKA_BROKERS) and builds the bridge;
//   - per size (SIZES=1,3 multiples of REGISTRATIONS=175000, about a million upstream rows; ROWS=N instead
//     converts at the seed's ratio) it seeds a fresh upstream, times psql's COPY of every table into kcat, then
//     `bridge run --until-idle` from an empty store and empty topics, with its peak RSS and stage times;
//   - with TRACING=1 (the default), the same upstream once more through the bridge with tracing on at the default
//     sampler, into a fresh store and topics, exporting over OTLP to a throwaway Jaeger (built on first use);
//   - steady state (STEADY_SECONDS=40, 0 skips it; STEADY_REGISTRATIONS=20000): a running bridge over a
//     caught-up upstream that the seeder changes like the live platform, and the commit-to-topic latency.
//
// It prints a table and `bench: ...` lines, and stops everything it started, also on an error or Ctrl-C.
// It is a program, not a test, so `go test ./...` never runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"hotline-bridge/infra/dev/localjaeger"
	"hotline-bridge/infra/dev/testenv"
)

// bench is one run: its services, work directory, binary and options.
type bench struct {
	opts   options
	svc    *testenv.Services
	logs   logs
	bin    string
	runID  string              // in every database and topic name, so runs against shared servers never meet
	jaeger *localjaeger.Jaeger // receives the traced runs' spans; nil without them
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "[bench] interrupted; everything it started is stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "[bench] failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	opts, err := loadOptions()
	if err != nil {
		return err
	}
	if err := ensureTools(); err != nil {
		return err
	}
	b := &bench{opts: opts, runID: randomID()}
	dir, err := os.MkdirTemp("", "bridge-bench-")
	if err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	b.logs = logs{dir: dir}
	defer func() { cleanWorkDir(dir, err) }()
	b.svc, err = testenv.StartServices(ctx, os.Stderr)
	defer func() { err = errors.Join(err, stopServices(b.svc)) }()
	if err != nil {
		return err
	}
	if b.bin, err = buildBridge(ctx, b.logs); err != nil {
		return err
	}
	if opts.Traced {
		progress("starting Jaeger (the first run builds it, about five minutes)")
		if b.jaeger, err = localjaeger.Start(ctx); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, b.jaeger.Stop()) }()
	}
	return b.measure(ctx)
}

// measure warms up, runs every size, prints them, then the steady state.
func (b *bench) measure(ctx context.Context) error {
	if b.opts.WarmUpRegistrations > 0 {
		if err := b.warmUp(ctx); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var results []sizeResult
	for _, m := range b.opts.Sizes {
		r, err := b.measureSize(ctx, m)
		if err != nil {
			return fmt.Errorf("size %d×: %w", m, err)
		}
		results = append(results, r)
	}
	printSizes(os.Stdout, results)
	if b.opts.SteadyFor <= 0 {
		return nil
	}
	l, err := b.measureSteady(ctx)
	if err != nil {
		return fmt.Errorf("steady state: %w", err)
	}
	printLatency(os.Stdout, l)
	return nil
}

// ensureTools installs kcat (the raw pipe) and GNU time (peak RSS) when missing, as the test command does.
func ensureTools() error {
	return testenv.EnsureTools(os.Stderr, testenv.Kcat,
		testenv.Tool{Command: "psql", Package: "postgresql-client"}, testenv.Tool{Command: timeBin, Package: "time"})
}

func stopServices(svc *testenv.Services) error {
	progress("stopping PostgreSQL and Kafka")
	if err := svc.Stop(); err != nil {
		return fmt.Errorf("stop services: %w", err)
	}
	return nil
}

// cleanWorkDir removes the binary and logs, but keeps them when the run failed, for the logs' sake.
func cleanWorkDir(dir string, err error) {
	if err != nil {
		progress("logs kept in %s", dir)
		return
	}
	_ = os.RemoveAll(dir)
}

func randomID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
