package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline-bridge/events"
	"hotline-bridge/infra/tracing"
)

// sizeResult is one size measured: the same seeded rows through the raw pipe and through the bridge.
type sizeResult struct {
	Multiple      int
	Registrations int
	UpstreamRows  int64
	Seed          time.Duration
	RawPipe       time.Duration
	Bridge        idleRun
	Events        int64    // distribution events written to bridge.outbox
	Hops          int64    // hops the audit trail holds once the run is idle
	Traced        *idleRun // the same upstream with tracing on; nil when not measured
}

// measureSize seeds a fresh upstream, times the raw pipe over it, then the bridge from an empty store and empty
// topics.
func (b *bench) measureSize(ctx context.Context, multiple int) (r sizeResult, err error) {
	name := fmt.Sprintf("x%d", multiple)
	r = sizeResult{Multiple: multiple, Registrations: multiple * b.opts.Registrations}
	t, drop, err := b.freshTarget(ctx, name)
	defer func() { err = errors.Join(err, drop()) }()
	if err != nil {
		return r, err
	}
	br := newBridge(b.bin, b.logs, t)
	progress("%d×: seeding %d registrations", multiple, r.Registrations)
	start := time.Now()
	if err := br.seedUpstream(ctx, name+"-seed", r.Registrations); err != nil {
		return r, err
	}
	r.Seed = time.Since(start)
	if r.UpstreamRows, err = countUpstream(ctx, t.UpstreamURL); err != nil {
		return r, err
	}
	progress("%d×: %d upstream rows seeded in %s; raw pipe", multiple, r.UpstreamRows, seconds(r.Seed))
	if r.RawPipe, err = rawPipe(ctx, b.logs, t); err != nil {
		return r, err
	}
	progress("%d×: raw pipe took %s; bridge run --until-idle", multiple, seconds(r.RawPipe))
	if r.Bridge, err = br.runUntilIdle(ctx, name+"-bridge"); err != nil {
		return r, err
	}
	if r.Events, err = countEvents(ctx, t.StoreURL); err != nil {
		return r, err
	}
	if r.Hops, err = countHops(ctx, t.StoreURL); err != nil {
		return r, err
	}
	progress("%d×: bridge took %s", multiple, seconds(r.Bridge.Wall))
	if b.jaeger == nil {
		return r, nil
	}
	traced, err := b.measureTraced(ctx, name, t)
	r.Traced = &traced
	return r, err
}

// warmUp runs the raw pipe and the bridge once over a small upstream, untimed: a broker just started spends its
// first minute compiling (its JIT took 20-26 CPU seconds of the first catch-up, 6-10 of later ones), which would
// count against whichever pipe ran first, and a production broker is long warm.
func (b *bench) warmUp(ctx context.Context) (err error) {
	t, drop, err := b.freshTarget(ctx, "warmup")
	defer func() { err = errors.Join(err, drop()) }()
	if err != nil {
		return err
	}
	br := newBridge(b.bin, b.logs, t)
	progress("warming up the broker and the database: %d registrations, raw pipe and bridge, untimed", b.opts.WarmUpRegistrations)
	if err := br.seedUpstream(ctx, "warmup-seed", b.opts.WarmUpRegistrations); err != nil {
		return err
	}
	if _, err := rawPipe(ctx, b.logs, t); err != nil {
		return err
	}
	_, err = br.runUntilIdle(ctx, "warmup-bridge")
	return err
}

// measureTraced runs the bridge over the same upstream again, into a fresh store and topics, with tracing on as
// an operator switches it on: the standard OTLP endpoint variable, the default sampler.
func (b *bench) measureTraced(ctx context.Context, name string, upstream target) (r idleRun, err error) {
	t, drop, err := b.freshTarget(ctx, name+"_traced")
	defer func() { err = errors.Join(err, drop()) }()
	if err != nil {
		return r, err
	}
	t.UpstreamURL = upstream.UpstreamURL
	br := newBridge(b.bin, b.logs, t)
	br.env = append(br.env, "OTEL_EXPORTER_OTLP_ENDPOINT="+b.jaeger.OTLPEndpoint())
	progress("%s: bridge run --until-idle with tracing on", name)
	if r, err = br.runUntilIdle(ctx, name+"-bridge-traced"); err != nil {
		return r, err
	}
	progress("%s: bridge with tracing took %s", name, seconds(r.Wall))
	return r, b.checkExported(ctx, t)
}

// checkExported makes sure the traced run's spans reached Jaeger: an exporter failing quietly would make tracing
// look free.
func (b *bench) checkExported(ctx context.Context, t target) error {
	op := "poll " + events.Registration
	traces, err := b.jaeger.FindTraces(ctx, tracing.ServiceName, op, 100000)
	if err != nil {
		return err
	}
	prefix := events.CaptureTopic(t.Prefix, "")
	pages := 0
	for _, tr := range traces {
		for _, s := range tr.Spans {
			if strings.HasPrefix(s.OperationName, "process "+prefix) {
				pages++
				break
			}
		}
	}
	if pages == 0 {
		return fmt.Errorf("jaeger holds no trace of the traced run's registration pages (%d %q traces in all)", len(traces), op)
	}
	progress("jaeger holds %d traces of registration pages from the traced run", pages)
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
