package pipeline

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"hotline-bridge/events"
	"hotline-bridge/handlers/capture"
	"hotline-bridge/infra/postgres"
	"hotline-bridge/pipeline/progress"
)

// RunProgress counts what a running bridge has done, stage by stage, for a progress display: a catch-up of
// millions of rows is long work, and an operator must see it move. It counts, and never holds, rows.
type RunProgress struct {
	captured, sorted, published atomic.Int64
	backlog                     atomic.Int64 // upstream rows after the watermarks when the run started
	// committed is the events published by the last outbox look plus those it found pending: all the events
	// known then, which the published count reaches once they are out.
	committed atomic.Int64
}

// NewRunProgress is a zero count.
func NewRunProgress() *RunProgress { return &RunProgress{} }

// Stages are the three stages of the pipeline, each against what is known of its work so far.
func (p *RunProgress) Stages() []progress.Stage {
	return []progress.Stage{
		{Name: "captured", Done: p.captured.Load, Total: func() int64 { return max(p.backlog.Load(), p.captured.Load()) }},
		{Name: "sorted", Done: p.sorted.Load, Total: p.captured.Load},
		{Name: "published", Done: p.published.Load, Total: func() int64 { return max(p.published.Load(), p.committed.Load()) }},
	}
}

// onPage counts the rows capture published, page by page.
func (p *RunProgress) onPage(page capture.Page) {
	if p != nil {
		p.captured.Add(int64(page.Published))
	}
}

func (p *RunProgress) forwarded(batch []events.Distribution) {
	if p != nil {
		p.published.Add(int64(len(batch)))
	}
}

// countSorted wraps a sort handler to count the rows of every record it handled.
func (p *RunProgress) countSorted(h message.HandlerFunc) message.HandlerFunc {
	if p == nil {
		return h
	}
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil {
			n, convErr := strconv.Atoi(msg.Metadata.Get(events.MetaRows))
			if convErr != nil || msg.Metadata.Get(events.MetaEnvelope) == "" {
				n = 1
			}
			p.sorted.Add(int64(n))
		}
		return out, err
	}
}

// watch estimates the capture backlog once and keeps the outbox backlog current while ctx lasts.
func (p *RunProgress) watch(ctx context.Context, log *slog.Logger, upstream, store *pgxpool.Pool) {
	if p == nil {
		return
	}
	go func() {
		n, err := postgres.CaptureBacklog(ctx, upstream, store)
		if err != nil && ctx.Err() == nil {
			log.Warn("estimating the capture backlog failed; progress shows no total", "error", err)
		}
		p.backlog.Store(n)
	}()
	go func() {
		for ctx.Err() == nil {
			published := p.published.Load()
			if pending, err := postgres.OutboxBacklog(ctx, store); err == nil {
				p.committed.Store(published + pending)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
}
