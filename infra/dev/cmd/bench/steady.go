package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"hotline-bridge/handlers/pace"
)

// The steady-state stream, from the seeder's own live-platform changes: rounds a second apart, each of
// steadyBatch status updates and what the seeder scales with them (new work orders with families, feedback,
// transfers, deletes and a re-stamp of 5× as many registrations and their info providers — about 13 rows per
// unit of steadyBatch, so some 260 rows a second), and every roundsPerBurst-th round burstFactor times as large
// (about 500 rows a second on average).
const (
	steadyBatch    = 20
	burstFactor    = 10
	roundsPerBurst = 10
)

const (
	settleTimeout = 2 * time.Minute // for the last changes to reach the unit topics
	settleCalm    = 3               // polls a second apart with nothing new and nothing pending
)

// latency is what the steady state measured: commit-to-topic latency of the row versions committed in the window.
type latency struct {
	Window        time.Duration
	Changes       int   // upstream rows the seeder wrote in the window
	Versions      int64 // row versions of the window that reached a unit topic or are on their way
	Pending       int64 // of them, with an event still unpublished when measuring stopped
	P50, P99, Max float64
}

// measureSteady runs a bridge continuously over a small caught-up upstream, changes the upstream like the live
// platform, and measures how long each change takes from its upstream commit to its unit topic.
func (b *bench) measureSteady(ctx context.Context) (l latency, err error) {
	t, drop, err := b.freshTarget(ctx, "steady")
	defer func() { err = errors.Join(err, drop()) }()
	if err != nil {
		return l, err
	}
	br := newBridge(b.bin, b.logs, t)
	progress("steady: seeding %d registrations and catching up", b.opts.SteadyRegistrations)
	if err := br.seedUpstream(ctx, "steady-seed", b.opts.SteadyRegistrations); err != nil {
		return l, err
	}
	// Caught up first, so the window measures live changes, not the backfill.
	if _, err := br.runUntilIdle(ctx, "steady-catchup"); err != nil {
		return l, err
	}
	bg, err := br.start(ctx, "steady-bridge")
	if err != nil {
		return l, err
	}
	defer func() { err = errors.Join(err, bg.stop()) }()
	return b.changeAndMeasure(ctx, br, bg, t.StoreURL)
}

// changeAndMeasure waits until the running bridge moves a first change end to end, then streams changes for
// the window and measures their latency once they have settled.
func (b *bench) changeAndMeasure(ctx context.Context, br bridge, bg *background, storeURL string) (latency, error) {
	warm := time.Now()
	if _, err := br.change(ctx, "steady-warmup", 2, 1, steadyBatch); err != nil {
		return latency{}, err
	}
	if err := settle(ctx, bg, storeURL, warm, time.Now()); err != nil {
		return latency{}, fmt.Errorf("warm-up: %w", err)
	}
	progress("steady: bridge running and caught up; changing the upstream for %s", b.opts.SteadyFor)
	start := time.Now()
	changes, err := streamChanges(ctx, br, bg, b.opts.SteadyFor)
	if err != nil {
		return latency{}, err
	}
	end := time.Now()
	if err := settle(ctx, bg, storeURL, start, end); err != nil {
		progress("steady: %v; measuring what arrived", err)
	}
	l, err := queryLatency(ctx, storeURL, start, end)
	l.Window, l.Changes = end.Sub(start), changes
	return l, err
}

// streamChanges runs cycles of roundsPerBurst-1 rounds and one burst until d has passed, each seeder run with
// its own random seed so it picks other rows; it returns the rows written.
func streamChanges(ctx context.Context, br bridge, bg *background, d time.Duration) (int, error) {
	start, total, seed := time.Now(), 0, 3
	for time.Since(start) < d {
		for _, run := range [][2]int{{roundsPerBurst - 1, steadyBatch}, {1, steadyBatch * burstFactor}} {
			n, err := br.change(ctx, "steady-changes", seed, run[0], run[1])
			if err != nil {
				return total, err
			}
			total, seed = total+n, seed+1
		}
		if err := bg.exited(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// settle waits until the row versions committed between from and to have events, all of them published, and no
// new one has appeared for settleCalm seconds.
func settle(ctx context.Context, bg *background, storeURL string, from, to time.Time) error {
	deadline := time.Now().Add(settleTimeout)
	var last int64 = -1
	for calm := 0; calm < settleCalm; {
		if err := bg.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("events of the changes since %s not all published after %s", from.Format(time.TimeOnly), settleTimeout)
		}
		if pace.Sleep(ctx, time.Second); ctx.Err() != nil {
			return ctx.Err()
		}
		l, err := queryLatency(ctx, storeURL, from, to)
		if err != nil {
			return err
		}
		if l.Versions > 0 && l.Pending == 0 && l.Versions == last {
			calm++
		} else {
			calm = 0
		}
		last = l.Versions
	}
	return nil
}

// queryLatency measures, for each row version stamped in [from, to), the time from its stamp to its first event
// on a unit topic. Only the first: a later event for the same version (its station moved to another district,
// its work order's family came along) is caused by a later change, whose own version measures it. Versions
// stamped before the window and carried along by a move are not changes of the window; versions the seeder
// stamps ahead of their commit (decided before their stamp) have no commit time to measure from. What remains in
// the tail: a version that was not Wuhan's when stamped and first reaches a unit when a later transfer brings its
// work order's family in.
func queryLatency(ctx context.Context, storeURL string, from, to time.Time) (latency, error) {
	conn, err := pgx.Connect(ctx, storeURL)
	if err != nil {
		return latency{}, fmt.Errorf("measure latency: %w", err)
	}
	defer conn.Close(context.Background())
	var l latency
	err = conn.QueryRow(ctx, `WITH version AS (
			SELECT row_time, min(created_at) AS created, min(published_at) AS published,
				bool_or(published_at IS NULL) AS pending
			FROM bridge.outbox WHERE row_time >= $1 AND row_time < $2
			GROUP BY table_name, row_id, row_time),
		measured AS (
			SELECT pending, (extract(epoch FROM published - row_time) * 1000)::float8 AS ms
			FROM version WHERE row_time <= created)
		SELECT count(*), count(*) FILTER (WHERE pending),
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 0),
			coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), 0), coalesce(max(ms), 0)
		FROM measured`, from, to).
		Scan(&l.Versions, &l.Pending, &l.P50, &l.P99, &l.Max)
	if err != nil {
		return latency{}, fmt.Errorf("measure latency: %w", err)
	}
	return l, nil
}
