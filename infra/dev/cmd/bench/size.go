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
	Events        int64 // distribution events written to bridge.outbox
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
	r.Events, err = countEvents(ctx, t.StoreURL)
	progress("%d×: bridge took %s", multiple, seconds(r.Bridge.Wall))
	return r, err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
