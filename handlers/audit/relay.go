package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"hotline-bridge/events"
	"hotline-bridge/handlers/pace"
)

// Bounds of one relay round: outbox rows claimed at once, and hops per audit record (a sort batch of a thousand
// Wuhan rows records some four thousand hops; a record stays far below the broker's 1 MB limit).
const (
	relayRows     = 200
	hopsPerRecord = 500
)

// Relay moves hops from the audit outbox to the audit topic. A hop is named by its outbox row and its place in
// it when relayed, so a record sent again after a failure carries the same hop ids and dedupes in the trail.
type Relay struct {
	outbox    Outbox
	publisher message.Publisher
	topic     string
	log       *slog.Logger
}

// NewRelay relays onto topic.
func NewRelay(outbox Outbox, publisher message.Publisher, topic string, log *slog.Logger) *Relay {
	return &Relay{outbox: outbox, publisher: publisher, topic: topic, log: log}
}

// Relay moves one round and returns how many outbox rows it cleared; 0 when nothing was waiting.
func (r *Relay) Relay(ctx context.Context) (int, error) {
	relayed := 0
	err := r.outbox.Apply(ctx, func(tx OutboxTx) error {
		pending, err := tx.Pending(ctx, relayRows)
		if err != nil || len(pending) == 0 {
			return err
		}
		if err := r.publisher.Publish(r.topic, records(pending)...); err != nil {
			return fmt.Errorf("publish %d audit outbox rows to %s: %w", len(pending), r.topic, err)
		}
		seqs := make([]int64, len(pending))
		for i, p := range pending {
			seqs[i] = p.Seq
		}
		relayed = len(pending)
		return tx.Done(ctx, seqs)
	})
	return relayed, err
}

// records names the hops and cuts them into audit records.
func records(pending []Pending) []*message.Message {
	var msgs []*message.Message
	for _, p := range pending {
		envelope := "a" + strconv.FormatInt(p.Seq, 10)
		events.StampHopIDs(envelope, p.Hops)
		for start := 0; start < len(p.Hops); start += hopsPerRecord {
			payload, _ := events.EncodeHops(p.Hops[start:min(start+hopsPerRecord, len(p.Hops))]) // plain values
			msg := message.NewMessage(watermill.NewUUID(), payload)
			msg.Metadata.Set(events.MetaKey, envelope)
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// Run relays until ctx ends: at once again after a full round, else after interval. Failures (the broker or the
// database down) are retried with backoff and logged once each, here.
func (r *Relay) Run(ctx context.Context, interval time.Duration) {
	backoff := pace.Backoff(200*time.Millisecond, 5*time.Second)
	failures := 0
	for ctx.Err() == nil {
		n, err := r.Relay(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait := backoff.NextBackOff()
			r.log.Warn("relaying audit hops failed; retrying", "attempt", failures, "retry_in", wait, "error", err)
			pace.Sleep(ctx, wait)
			continue
		case failures > 0:
			r.log.Info("relaying audit hops recovered", "failed_attempts", failures)
		}
		failures = 0
		backoff.Reset()
		if n < relayRows {
			pace.Sleep(ctx, interval)
		}
	}
}

// Drain relays until nothing is waiting (for --until-idle); it returns an error only when ctx ends first.
func (r *Relay) Drain(ctx context.Context) error {
	backoff := pace.Backoff(200*time.Millisecond, 5*time.Second)
	for {
		n, err := r.Relay(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			r.log.Warn("relaying audit hops failed; retrying", "error", err)
			pace.Sleep(ctx, backoff.NextBackOff())
		case n == 0:
			return nil
		}
	}
}
