package capture

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
	"hotline-bridge/handlers/spans"
)

// Config tunes a Poller.
type Config struct {
	TopicPrefix string
	BatchSize   int
	// Partitions is the capture topic's partition count: rows are grouped into envelopes by the partition their
	// own key hashes to, which keeps each row's versions in order on one partition.
	Partitions int
	// MaxCommitDelay is how long after its update_time a row may still become visible (a transaction that
	// stamped it early and committed late). Rows younger than this are published but not yet passed by the
	// durable watermark, so they are read again until they settle.
	MaxCommitDelay time.Duration
	// PageLog, when set, receives the download log: every page that published rows, moved the watermark or failed.
	PageLog PageLog
	// OnPage, when set, observes every page read as soon as it is handled (metrics, progress): a catch-up's round
	// lasts until the table is caught up, which can be an hour, so counting by round would show nothing meanwhile.
	// Every poller calls it from its own goroutine, so it must be safe for concurrent use. A page whose watermark
	// could not be saved is observed too, with its Error: its rows are read and observed again, as a redelivery is.
	OnPage func(Page)
}

// Poller captures one upstream table.
type Poller struct {
	kind       events.Kind
	cfg        Config
	source     Source
	watermarks Watermarks
	publisher  message.Publisher

	settled Position            // mirrors the durable watermark once loaded
	loaded  bool                // settled was read from Watermarks
	fresh   map[string]Position // event ids published but not yet settled, so unsettled rows go out once

	unlogged []Page // download log entries not written yet (the store was unreachable), oldest first
	dropped  int    // entries given up because too many were waiting
	logErr   error  // why the download log could not be written in this round
}

// NewPoller builds the poller of one record kind.
func NewPoller(kind events.Kind, cfg Config, source Source, watermarks Watermarks, publisher message.Publisher) *Poller {
	return &Poller{
		kind: kind, cfg: cfg, source: source, watermarks: watermarks, publisher: publisher,
		fresh: map[string]Position{},
	}
}

// Round reports what one polling round did.
type Round struct {
	Read      int
	Published int
	Settled   Position
	// LogErr says the download log could not be written. Capture goes on: the entries are kept and written with
	// the next page's, up to maxUnlogged of them.
	LogErr error
}

// Table is the upstream table this poller reads.
func (p *Poller) Table() string { return p.kind.Table }

// Poll runs one round: it reads everything after the durable watermark, publishes the row versions not yet
// published, and moves the watermark over the rows that are published and settled. On error the in-memory state
// falls back to the durable watermark so that nothing read but unpublished is ever skipped.
func (p *Poller) Poll(ctx context.Context) (Round, error) {
	round, err := p.poll(ctx)
	if err != nil {
		p.loaded = false
	}
	round.LogErr, p.logErr = p.logErr, nil
	return round, err
}

func (p *Poller) poll(ctx context.Context) (Round, error) {
	started := time.Now()
	if err := p.load(ctx); err != nil {
		p.logPage(ctx, p.finished(Page{Started: started, From: p.settled, To: p.settled}, err), err)
		return Round{}, err
	}
	now, err := p.source.Now(ctx)
	if err != nil {
		err = fmt.Errorf("read upstream clock: %w", err)
		p.logPage(ctx, p.finished(Page{Started: started, From: p.settled, To: p.settled}, err), err)
		return Round{}, err
	}
	settleLine := now.Add(-p.cfg.MaxCommitDelay)
	round := Round{Settled: p.settled}
	page := p.read(ctx, p.settled)
	for {
		res := <-page
		if res.err != nil {
			p.logPage(ctx, p.finished(Page{Started: res.started, From: p.settled, To: p.settled}, res.err), res.err)
			return round, res.err
		}
		round.Read += len(res.rows)
		full := len(res.rows) == p.cfg.BatchSize
		if full {
			// Read the next page while this one is published: the broker's acknowledgement is the slow part.
			page = p.read(ctx, PositionOf(res.rows[len(res.rows)-1]))
		}
		from := p.settled
		published, err := p.handlePage(ctx, res, settleLine)
		round.Published += published
		round.Settled = p.settled
		done := p.finished(Page{Started: res.started, From: from, To: p.settled, Read: len(res.rows), Published: published}, err)
		p.observe(done)
		p.logPage(ctx, done, err)
		if err != nil || !full {
			if full {
				<-page // let the read in flight finish before the caller retries
			}
			return round, err
		}
	}
}

