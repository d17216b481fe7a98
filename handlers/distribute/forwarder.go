package distribute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"hotline-bridge/events"
	"hotline-bridge/handlers/pace"
)

// Config tunes a Forwarder.
type Config struct {
	BatchSize  int           // events per claim, send and mark; default 1000, one sarama SendMessages call
	MinBackoff time.Duration // pause after the first failure in a row; default 200ms
	MaxBackoff time.Duration // longest pause while the broker or the database stays down; default 5s
	// Forwarded, when set, is told of each batch published, once the broker acknowledged it and its marks
	// committed (progress, metrics per unit).
	Forwarded func(batch []events.Distribution)
	// Failed, when set, is told of each failed attempt to forward a batch (metrics), before the retry's pause.
	Failed func(err error)
	// Payloads, when set, opens what the outbox keeps sealed (personal data encrypted at rest) into the payload
	// the contract publishes; nil publishes payloads as the outbox holds them.
	Payloads Opener
	// Signer signs every event before it is sent. The bridge always sets it (pipeline); nil sends unsigned
	// events, which only the benchmarks' unsigned reference does.
	Signer Signer
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 200 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size must be at least 1, got %d", c.BatchSize))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("backoff must satisfy 0 <= min <= max, got %s and %s", c.MinBackoff, c.MaxBackoff))
	}
	return errors.Join(errs...)
}

// Forwarder moves committed outbox events to Kafka and marks them published. Nothing is marked that the broker
// did not acknowledge, so a failure anywhere only means the batch is sent again with the same ce_ids.
type Forwarder struct {
	cfg    Config
	outbox Outbox
	sender Sender
	log    *slog.Logger
}

// NewForwarder checks cfg after filling in its defaults.
func NewForwarder(cfg Config, outbox Outbox, sender Sender, log *slog.Logger) (*Forwarder, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("forwarder config: %w", err)
	}
	return &Forwarder{cfg: cfg, outbox: outbox, sender: sender, log: log}, nil
}

// Forward moves one batch: the oldest pending events are claimed, sent and marked in one outbox transaction.
// It returns how many it published, 0 when nothing was pending.
func (f *Forwarder) Forward(ctx context.Context) (int, error) {
	var forwarded []events.Distribution
	var sent []Batch // the distribution log's entries of this send
	err := f.outbox.Apply(ctx, func(tx OutboxTx) error {
		batch, err := tx.Pending(ctx, f.cfg.BatchSize)
		if err != nil || len(batch) == 0 {
			return err
		}
		if err := f.open(batch); err != nil {
			return err
		}
		if err := f.sign(ctx, batch); err != nil {
			return err
		}
		started := time.Now()
		published, err := f.sender.Send(ctx, batch)
		if err == nil {
			err = checkAcknowledged(batch, published)
		}
		sent = logEntries(batch, published, err == nil, started, time.Since(started))
		if err != nil {
			return err
		}
		forwarded = batch
		if err := tx.MarkPublished(ctx, published); err != nil {
			return err
		}
		if err := tx.RecordHops(ctx, publishedHops(batch, published)); err != nil {
			return err
		}
		return tx.LogSent(ctx, sent)
	})
	if err != nil {
		return 0, f.logFailed(ctx, sent, err)
	}
	if f.cfg.Forwarded != nil && len(forwarded) > 0 {
		f.cfg.Forwarded(forwarded)
	}
	return len(forwarded), nil
}

// open gives the batch the payloads the contract publishes, in memory only: the outbox keeps them sealed. A value
// that does not open (its key is not configured) stops the forwarder: it names the event and the key id, never a
// value, and waiting cannot mend it.
func (f *Forwarder) open(batch []events.Distribution) error {
	if f.cfg.Payloads == nil {
		return nil
	}
	for i, d := range batch {
		p, err := f.cfg.Payloads.Open(d.Table, d.Payload)
		if err != nil {
			return fmt.Errorf("outbox event %d (%s %s): %w", d.Seq, d.Table, d.RowID, err)
		}
		batch[i].Payload = p
	}
	return nil
}

// sign signs the batch in place: once per event and send, never stored, so a retried send signs again (the same
// bytes, and with Ed25519 the same signature, unless the key was rotated in between).
func (f *Forwarder) sign(ctx context.Context, batch []events.Distribution) error {
	if f.cfg.Signer == nil {
		return nil
	}
	return f.cfg.Signer.Sign(ctx, batch)
}

// publishedHops are the audit trail's record of where each event of the batch landed.
func publishedHops(batch []events.Distribution, published []Published) []events.Hop {
	at := time.Now().UTC()
	hops := make([]events.Hop, len(batch))
	for i, d := range batch {
		p := published[i]
		hops[i] = events.Hop{
			Hop: events.HopPublished, At: at, Table: d.Table, RowID: d.RowID, Version: d.RowTime, Unit: d.Unit,
			Topic: p.Topic, Partition: &p.Partition, Offset: &p.Offset, CeID: d.EventID, TraceID: p.TraceID,
			Detail: &events.HopDetail{Event: d.Type},
		}
	}
	return hops
}

