// Package pace paces retries against a database or broker that is down: exponential backoff with jitter, so
// several instances do not hammer a recovering server in step, and waits that end with their context.
package pace

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff doubles from min up to max, with ±20% jitter; Reset after a success.
func Backoff(min, max time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.RandomizationFactor, b.Multiplier = min, max, 0.2, 2
	b.Reset()
	return b
}

// Sleep waits for d or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
