package gateway

import (
	"context"
	"log/slog"
	"time"

	"hotline-bridge/handlers/pace"
)

// Confirmations is the reconciliation of the national side: which accepted requests the captured national rows
// now reflect.
type Confirmations interface {
	// Confirm marks up to limit requests the store's rows reflect as confirmed, records their hops in the same
	// transaction, and says how many it marked.
	Confirm(ctx context.Context, limit int) (int, error)
}

// confirmBatch is how many requests one round marks at most.
const confirmBatch = 500

// RunConfirmer confirms until ctx ends: at once again after a full round, else after interval. Failures are
// retried with backoff and logged once each, here.
func RunConfirmer(ctx context.Context, c Confirmations, interval time.Duration, log *slog.Logger) {
	backoff := pace.Backoff(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		n, err := c.Confirm(ctx, confirmBatch)
		if err != nil && ctx.Err() == nil {
			wait := backoff.NextBackOff()
			log.Warn("confirming gateway requests failed; retrying", "retry_in", wait, "error", err)
			pace.Sleep(ctx, wait)
			continue
		}
		backoff.Reset()
		if n < confirmBatch {
			pace.Sleep(ctx, interval)
		}
	}
}