// logEntries groups a send by unit topic partition, in the order the batch first reaches each, with the offsets the
// broker gave; a send that was not acknowledged has only its units to show.
func logEntries(batch []events.Distribution, published []Published, acknowledged bool, started time.Time, took time.Duration) []Batch {
	type slot struct {
		unit, topic string
		partition   int32
	}
	var entries []Batch
	at := map[slot]int{}
	for i, d := range batch {
		where, first := slot{unit: d.Unit, partition: -1}, int64(-1)
		if acknowledged {
			where.topic, where.partition, first = published[i].Topic, published[i].Partition, published[i].Offset
		}
		j, ok := at[where]
		if !ok {
			j, at[where] = len(entries), len(entries)
			entries = append(entries, Batch{Started: started, Duration: took, Unit: d.Unit, Topic: where.topic,
				Partition: where.partition, First: first, Last: first, FirstSeq: batch[0].Seq})
		}
		e := &entries[j]
		e.Events++
		if acknowledged {
			e.First, e.Last = min(e.First, published[i].Offset), max(e.Last, published[i].Offset)
		}
	}
	return entries
}

// logFailed records a send that failed, or whose marks did not commit, in the distribution log, and returns the
// failure for the retrier to report once. A failure before anything was sent (the outbox unreadable) has no
// entries, and a cancelled send is the shutdown.
func (f *Forwarder) logFailed(ctx context.Context, sent []Batch, err error) error {
	if len(sent) == 0 || errors.Is(err, context.Canceled) {
		return err
	}
	for i := range sent {
		sent[i].Error = err.Error()
	}
	if logErr := f.outbox.LogFailed(ctx, sent); logErr != nil {
		return errors.Join(err, fmt.Errorf("record the failure in the distribution log: %w", logErr))
	}
	return err
}

// checkAcknowledged guards the marks: a sender that skipped an event must not get it marked as published.
func checkAcknowledged(batch []events.Distribution, published []Published) error {
	if len(published) != len(batch) {
		return fmt.Errorf("sender acknowledged %d of %d events", len(published), len(batch))
	}
	for i, p := range published {
		if p.Seq != batch[i].Seq {
			return fmt.Errorf("sender acknowledged outbox event %d in place of %d", p.Seq, batch[i].Seq)
		}
	}
	return nil
}

// Drain forwards until nothing is pending (for --until-idle), retrying failures with backoff. It returns how many
// events it published, and an error when ctx ends first or a failure is permanent.
func (f *Forwarder) Drain(ctx context.Context) (int, error) {
	total := 0
	r := f.retrier()
	for {
		n, err := f.Forward(ctx)
		total += n
		switch {
		case permanent(err):
			return total, err
		case err != nil:
			if err := r.pause(ctx, err); err != nil {
				return total, err
			}
		case n == 0:
			r.recovered()
			return total, nil
		default:
			r.recovered()
		}
	}
}

// Run forwards until ctx ends, or until a failure that retrying cannot mend (see permanent), which it returns.
// A full batch is followed at once by the next; otherwise it looks again after interval, so a committed change
// waits at most about interval plus one send.
func (f *Forwarder) Run(ctx context.Context, interval time.Duration) error {
	r := f.retrier()
	for ctx.Err() == nil {
		n, err := f.Forward(ctx)
		switch {
		case permanent(err):
			return err
		case err != nil:
			_ = r.pause(ctx, err)
		case n < f.cfg.BatchSize:
			r.recovered()
			pace.Sleep(ctx, interval)
		default:
			r.recovered()
		}
	}
	return nil
}

// permanent says whether err declares that trying again cannot mend it (wrong credentials, an ACL refusing the
// bridge): such a failure is the operator's to fix, not an outage to wait out.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

func (f *Forwarder) retrier() *retrier {
	return &retrier{log: f.log, failed: f.cfg.Failed, backoff: pace.Backoff(f.cfg.MinBackoff, f.cfg.MaxBackoff)}
}

// retrier paces and reports consecutive failures. Each failure is logged once, here: the error names the broker or
// database that failed (the sender and outbox put the address in it) and never carries a payload.
type retrier struct {
	log      *slog.Logger
	failed   func(error) // nil: nobody counts failures
	failures int
	backoff  *backoff.ExponentialBackOff
}

// pause waits before the next attempt; it returns ctx's error once ctx has ended.
func (r *retrier) pause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.failures++
	if r.failed != nil {
		r.failed(err)
	}
	wait := r.backoff.NextBackOff()
	r.log.Warn("forwarding outbox events failed; retrying", "attempt", r.failures, "retry_in", wait, "error", err)
	pace.Sleep(ctx, wait)
	return ctx.Err()
}

func (r *retrier) recovered() {
	if r.failures > 0 {
		r.log.Info("forwarding outbox events recovered", "failed_attempts", r.failures)
	}
	r.failures = 0
	r.backoff.Reset()
}