type pageResult struct {
	rows    []events.RowVersion
	err     error
	started time.Time // when the read began, for the page's span
}

// handlePage publishes a page and settles it, in the page's span when it read rows: an empty page is the idle
// poll every interval, not worth a trace.
func (p *Poller) handlePage(ctx context.Context, res pageResult, settleLine time.Time) (int, error) {
	if len(res.rows) == 0 {
		return 0, nil
	}
	ctx, span := startPage(ctx, p.kind.Table, res)
	published, err := p.publishPage(ctx, res.rows, settleLine)
	if err == nil {
		err = p.settle(ctx, res.rows, settleLine)
	}
	span.SetAttributes(AttrRowsPublished.Int(published))
	spans.End(span, err)
	return published, err
}

// read fetches the page after cursor in the background.
func (p *Poller) read(ctx context.Context, cursor Position) <-chan pageResult {
	out := make(chan pageResult, 1)
	go func() {
		started := time.Now()
		rows, err := p.source.ReadPage(ctx, p.kind.Table, cursor, p.cfg.BatchSize)
		if err != nil {
			err = fmt.Errorf("read %s after %s: %w", p.kind.Table, cursor, err)
		}
		out <- pageResult{rows: rows, err: err, started: started}
	}()
	return out
}

func (p *Poller) load(ctx context.Context) error {
	if p.loaded {
		return nil
	}
	pos, err := p.watermarks.Load(ctx, p.kind.Table)
	if err != nil {
		return fmt.Errorf("load watermark of %s: %w", p.kind.Table, err)
	}
	p.settled, p.loaded = pos, true
	return nil
}

// publishPage publishes the page's row versions that are not already out, as envelopes, in one batch.
// Only rows above the settle line are remembered: settled ones are never read again.
func (p *Poller) publishPage(ctx context.Context, page []events.RowVersion, settleLine time.Time) (int, error) {
	sent := make([]events.RowVersion, 0, len(page))
	for _, v := range page {
		if !p.published(v) {
			sent = append(sent, v)
		}
	}
	if len(sent) == 0 {
		return 0, nil
	}
	topic := events.CaptureTopic(p.cfg.TopicPrefix, p.kind.Table)
	msgs := p.envelopes(sent)
	span := startSend(ctx, topic, msgs)
	err := p.publisher.Publish(topic, msgs...)
	spans.End(span, err)
	if err != nil {
		return 0, fmt.Errorf("publish %d %s rows in %d envelopes to %s: %w", len(sent), p.kind.Table, len(msgs), topic, err)
	}
	for _, v := range sent {
		if v.UpdateTime.After(settleLine) {
			p.fresh[v.EventID()] = PositionOf(v)
		}
	}
	return len(sent), nil
}

// published reports whether an unsettled row version went out in an earlier round. The event id is a digest of
// the payload: a catch-up's pages are all settled, so it is computed only when there is something to compare.
func (p *Poller) published(v events.RowVersion) bool {
	if len(p.fresh) == 0 {
		return false
	}
	_, done := p.fresh[v.EventID()]
	return done
}

// Envelope bounds: a record stays well under the broker's default message.max.bytes (1 MB) and a sort batch
// under a size one store transaction decides comfortably.
const (
	envelopeRows  = 1000
	envelopeBytes = 900 << 10
)

