package pipeline

import (
	"context"
	"log/slog"
	"time"
)

// RunWithClock runs the bridge continuously with the daily report reading the clock now, every interval.
func RunWithClock(ctx context.Context, cfg Config, log *slog.Logger, now func() time.Time, interval time.Duration) error {
	return runWith(ctx, cfg, log, false, nil, runOptions{now: now, reportEvery: interval})
}
