package capture

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Runner drives pollers: each polls on its own schedule, and a failing round (upstream or broker down) is
// reported and retried with backoff; the watermark never passes what was not published, so retrying is safe.
type Runner struct {
	Pollers    []*Poller
	Interval   time.Duration // pause after a round that found nothing new
	MaxBackoff time.Duration
	Log        *slog.Logger
	// OnRound, when set, observes every round (metrics, status).
	OnRound func(table string, r Round, err error)
}

// Run polls until ctx ends. With untilIdle it returns once every poller has completed a round that published
// nothing, i.e. every kind is caught up and all it produced is on the broker.
func (r *Runner) Run(ctx context.Context, untilIdle bool) error {
	var wg sync.WaitGroup
	for _, p := range r.Pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runPoller(ctx, p, untilIdle)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (r *Runner) runPoller(ctx context.Context, p *Poller, untilIdle bool) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		round, err := p.Poll(ctx)
		if r.OnRound != nil {
			r.OnRound(p.Table(), round, err)
		}
		switch {
		case err != nil && errors.Is(err, context.Canceled):
			return
		case err != nil:
			backoff = r.nextBackoff(backoff)
			r.Log.Warn("capture round failed; retrying", "table", p.Table(), "retry_in", backoff, "error", err)
			sleep(ctx, backoff)
		case round.Published == 0 && untilIdle:
			return
		case round.Published == 0:
			backoff = 0
			sleep(ctx, r.Interval)
		default:
			backoff = 0
		}
	}
}

func (r *Runner) nextBackoff(prev time.Duration) time.Duration {
	if prev == 0 {
		return 200 * time.Millisecond
	}
	return min(2*prev, r.MaxBackoff)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
