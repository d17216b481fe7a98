package main

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	progress("%d×: bridge took %s", multiple, seconds(r.Bridge.Wall))
	if b.jaeger == nil {
		return r, nil
	}
	traced, err := b.measureTraced(ctx, name, t)
	r.Traced = &traced
	return r, err
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
	return r, nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