// envelopes groups rows by the partition each would have on its own, in page order, and cuts each group into
// envelopes: every version of a row then travels on the row's partition, in update_time order.
func (p *Poller) envelopes(rows []events.RowVersion) []*message.Message {
	groups := make([][]events.RowVersion, max(p.cfg.Partitions, 1))
	sizes := make([]int, len(groups))
	var msgs []*message.Message
	for _, v := range rows {
		g := events.PartitionOf(v.ID, len(groups))
		size := events.EnvelopeSize(v)
		if len(groups[g]) > 0 && (len(groups[g]) == envelopeRows || sizes[g]+size > envelopeBytes) {
			msgs = append(msgs, NewEnvelopeMessage(p.kind.Table, groups[g]))
			groups[g], sizes[g] = nil, 0
		}
		groups[g], sizes[g] = append(groups[g], v), sizes[g]+size
	}
	for _, g := range groups {
		if len(g) > 0 {
			msgs = append(msgs, NewEnvelopeMessage(p.kind.Table, g))
		}
	}
	return msgs
}

// settle moves the durable watermark over the page's leading rows that are older than the settle line. Rows are
// in update_time order, so the settled ones form a prefix of the page.
func (p *Poller) settle(ctx context.Context, page []events.RowVersion, settleLine time.Time) error {
	next := p.settled
	for _, v := range page {
		if v.UpdateTime.After(settleLine) {
			break
		}
		next = PositionOf(v)
	}
	if next == p.settled {
		return nil
	}
	if err := p.watermarks.Save(ctx, p.kind.Table, next); err != nil {
		return fmt.Errorf("save watermark of %s at %s: %w", p.kind.Table, next, err)
	}
	p.settled = next
	p.forgetSettled()
	return nil
}

// maxUnlogged bounds the download log entries kept while the store is unreachable: at one a second per table,
// hours of an outage.
const maxUnlogged = 10000

// logPage writes a page that brought something or failed to the download log, with any left from earlier pages.
// Empty pages and re-reads of rows published earlier and not yet settled are not worth a row each second; a
// cancelled page is the shutdown, not a failure. A failed write does not stop capture: the entries wait for the
// next page, and the round reports the failure. Its deadline is its own, so a page done as the bridge stops is
// still written.
func (p *Poller) logPage(ctx context.Context, page Page, err error) {
	if p.cfg.PageLog == nil || errors.Is(err, context.Canceled) {
		return
	}
	if err == nil && page.Published == 0 && page.From == page.To {
		return
	}
	p.unlogged = append(p.unlogged, page)
	if over := len(p.unlogged) - maxUnlogged; over > 0 {
		p.dropped += over
		p.unlogged = p.unlogged[over:]
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.cfg.PageLog.Record(wctx, p.unlogged); err != nil {
		p.logErr = fmt.Errorf("write %d download log entries of %s (%d given up so far): %w", len(p.unlogged), p.kind.Table, p.dropped, err)
		return
	}
	p.unlogged = p.unlogged[:0]
}

// finished completes a page as it ends: its table, how long it took and why it failed.
func (p *Poller) finished(page Page, err error) Page {
	page.Table, page.Duration = p.kind.Table, time.Since(page.Started)
	if err != nil {
		page.Error = err.Error()
	}
	return page
}

func (p *Poller) observe(page Page) {
	if p.cfg.OnPage != nil {
		p.cfg.OnPage(page)
	}
}

// forgetSettled drops the memory of published rows the watermark has passed: they are never read again.
func (p *Poller) forgetSettled() {
	for id, pos := range p.fresh {
		if !p.settled.Before(pos) {
			delete(p.fresh, id)
		}
	}
}

// String renders a position for error messages.
func (p Position) String() string {
	if p.IsZero() {
		return "the beginning"
	}
	return fmt.Sprintf("(%s, %s)", events.FormatTime(p.Time), p.ID)
}

// Before reports whether p comes before q in (update_time, id) order.
func (p Position) Before(q Position) bool {
	if !p.Time.Equal(q.Time) {
		return p.Time.Before(q.Time)
	}
	return p.ID < q.ID
}
