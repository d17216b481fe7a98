package seed

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotEmpty is returned by Generate when the upstream already holds data: generated ids would collide.
var ErrNotEmpty = errors.New("upstream tables are not empty")

// Generate fills an empty reference upstream: the organisation tree, personnel, the dictionary and
// opts.Registrations registrations with their families. Rows are streamed with COPY in chunks of
// opts.ChunkSize registrations, one transaction per chunk, while the next chunk is being generated; memory does
// not grow with the size. A failure leaves the chunks committed so far.
func Generate(ctx context.Context, db *pgxpool.Pool, opts Options) (Stats, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return Stats{}, fmt.Errorf("seed options: %w", err)
	}
	g := newGen(opts.Seed, buildTree(), newClock(opts.Now, opts.Days))
	st := newStats()
	opts.Progress.start(opts.Registrations)
	if err := g.writeReference(ctx, db, st); err != nil {
		return st, err
	}
	opts.Progress.referenceDone(st)
	return st, g.stream(ctx, db, opts, st)
}

func (g *gen) writeReference(ctx context.Context, db *pgxpool.Pool, st Stats) error {
	g.b = newBatch()
	g.organizations()
	g.personnel()
	g.dictionary()
	return inTx(ctx, db, func(tx pgx.Tx) error {
		var busy bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organization) OR EXISTS (SELECT 1 FROM registration)`).Scan(&busy)
		if err != nil {
			return fmt.Errorf("check upstream is empty: %w", err)
		}
		if busy {
			return ErrNotEmpty
		}
		return g.b.copyTo(ctx, tx, st)
	})
}

// copyChunk writes a batch in its own transaction and counts it once committed.
func copyChunk(ctx context.Context, db *pgxpool.Pool, b *batch, st Stats, p *Progress) error {
	chunk := newStats()
	err := inTx(ctx, db, func(tx pgx.Tx) error { return b.copyTo(ctx, tx, chunk) })
	if err == nil {
		st.add(chunk)
		p.chunkDone(chunk)
	}
	return err
}

// stream generates registrations chunk by chunk in one goroutine and copies them with copyWorkers others, each
// chunk in its own transaction; copyWorkers+1 batches circulate between them. Generation is sequential, so the
// data does not depend on which worker commits first.
func (g *gen) stream(ctx context.Context, db *pgxpool.Pool, opts Options, st Stats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := copyWorkers(db)
	free := make(chan *batch, workers+1)
	for range workers + 1 {
		free <- newBatch()
	}
	full := make(chan *batch)
	go g.produce(ctx, opts, free, full)
	errs := make([]error, workers)
	stats := make([]Stats, workers)
	var wg sync.WaitGroup
	for w := range workers {
		stats[w] = newStats()
		wg.Go(func() {
			for b := range full { // after a failure, keep draining until the producer closes full
				if errs[w] == nil {
					if errs[w] = copyChunk(ctx, db, b, stats[w], opts.Progress); errs[w] != nil {
						cancel()
					}
				}
				free <- b
			}
		})
	}
	wg.Wait()
	for _, s := range stats {
		st.add(s)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// copyWorkers: COPY is bound by the server's CPU, one core per connection.
func copyWorkers(db *pgxpool.Pool) int {
	return max(1, min(4, runtime.NumCPU(), int(db.Config().MaxConns)-1))
}

func (g *gen) produce(ctx context.Context, opts Options, free <-chan *batch, full chan<- *batch) {
	defer close(full)
	n := opts.Registrations
	for start := 0; start < n; start += opts.ChunkSize {
		var b *batch
		select {
		case b = <-free:
		case <-ctx.Done():
			return
		}
		b.reset()
		g.b = b
		for i := start; i < min(start+opts.ChunkSize, n); i++ {
			g.registration(g.registeredAt(i, n), g.r.Float64() < opts.WuhanShare)
		}
		select {
		case full <- b:
		case <-ctx.Done():
			return
		}
	}
}

// registeredAt spreads registrations evenly over the window in id order, with some jitter, as a platform
// numbering its work orders would.
func (g *gen) registeredAt(i, n int) time.Time {
	window := g.clk.now.Sub(g.clk.start)
	t := g.clk.start.Add(time.Duration(float64(window) * (float64(i) + 0.5) / float64(n)))
	t = t.Add(time.Duration(g.r.Int64N(int64(40*time.Minute))) - 20*time.Minute)
	if t.After(g.clk.now) {
		t = g.clk.now
	}
	if t.Before(g.clk.start) {
		t = g.clk.start
	}
	return t.Truncate(time.Second)
}

// inTx runs fn in a transaction: committed when fn returns nil, rolled back otherwise.
func inTx(ctx context.Context, db *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
