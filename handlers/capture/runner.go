package capture

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"hotline-bridge/handlers/pace"
)

// Runner drives pollers: each polls on its own schedule, and a failing round (upstream or broker down) is
// reported and retried with backoff; the watermark never passes what was not published, so retrying is safe.
type Runner struct {
	Pollers    []*Poller
	Interval   time.Duration // pause after a round that found nothing new
	MaxBackoff time.Duration
	Log        *slog.Logger
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
	backoff := pace.Backoff(200*time.Millisecond, r.MaxBackoff)
	for ctx.Err() == nil {
		round, err := p.Poll(ctx)
		if round.LogErr != nil {
			r.Log.Warn("writing the download log failed; capture goes on and writes it with the next page", "table", p.Table(), "error", round.LogErr)
		}
		switch {
		case err != nil && errors.Is(err, context.Canceled):
			return
		case err != nil:
			wait := backoff.NextBackOff()
			r.Log.Warn("capture round failed; retrying", "table", p.Table(), "retry_in", wait, "error", err)
			pace.Sleep(ctx, wait)
		case round.Published == 0 && untilIdle:
			return
		case round.Published == 0:
			backoff.Reset()
			pace.Sleep(ctx, r.Interval)
		default:
			backoff.Reset()
		}
	}
}
